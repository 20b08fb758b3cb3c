"""JSON that strict parsers accept: a non-finite number (a diverged loss, a value stored before
ftui bounded it) is written as null, never as NaN or Infinity, which Python's json writes by default
and JavaScript, jq and Go reject."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(obj: Any) -> Any:
    """`obj` with every non-finite float inside replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)  # nearly always: no walk needed
    except ValueError:
        return json.dumps(finite(obj), allow_nan=False, **kwargs)
