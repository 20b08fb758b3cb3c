"""The SFT script a trl user writes, in trl's documented fast setup: one of bench_train.py's baselines.

    python bench/train_baseline_sft.py MODEL_FOLDER DATA.jsonl OUT --batch-size 8 --epochs 1

SFTTrainer on the chat file as it is (trl applies the chat template), bf16 mixed precision,
padding-free batches, no gradient checkpointing (trl 1.x turns it on by default), and the same
LoRA adapter as ftui's default (r 16, alpha 32, dropout 0.05, all linear layers). It saves the
adapter at the end, as a user would. Prints one line `BENCH {json}` with the tokens trained and
the training loop's own time.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--fp32", action="store_true", help="no bf16: what to pick on a CPU without AMX or AVX512-BF16"
    )
    args = parser.parse_args()

    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    config = SFTConfig(
        output_dir=args.out,
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=2e-4,
        bf16=not args.fp32,
        use_cpu=not torch.cuda.is_available(),  # what transformers asks for bf16 on a CPU
        padding_free=True,
        max_length=None,  # trl refuses max_length with padding_free and no packing; chats are short
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
    )
    lora = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    trainer = SFTTrainer(
        model=args.model,
        args=config,
        train_dataset=load_dataset("json", data_files=args.data, split="train"),
        peft_config=lora,
    )
    result = trainer.train()
    trainer.save_model(args.out)
    print(
        "BENCH "
        + json.dumps(
            {"tokens": trainer._total_train_tokens, "train_seconds": result.metrics["train_runtime"]}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
