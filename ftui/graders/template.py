"""OpenAI's grader templates: `{{item.field}}`, `{{sample.output_text}}`, `{{sample.output_json.field}}`.

Only the `item` and `sample` namespaces exist (as in OpenAI's graders). Paths go through objects by
key and through lists by index (`{{item.choices.0}}`). A string renders as itself, anything else as
JSON; a missing value renders empty and is reported, so the grade can carry OpenAI's
`invalid_variable_error` instead of silently comparing against "".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_VAR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_SAMPLE_FIELDS = ("output_text", "output_json")
_NOT_JSON = object()


@dataclass
class Sample:
    """What the model wrote. `output_json` is parsed on first use; `json_error` says why it failed."""

    output_text: str
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)
    json_error: str | None = None

    @property
    def output_json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.output_text)
            except (ValueError, RecursionError) as exc:
                self._json = _NOT_JSON
                self.json_error = f"the output is not JSON: {exc}"[:300]
        return None if self._json is _NOT_JSON else self._json


def variables(template: str) -> list[str]:
    return [m.group(1) for m in _VAR.finditer(template)]


def check(template: str) -> str | None:
    """Why `template` is not a valid grader template, or None."""
    for var in variables(template):
        ns, _, rest = var.partition(".")
        if ns not in ("item", "sample"):
            return f"{{{{{var}}}}}: templates read only 'item.<field>' and 'sample.<field>'"
        if not rest:
            example = "output_text" if ns == "sample" else "x"
            return f"{{{{{var}}}}}: name a field, e.g. {{{{{ns}.{example}}}}}"
        if ns == "sample" and rest.split(".")[0] not in _SAMPLE_FIELDS:
            return f"{{{{{var}}}}}: sample has {', '.join(_SAMPLE_FIELDS)}"
    return None


def _lookup(root: Any, path: list[str]) -> tuple[bool, Any]:
    value = root
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


@dataclass
class Rendered:
    text: str
    missing: list[str] = field(default_factory=list)  # variables with no value
    sample_parse_error: str | None = None  # output_json asked for, output not JSON


def render(template: str, sample: Sample, item: dict[str, Any]) -> Rendered:
    out = Rendered("")

    def one(m: re.Match[str]) -> str:
        var = m.group(1)
        ns, _, rest = var.partition(".")
        path = rest.split(".") if rest else []
        if ns == "item":
            found, value = _lookup(item, path)
        elif ns == "sample" and path and path[0] == "output_text":
            found, value = len(path) == 1, sample.output_text
        elif ns == "sample" and path and path[0] == "output_json":
            parsed = sample.output_json
            if sample.json_error:
                out.sample_parse_error = sample.json_error
                found, value = False, None
            else:
                found, value = _lookup(parsed, path[1:])
        else:
            found, value = False, None
        if not found or value is None:
            out.missing.append(var)
            return ""
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    out.text = _VAR.sub(one, template)
    return out
