"""What every grader is: an OpenAI-shaped definition (a pydantic model) that turns a sample into a Grade.

A grader never raises for a bad sample: the Grade carries OpenAI's error flags (the fields of
`RunGraderResponse.metadata.errors`) and a score of 0, so one odd answer cannot stop an evaluation
or a training run. Definitions that are wrong raise `GraderError` when they are loaded.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ftui.errors import FtuiError
from ftui.graders.template import Rendered, Sample, check, render

ERROR_FLAGS = (
    "formula_parse_error",
    "sample_parse_error",
    "truncated_observation_error",
    "unresponsive_reward_error",
    "invalid_variable_error",
    "other_error",
    "python_grader_server_error",
    "python_grader_runtime_error",
    "model_grader_server_error",
    "model_grader_refusal_error",
    "model_grader_parse_error",
)
ERROR_DETAILS = (
    "python_grader_server_error_type",
    "python_grader_runtime_error_details",
    "model_grader_server_error_details",
)


OUTPUT = "{{sample.output_text}}"


def check_templates(grader: BaseModel, *fields: str) -> None:
    for name in fields:
        value = getattr(grader, name)
        problem = check(value) if isinstance(value, str) else None
        if problem:
            raise GraderError(problem, name)


class GraderError(FtuiError):
    """A grader definition that cannot work; `field` is its dotted path (e.g. `graders.sim.operation`)."""

    exit_code = 2

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"field '{field}': {message}" if field else message)
        self.field = field
        self.detail = message


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Grade:
    score: float
    errors: dict[str, Any] = field(default_factory=dict)  # flag -> True, detail -> text
    sub_scores: dict[str, float] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)  # judge model -> tokens
    detail: str | None = None  # what a person reads: the judge's answer, the failed pattern...

    @property
    def failed(self) -> bool:
        return any(self.errors.get(f) for f in ERROR_FLAGS)

    def add_usage(self, other: Grade) -> None:
        for model, u in other.usage.items():
            mine = self.usage.setdefault(model, Usage())
            mine.prompt_tokens += u.prompt_tokens
            mine.completion_tokens += u.completion_tokens

    def metadata_errors(self) -> dict[str, Any]:
        """All of OpenAI's `metadata.errors` fields, flags false and details null where unset."""
        out: dict[str, Any] = {f: bool(self.errors.get(f)) for f in ERROR_FLAGS}
        out.update({d: self.errors.get(d) for d in ERROR_DETAILS})
        return out


def failed(flag: str, detail: str, detail_key: str | None = None) -> Grade:
    errors: dict[str, Any] = {flag: True}
    if detail_key:
        errors[detail_key] = detail
    return Grade(0.0, errors=errors, detail=detail)


@dataclass
class Answer:
    """A judge model's reply."""

    text: str
    usage: Usage = field(default_factory=Usage)


# (model reference, messages as {"role", "content"} dicts, sampling params) -> the judge's answer.
Judge = Callable[[str, list[dict[str, str]], dict[str, Any]], Awaitable[Answer]]


@dataclass
class Context:
    """What grading may call out to: a judge model (score_model, label_model)."""

    judge: Judge | None = None


class Grader(BaseModel):
    """Subclass with `type: Literal["..."]` and the type's fields; override `grade`."""

    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str] = ""
    type: str
    name: str = Field(min_length=1, max_length=256)

    def check(self) -> None:
        """Deeper checks than the field types (templates, formulas); raise GraderError."""

    @property
    def needs_judge(self) -> bool:
        return False

    def unsupported_here(self) -> str | None:
        """Why this grader cannot grade on this machine (it may still be valid for a remote trainer)."""
        return None

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what grading started (a sandbox process)."""

    # Fields holding named sub-graders ({name: grader JSON}), parsed by the registry first.
    nested: ClassVar[tuple[str, ...]] = ()

    def raw(self) -> dict[str, Any]:
        """The definition as OpenAI's JSON (what a remote trainer receives)."""
        return self.model_dump(mode="json", exclude_none=True)


def flag_rendering(rendered: Rendered, grade: Grade) -> Grade:
    """Carry a template's missing variables or unparsed JSON into the grade's error flags."""
    if rendered.sample_parse_error:
        grade.errors["sample_parse_error"] = True
        grade.detail = grade.detail or rendered.sample_parse_error
    if rendered.missing:
        grade.errors["invalid_variable_error"] = True
        grade.detail = grade.detail or "no value for " + ", ".join("{{" + v + "}}" for v in rendered.missing)
    if grade.failed:
        grade.score = 0.0
    return grade


ScoreFunction = Callable[[str, dict[str, Any]], float]


class FunctionGrader(Grader):
    """A plugin's scoring function `fn(output, item) -> float`, used as `{"type": NAME, "name": ...}`."""

    input: str = OUTPUT
    _fn: Any = PrivateAttr(default=None)

    def check(self) -> None:
        check_templates(self, "input")

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        text = render(self.input, sample, item)
        try:
            value = await asyncio.to_thread(self._fn, text.text, item)
            value = float(value)
        except Exception as exc:  # a plugin's bug is one sample's error, not a crash
            return failed("other_error", f"{self.type}: {type(exc).__name__}: {exc}"[:500])
        if not math.isfinite(value):
            return failed("other_error", f"{self.type} returned {value}")
        return flag_rendering(text, Grade(value))
