"""Reading a judge model's answer: a score in a range (score_model) or one label (label_model).

Judges write what they like: JSON (`{"result": 0.8}`, `{"score": 4}`, `{"label": "good"}`), a bare
number, "Score: 7/10", a label in a sentence, code fences around any of it. The parsers take the
first reading that works and say when none does, so the grade carries `model_grader_parse_error`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
SCORE_KEYS = ("result", "score", "grade", "rating", "value")
LABEL_KEYS = ("label", "result", "answer", "classification", "category")


def _json_object(text: str) -> Any:
    cleaned = _FENCE.sub("", text.strip())
    try:
        return json.loads(cleaned)
    except ValueError:
        pass
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(cleaned[start : end + 1])
        except ValueError:
            return None
    return None


def parse_score(text: str, low: float, high: float) -> float | None:
    """The judge's score clamped to [low, high], or None when the answer holds no number."""
    value: float | None = None
    obj = _json_object(text)
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        value = float(obj)
    elif isinstance(obj, dict):
        for key in SCORE_KEYS:
            v = obj.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                value = float(v)
                break
            if isinstance(v, str) and _NUMBER.fullmatch(v.strip()):
                value = float(v)
                break
    if value is None:
        # Prefer a number after "score"/"result"/"rating", else the first number in the text.
        tail = re.search(r"(?i)(?:score|result|rating|grade)\W{0,5}(" + _NUMBER.pattern + ")", text)
        found = tail.group(1) if tail else (m.group(0) if (m := _NUMBER.search(text)) else None)
        if found is None:
            return None
        value = float(found)
        # "7/10" on a 0..1 scale means 0.7.
        ratio = re.search(re.escape(found) + r"\s*/\s*(" + _NUMBER.pattern + ")", text)
        if ratio and float(ratio.group(1)) > 0 and high <= 1 < float(ratio.group(1)):
            value = value / float(ratio.group(1)) * high
    if not math.isfinite(value):
        return None
    return min(high, max(low, value))


def _norm(s: str) -> str:
    return re.sub(r"[\s\W_]+", " ", s.casefold()).strip()


def parse_label(text: str, labels: list[str]) -> str | None:
    """Which of `labels` the judge chose, or None when it named none (or several, equally)."""
    obj = _json_object(text)
    candidates: list[str] = []
    if isinstance(obj, str):
        candidates.append(obj)
    elif isinstance(obj, dict):
        candidates += [str(obj[k]) for k in LABEL_KEYS if isinstance(obj.get(k), str | int | float)]
    candidates.append(text)
    by_norm = {_norm(label): label for label in labels}
    for cand in candidates:
        if _norm(cand) in by_norm:
            return by_norm[_norm(cand)]
    # A label inside a sentence: the earliest mention wins, the longest at the same place.
    body = f" {_norm(text)} "
    hits = []
    for norm, label in by_norm.items():
        if not norm:
            continue
        pos = body.find(f" {norm} ")
        if pos >= 0:
            hits.append((pos, -len(norm), label))
    if not hits:
        return None
    hits.sort()
    return hits[0][2]
