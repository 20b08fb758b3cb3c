"""The built-in grader types: OpenAI's six, and ftui's extras (json_valid, json_schema, regex, length).

Field names and meanings follow OpenAI's grader objects, so a grader JSON written for OpenAI loads
here unchanged. They register through `ftui_register_evaluators` (see `ftui.graders.builtin`),
exactly as a plugin's types do.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ftui.graders import judge as judge_parse
from ftui.graders.base import (
    OUTPUT,
    Context,
    Grade,
    Grader,
    GraderError,
    Usage,
    failed,
    flag_rendering,
)
from ftui.graders.base import check_templates as _check_templates
from ftui.graders.similarity import Metric
from ftui.graders.template import Sample, check, render


class StringCheck(Grader):
    """1 when the comparison holds, else 0; like / ilike: `input` contains `reference` (ilike: any case)."""

    type: Literal["string_check"] = "string_check"
    input: str
    reference: str
    operation: Literal["eq", "ne", "like", "ilike"]

    def check(self) -> None:
        _check_templates(self, "input", "reference")

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        a, b = render(self.input, sample, item), render(self.reference, sample, item)
        x, y = a.text, b.text
        ok = {
            "eq": x == y,
            "ne": x != y,
            "like": y in x,
            "ilike": y.casefold() in x.casefold(),
        }[self.operation]
        grade = flag_rendering(a, Grade(float(ok)))
        return flag_rendering(b, grade)


class TextSimilarity(Grader):
    """Similarity of `input` to `reference`, 0..1, by `evaluation_metric` (see ftui.graders.similarity)."""

    type: Literal["text_similarity"] = "text_similarity"
    input: str
    reference: str
    evaluation_metric: Metric
    pass_threshold: float | None = None

    def check(self) -> None:
        _check_templates(self, "input", "reference")

    def unsupported_here(self) -> str | None:
        if self.evaluation_metric == "cosine":
            return (
                f"{self.name}: evaluation_metric cosine needs an embedding model, which ftui cannot run "
                "here yet; use fuzzy_match, bleu, gleu, meteor or rouge_* (a remote trainer that has "
                "embeddings still receives this grader unchanged)"
            )
        return None

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        from ftui.graders.similarity import score

        if self.evaluation_metric == "cosine":
            return failed("other_error", self.unsupported_here() or "cosine is not available")

        a, b = render(self.input, sample, item), render(self.reference, sample, item)
        value = await asyncio.to_thread(score, self.evaluation_metric, a.text, b.text)
        grade = Grade(value)
        if self.pass_threshold is not None:
            grade.detail = "pass" if value >= self.pass_threshold else "fail"
        return flag_rendering(b, flag_rendering(a, grade))


class JudgeMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: Any
    type: Literal["message"] | None = None

    def text_template(self) -> str:
        c = self.content
        if isinstance(c, str):
            return c
        parts = c if isinstance(c, list) else [c]
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in parts)


class SamplingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    max_completions_tokens: int | None = Field(default=None, ge=1, le=65536)
    reasoning_effort: Literal["minimal", "low", "medium", "high", "none"] | None = None

    def chat_params(self) -> dict[str, Any]:
        # Judges read deterministically by default, so a cached verdict stays the verdict.
        return {
            "temperature": 0.0 if self.temperature is None else self.temperature,
            "top_p": 1.0 if self.top_p is None else self.top_p,
            "max_tokens": self.max_completions_tokens or 512,
            "seed": self.seed,
        }


class _ModelGrader(Grader):
    model: str = Field(min_length=1)
    input: list[JudgeMessage] = Field(min_length=1)
    sampling_params: SamplingParams | None = None

    @property
    def needs_judge(self) -> bool:
        return True

    def check(self) -> None:
        for i, message in enumerate(self.input):
            problem = check(message.text_template())
            if problem:
                raise GraderError(problem, f"input.{i}.content")

    def instruction(self) -> str:
        raise NotImplementedError

    async def ask(self, sample: Sample, item: dict[str, Any], ctx: Context) -> tuple[Grade, str | None]:
        """(a grade carrying usage and any error, the judge's text or None when it failed)."""
        messages: list[dict[str, str]] = []
        grade = Grade(0.0)
        for m in self.input:
            rendered = render(m.text_template(), sample, item)
            flag_rendering(rendered, grade)
            messages.append({"role": "system" if m.role == "developer" else m.role, "content": rendered.text})
        if grade.failed:
            return grade, None
        # The answer format is asked for in the last user turn: every chat template accepts that.
        if messages[-1]["role"] == "user":
            messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n\n" + self.instruction()}
        else:
            messages.append({"role": "user", "content": self.instruction()})
        if ctx.judge is None:
            return failed("model_grader_server_error", "no judge model is available here"), None
        params = (self.sampling_params or SamplingParams()).chat_params()
        try:
            answer = await ctx.judge(self.model, messages, params)
        except Exception as exc:  # a provider error: the grade says so, grading goes on
            return (
                failed(
                    "model_grader_server_error",
                    f"{type(exc).__name__}: {exc}"[:500],
                    "model_grader_server_error_details",
                ),
                None,
            )
        grade.usage[self.model] = Usage(answer.usage.prompt_tokens, answer.usage.completion_tokens)
        grade.detail = answer.text[:2000]
        return grade, answer.text


class ScoreModelGrader(_ModelGrader):
    """A judge's score, clamped to `range` (default [0, 1])."""

    type: Literal["score_model"] = "score_model"
    range: list[float] | None = None

    @field_validator("range")
    @classmethod
    def _range(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 2 or not all(math.isfinite(x) for x in v) or v[0] >= v[1]):
            raise ValueError("range must be [low, high] with low < high")
        return v

    @property
    def bounds(self) -> tuple[float, float]:
        low, high = self.range or [0.0, 1.0]
        return float(low), float(high)

    def instruction(self) -> str:
        low, high = self.bounds
        return f'Reply with only a JSON object: {{"result": <a number from {low:g} to {high:g}>}}'

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        grade, text = await self.ask(sample, item, ctx)
        if text is None:
            return grade
        value = judge_parse.parse_score(text, *self.bounds)
        if value is None:
            grade.errors["model_grader_parse_error"] = True
            grade.score = 0.0
            return grade
        grade.score = value
        return grade


class LabelModelGrader(_ModelGrader):
    """1 when the judge's label is one of `passing_labels`, else 0."""

    type: Literal["label_model"] = "label_model"
    labels: list[str] = Field(min_length=1)
    passing_labels: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _subset(self) -> LabelModelGrader:
        unknown = [p for p in self.passing_labels if p not in self.labels]
        if unknown:
            raise ValueError(f"passing_labels {unknown} are not in labels {self.labels}")
        return self

    def instruction(self) -> str:
        return "Reply with only one of these labels: " + ", ".join(self.labels)

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        grade, text = await self.ask(sample, item, ctx)
        if text is None:
            return grade
        label = judge_parse.parse_label(text, self.labels)
        if label is None:
            grade.errors["model_grader_parse_error"] = True
            grade.score = 0.0
            return grade
        grade.score = float(label in self.passing_labels)
        grade.detail = label
        return grade


class PythonGrader(Grader):
    """`source` defines `grade(sample, item) -> float`, run in a sandbox (ftui.graders.sandbox_worker).

    `timeout_s` and `memory_mb` are ftui's own fields (OpenAI sets its limits server-side);
    `image_tag` is accepted and ignored: the sandbox runs this machine's Python."""

    type: Literal["python"] = "python"
    source: str = Field(min_length=1, max_length=256_000)
    image_tag: str | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    memory_mb: int = Field(default=512, ge=64, le=65536)
    _sandbox: Any = PrivateAttr(default=None)

    def check(self) -> None:
        import ast

        try:
            tree = ast.parse(self.source)
        except SyntaxError as exc:
            raise GraderError(f"line {exc.lineno}: {exc.msg}", "source") from None
        if not any(
            isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "grade" for n in tree.body
        ):
            raise GraderError("defines no top-level `def grade(sample, item)`", "source")

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        from ftui.graders.sandbox import PythonSandbox

        if self._sandbox is None:
            self._sandbox = PythonSandbox(self.source, timeout_s=self.timeout_s, memory_mb=self.memory_mb)
        outcome = await self._sandbox.run(
            {"output_text": sample.output_text, "output_json": sample.output_json}, item
        )
        if outcome.error is not None:
            if outcome.kind == "server":
                return failed("python_grader_server_error", outcome.error, "python_grader_server_error_type")
            return failed("python_grader_runtime_error", outcome.error, "python_grader_runtime_error_details")
        assert outcome.score is not None
        if not math.isfinite(outcome.score):
            return failed(
                "python_grader_runtime_error",
                f"grade() returned {outcome.score}",
                "python_grader_runtime_error_details",
            )
        return Grade(outcome.score)

    async def aclose(self) -> None:
        if self._sandbox is not None:
            await self._sandbox.aclose()
            self._sandbox = None


class MultiGrader(Grader):
    """Named sub-graders combined by `calculate_output`, a formula over their names (ftui.graders.formula)."""

    type: Literal["multi"] = "multi"
    graders: dict[str, Any]
    calculate_output: str
    _tree: Any = PrivateAttr(default=None)

    # ftui.graders.registry parses these sub-graders (of any registered type) before this model.
    nested: ClassVar[tuple[str, ...]] = ("graders",)

    @field_validator("graders")
    @classmethod
    def _named_graders(cls, v: dict[str, Any]) -> dict[str, Any]:
        if not v:
            raise ValueError("needs at least one grader")
        for key, obj in v.items():
            if not key.isidentifier():
                raise ValueError(f"{key!r}: a grader's key must be a name a formula can use (letters, _)")
            if not isinstance(obj, Grader):
                raise ValueError(f"graders.{key}: not a parsed grader")
        return v

    @property
    def needs_judge(self) -> bool:
        return any(g.needs_judge for g in self.graders.values())

    def unsupported_here(self) -> str | None:
        return next((r for g in self.graders.values() if (r := g.unsupported_here())), None)

    def check(self) -> None:
        from ftui.graders.formula import FormulaError, parse

        for key, sub in self.graders.items():
            try:
                sub.check()
            except GraderError as exc:
                where = f"graders.{key}" + (f".{exc.field}" if exc.field else "")
                raise GraderError(exc.detail, where) from None
        try:
            self._tree = parse(self.calculate_output, set(self.graders))
        except FormulaError as exc:
            raise GraderError(str(exc), "calculate_output") from None

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        from ftui.graders.formula import FormulaError, evaluate, parse

        names = list(self.graders)
        grades = await asyncio.gather(*(self.graders[n].grade(sample, item, ctx) for n in names))
        out = Grade(0.0, sub_scores={n: g.score for n, g in zip(names, grades, strict=True)})
        for n, g in zip(names, grades, strict=True):
            out.add_usage(g)
            for k, v in g.errors.items():
                out.errors.setdefault(k, v)
            if g.detail and out.detail is None and g.failed:
                out.detail = f"{n}: {g.detail}"
        try:
            tree = self._tree or parse(self.calculate_output, set(self.graders))
            value = evaluate(tree, out.sub_scores)
        except FormulaError as exc:
            out.errors["formula_parse_error"] = True
            out.detail = str(exc)
            return out
        out.score = value
        return out

    async def aclose(self) -> None:
        for sub in self.graders.values():
            await sub.aclose()


class JsonValid(Grader):
    """1 when `input` (the output, by default) parses as JSON."""

    type: Literal["json_valid"] = "json_valid"
    input: str = OUTPUT

    def check(self) -> None:
        _check_templates(self, "input")

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        text = render(self.input, sample, item)
        try:
            json.loads(text.text)
        except (ValueError, RecursionError) as exc:
            return Grade(0.0, detail=f"not JSON: {exc}"[:300])
        return flag_rendering(text, Grade(1.0))


class JsonSchema(Grader):
    """1 when `input` parses as JSON and matches `json_schema` (any JSON Schema draft jsonschema knows)."""

    type: Literal["json_schema"] = "json_schema"
    input: str = OUTPUT
    json_schema: dict[str, Any]
    _validator: Any = PrivateAttr(default=None)

    def check(self) -> None:
        _check_templates(self, "input")
        try:
            import jsonschema
        except ImportError:
            raise GraderError("needs jsonschema: pip install 'ftui[eval]'", "json_schema") from None
        cls = jsonschema.validators.validator_for(self.json_schema)
        try:
            cls.check_schema(self.json_schema)
        except jsonschema.SchemaError as exc:
            raise GraderError(f"not a valid JSON Schema: {exc.message}", "json_schema") from None
        self._validator = cls(self.json_schema)

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        text = render(self.input, sample, item)
        try:
            value = json.loads(text.text)
        except (ValueError, RecursionError) as exc:
            return Grade(0.0, detail=f"not JSON: {exc}"[:300])
        if self._validator is None:
            self.check()
        error = next(iter(self._validator.iter_errors(value)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            return Grade(0.0, detail=f"{where}: {error.message}"[:300])
        return flag_rendering(text, Grade(1.0))


class RegexGrader(Grader):
    """1 when `pattern` matches `input` (search anywhere, or fullmatch). Runs with a time limit, so a
    pattern that backtracks without end cannot hang grading."""

    type: Literal["regex"] = "regex"
    input: str = OUTPUT
    pattern: str = Field(min_length=1, max_length=10_000)
    ignore_case: bool = False
    match: Literal["search", "fullmatch"] = "search"
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    _compiled: Any = PrivateAttr(default=None)

    def check(self) -> None:
        _check_templates(self, "input")
        try:
            import regex
        except ImportError:
            raise GraderError("needs the regex package: pip install 'ftui[eval]'", "pattern") from None
        try:
            self._compiled = regex.compile(self.pattern, regex.IGNORECASE if self.ignore_case else 0)
        except regex.error as exc:
            raise GraderError(f"not a valid regular expression: {exc}", "pattern") from None

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        if self._compiled is None:
            self.check()
        text = render(self.input, sample, item)
        method = self._compiled.search if self.match == "search" else self._compiled.fullmatch
        try:
            found = await asyncio.to_thread(method, text.text, timeout=self.timeout_s)
        except TimeoutError:
            return failed("other_error", f"the pattern did not finish within {self.timeout_s:g} s")
        return flag_rendering(text, Grade(float(found is not None)))


class LengthGrader(Grader):
    """1 when `input`'s length in `unit` (chars or words) is within [min, max]."""

    type: Literal["length"] = "length"
    input: str = OUTPUT
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    unit: Literal["chars", "words"] = "chars"

    @model_validator(mode="after")
    def _bounds(self) -> LengthGrader:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is larger than max {self.max}")
        return self

    def check(self) -> None:
        _check_templates(self, "input")

    async def grade(self, sample: Sample, item: dict[str, Any], ctx: Context) -> Grade:
        text = render(self.input, sample, item)
        n = len(text.text) if self.unit == "chars" else len(text.text.split())
        ok = (self.min is None or n >= self.min) and (self.max is None or n <= self.max)
        return flag_rendering(text, Grade(float(ok), detail=f"{n} {self.unit}"))


BUILTIN: dict[str, type[Grader]] = {
    "string_check": StringCheck,
    "text_similarity": TextSimilarity,
    "score_model": ScoreModelGrader,
    "label_model": LabelModelGrader,
    "python": PythonGrader,
    "multi": MultiGrader,
    "json_valid": JsonValid,
    "json_schema": JsonSchema,
    "regex": RegexGrader,
    "length": LengthGrader,
}
