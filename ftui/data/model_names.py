"""Model names as users and backends spell them, reduced to the base model they were trained from."""

from __future__ import annotations


def base_model(model: str) -> str:
    """`ft:gpt-4o-mini-2024-07-18:org:suffix:id` -> `gpt-4o-mini-2024-07-18`; other names unchanged.

    tiktoken gets `ft:gpt-4.1-…` wrong (its `ft:gpt-4` prefix matches first), so we strip first.
    """
    name = model.strip()
    if name.startswith("ft:"):
        name = name.split(":")[1] if name.count(":") >= 1 else name[3:]
    return name.rsplit("/", 1)[-1].lower()
