"""Small datasets tests write for themselves."""

from __future__ import annotations

import json
from pathlib import Path


def write_dataset(path: Path, n: int = 10) -> Path:
    """`n` tiny valid chat examples in one consistent style."""
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Ahoy! Answer {i}, matey."},
            ]
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
