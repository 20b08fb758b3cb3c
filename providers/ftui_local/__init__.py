"""The local provider: real LoRA fine-tuning on this machine (transformers + peft + trl)."""
