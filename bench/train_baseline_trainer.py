"""The fine-tuning script a transformers tutorial teaches: one of bench_train.py's baselines.

    python bench/train_baseline_trainer.py MODEL_FOLDER DATA.jsonl OUT --batch-size 8 --epochs 1

`transformers.Trainer` with TrainingArguments' defaults (fp32 on CPU), each chat rendered with the
model's chat template and learned whole, batches padded to their longest example, the same LoRA
adapter as ftui's default. It saves the adapter at the end. Prints one line `BENCH {json}` with the
tokens trained (padding excluded) and the training loop's own time.
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
    args = parser.parse_args()

    import torch
    from datasets import load_dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def tokenize(row: dict) -> dict:
        ids = tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=False)
        return {"input_ids": ids, "labels": list(ids)}

    data = load_dataset("json", data_files=args.data, split="train")
    data = data.map(tokenize, remove_columns=data.column_names)

    def pad_to_longest(batch: list[dict]) -> dict:
        longest = max(len(b["input_ids"]) for b in batch)
        return {
            "input_ids": torch.tensor(
                [b["input_ids"] + [pad_id] * (longest - len(b["input_ids"])) for b in batch]
            ),
            "labels": torch.tensor([b["labels"] + [-100] * (longest - len(b["labels"])) for b in batch]),
            "attention_mask": torch.tensor(
                [[1] * len(b["input_ids"]) + [0] * (longest - len(b["input_ids"])) for b in batch]
            ),
        }

    lora = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(args.model), lora)
    training = TrainingArguments(
        output_dir=args.out,
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=2e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        remove_unused_columns=False,
        seed=0,
    )
    trainer = Trainer(model=model, args=training, train_dataset=data, data_collator=pad_to_longest)
    result = trainer.train()
    trainer.save_model(args.out)
    print(
        "BENCH "
        + json.dumps(
            {"tokens": trainer.state.num_input_tokens_seen, "train_seconds": result.metrics["train_runtime"]}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
