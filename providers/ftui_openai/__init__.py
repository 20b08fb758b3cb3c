"""The OpenAI provider: any OpenAI-compatible fine-tuning API through the official SDK."""
