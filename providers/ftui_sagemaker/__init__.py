"""The SageMaker provider: Hugging Face training containers through boto3."""
