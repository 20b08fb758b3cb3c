"""Grader types from `ftui_register_evaluators`, and grader JSON turned into checked `Grader`s.

A `--grader` argument is a JSON file (one grader object, or a list of them) or a preset name:
`exact`, `contains`, `fuzzy`, `bleu`, `gleu`, `meteor`, `rouge_1`..`rouge_5`, `rouge_l`,
`json_valid`, each comparing the output with `{{item.reference}}` (the test example's last assistant
message), or the name of a plugin's scoring function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ftui.graders.base import FunctionGrader, Grader, GraderError

OUT, REF = "{{sample.output_text}}", "{{item.reference}}"
PRESETS: dict[str, dict[str, Any]] = {
    "exact": {"type": "string_check", "input": OUT, "reference": REF, "operation": "eq"},
    "contains": {"type": "string_check", "input": OUT, "reference": REF, "operation": "ilike"},
    "fuzzy": {"type": "text_similarity", "input": OUT, "reference": REF, "evaluation_metric": "fuzzy_match"},
    **{
        m: {"type": "text_similarity", "input": OUT, "reference": REF, "evaluation_metric": m}
        for m in ("bleu", "gleu", "meteor", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l")
    },
    "json_valid": {"type": "json_valid"},
}
MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass
class Kinds:
    types: dict[str, type[Grader]] = field(default_factory=dict)
    functions: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # plugins whose registration failed

    @property
    def names(self) -> list[str]:
        return sorted({*self.types, *self.functions})


@cache
def kinds() -> Kinds:
    from ftui.plugins import registry

    found = Kinds()

    def register(name: str, kind: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a grader type needs a name, not {name!r}")
        if isinstance(kind, type) and issubclass(kind, Grader):
            found.types[name] = kind
        elif callable(kind):
            found.functions[name] = kind
        else:
            raise TypeError(f"grader type {name!r}: expected a Grader subclass or a function, not {kind!r}")

    reg = registry()
    if not reg.pm.has_plugin("graders"):  # FTUI_LOAD_PLUGINS left ftui's own out: graders still work
        from ftui.graders import builtin

        reg.pm.register(builtin, name="graders")
    # One plugin's bug must not take the others' graders with it: its error is reported instead.
    found.errors += reg.hooks.register_evaluators(register)
    return found


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-")))


def parse(obj: Any, where: str = "", *, checked: bool = True) -> Grader:
    """A grader object (OpenAI's JSON shape) as a checked Grader; GraderError names the field."""
    prefix = f"{where}." if where else ""
    if not isinstance(obj, dict):
        raise GraderError(f"a grader must be a JSON object, not {type(obj).__name__}", where or None)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise GraderError("missing 'type'; one of " + ", ".join(kinds().names), f"{prefix}type")
    found = kinds()
    if kind in found.types:
        cls: type[Grader] = found.types[kind]
    elif kind in found.functions:
        cls = FunctionGrader
    else:
        raise GraderError(f"unknown grader type {kind!r}; one of " + ", ".join(found.names), f"{prefix}type")
    obj = _parse_nested(cls, obj, prefix)
    try:
        grader = cls.model_validate(obj)
    except GraderError as exc:  # a multi's sub-grader, parsed inside validation, named its field
        raise GraderError(exc.detail, prefix + (exc.field or "")) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        inner = first.get("ctx", {}).get("error")
        if isinstance(inner, GraderError):  # a sub-grader of a multi named its own field
            raise GraderError(inner.detail, prefix + (inner.field or "")) from None
        path = _field_path(tuple(first["loc"]))
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown field for a {kind} grader; allowed: " + ", ".join(cls.model_fields)
        elif first["type"] == "missing":
            message = f"required by a {kind} grader"
        raise GraderError(message, prefix + path if path else where or None) from None
    if isinstance(grader, FunctionGrader):
        grader._fn = found.functions[kind]
    if checked:
        try:
            grader.check()
        except GraderError as exc:
            where_ = prefix + exc.field if exc.field else where or None
            raise GraderError(exc.detail, where_) from None
    return grader


def _parse_nested(cls: type[Grader], obj: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`obj` with its named sub-graders (a multi's `graders`) already parsed into Graders."""
    out = dict(obj)
    for name in cls.nested:
        value = out.get(name)
        # OpenAI's docs use a {name: grader} map; its SDK types a single grader: take both.
        if isinstance(value, dict) and isinstance(value.get("type"), str) and "name" in value:
            value = {str(value["name"]): value}
        if isinstance(value, dict):
            out[name] = {
                key: sub if isinstance(sub, Grader) else parse(sub, f"{prefix}{name}.{key}", checked=False)
                for key, sub in value.items()
            }
    return out


def load(path: str | Path) -> list[Grader]:
    """The graders in a JSON file: one grader object, or a list of them. Errors name the file."""
    p = Path(path).expanduser()
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise GraderError(f"{p}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: not a grader file")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraderError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"{p}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraderError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise GraderError(f"{p}: the list of graders is empty")
    out = []
    for i, obj in enumerate(items):
        where = f"[{i}]" if isinstance(data, list) else ""
        try:
            out.append(parse(obj, where))
        except GraderError as exc:
            line = _line_of(text, exc.field)
            raise GraderError(f"{p}{f':{line}' if line else ''}: {exc}") from None
    return out


def job_grader(path: str | Path) -> dict[str, Any]:
    """The one grader a reinforcement job takes, from a JSON file: checked, then returned exactly
    as written (the provider gets the user's object, not our reading of it)."""
    graders = load(path)
    if len(graders) != 1:
        raise GraderError(f"{path}: holds {len(graders)} graders; a job takes one (use a multi)")
    raw = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    return raw if isinstance(raw, dict) else raw[0]


def _line_of(text: str, field_path: str | None) -> int | None:
    """The line where the last key of `field_path` first appears (json keeps no positions)."""
    if not field_path:
        return None
    key = field_path.split(".")[-1].split("[")[0]
    if not key or key.isdigit():
        return None
    needle = json.dumps(key) + ":"
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line.replace('" :', '":'):
            return n
    return None


def resolve(spec: str) -> list[Grader]:
    """A `--grader` argument: a file, a preset name, or a plugin function's name."""
    if Path(spec).expanduser().is_file():
        return load(spec)
    if spec in PRESETS:
        return [parse({**PRESETS[spec], "name": spec})]
    if spec in kinds().functions:
        return [parse({"type": spec, "name": spec})]
    if spec.endswith(".json") or "/" in spec:
        raise GraderError(f"{spec}: no such file")
    raise GraderError(
        f"--grader {spec!r}: not a file, and not one of the presets ("
        + ", ".join(PRESETS)
        + (", or the plugin graders " + ", ".join(sorted(kinds().functions)) if kinds().functions else "")
        + ")"
    )
