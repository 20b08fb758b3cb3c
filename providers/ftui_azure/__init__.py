"""Azure providers: Azure OpenAI (`azure`) and Azure ML fine-tuning (`azureml`)."""
