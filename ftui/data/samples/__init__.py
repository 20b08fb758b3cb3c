"""Small datasets shipped with ftui, so a first run has something to train on.

`pirate_chat.jsonl`: 60 short chat examples whose replies all start with "Ahoy!" and talk like a
pirate: a style a 135M-parameter model picks up in about 3 epochs of LoRA on a CPU.
`pirate_dpo.jsonl`: 20 preference pairs, the pirate reply preferred over a plain one.
"""

from __future__ import annotations

from pathlib import Path

from ftui.errors import UsageError

_HERE = Path(__file__).parent
SAMPLES = {"supervised": "pirate_chat.jsonl", "dpo": "pirate_dpo.jsonl"}


def sample_path(method: str = "supervised") -> Path:
    """Absolute path of the sample dataset for `method`."""
    try:
        return _HERE / SAMPLES[method]
    except KeyError:
        choices = ", ".join(SAMPLES)
        raise UsageError(f"no sample dataset for method {method!r}; choose one of {choices}") from None
