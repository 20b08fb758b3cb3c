"""One evaluation: every contender answers every test example, every grader scores every answer.

Contenders are models (the model under test, baselines) or the prompting baseline (a base model with
K training examples in its prompt). All requests start at once and queue in their provider's lane
(`ftui.evaluate.calls`), so models on different backends run side by side; each answer is graded
as soon as it arrives and reported through `on_row`, which is how the CLI and the TUI show live
progress. Rows land in `Evaluation.rows` as they finish: an interrupted run keeps what it did, and
the answer cache makes the next run skip it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ftui.errors import FtuiError
from ftui.evaluate.calls import Caller, ModelRef
from ftui.evaluate.testset import Example, with_shots
from ftui.graders.base import Context, Grader
from ftui.graders.template import Sample
from ftui.model import ChatMessage, ChatParams


@dataclass
class Contender:
    label: str  # unique within the evaluation; what tables and reports call it
    ref: ModelRef
    kind: Literal["model", "baseline", "few-shot"] = "model"
    shots: list[ChatMessage] = field(default_factory=list)

    @property
    def few_shot(self) -> int:
        return sum(1 for m in self.shots if m.role == "assistant")


@dataclass
class RowGrade:
    score: float
    errors: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    sub_scores: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    example: int
    contender: str
    output: str | None = None
    error: str | None = None  # the model could not answer (the row has no grades)
    cached: bool = False
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    grades: dict[str, RowGrade] = field(default_factory=dict)
    judge_tokens: int = 0


@dataclass
class Evaluation:
    examples: list[Example]
    contenders: list[Contender]
    graders: list[Grader]
    params: ChatParams
    rows: list[Row] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def total(self) -> int:
        return len(self.examples) * len(self.contenders)

    def scores(self, contender: str, grader: str) -> dict[int, float]:
        return {
            r.example: r.grades[grader].score
            for r in self.rows
            if r.contender == contender and grader in r.grades
        }


OnRow = Callable[[Row, int, int], None]


async def _one(ev: Evaluation, example: Example, contender: Contender, caller: Caller, ctx: Context) -> Row:
    row = Row(example=example.index, contender=contender.label)
    messages = with_shots(example.prompt, contender.shots)
    try:
        result = await caller.answer(contender.ref, messages, ev.params)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # one failed request is one failed row, not a failed evaluation
        text = str(exc) or type(exc).__name__
        row.error = (text if isinstance(exc, FtuiError) else f"{type(exc).__name__}: {text}")[:1000]
        return row
    row.output, row.cached = result.text, result.cached
    row.latency_s, row.prompt_tokens, row.completion_tokens = (
        result.latency_s,
        result.prompt_tokens,
        result.completion_tokens,
    )
    sample = Sample(result.text)
    grades = await asyncio.gather(*(g.grade(sample, example.item, ctx) for g in ev.graders))
    for grader, grade in zip(ev.graders, grades, strict=True):
        row.grades[grader.name] = RowGrade(grade.score, grade.errors, grade.detail, grade.sub_scores)
        row.judge_tokens += sum(u.total_tokens for u in grade.usage.values())
    return row


async def run(ev: Evaluation, caller: Caller, ctx: Context, on_row: OnRow | None = None) -> Evaluation:
    started = time.monotonic()
    done = 0

    async def task(example: Example, contender: Contender) -> None:
        nonlocal done
        row = await _one(ev, example, contender, caller, ctx)
        ev.rows.append(row)
        done += 1
        if on_row is not None:
            on_row(row, done, ev.total)

    # Example-major order: every contender's running score moves from the start.
    tasks = [
        asyncio.ensure_future(task(example, contender))
        for example in ev.examples
        for contender in ev.contenders
    ]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        ev.interrupted = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        ev.seconds = time.monotonic() - started
        order = {c.label: i for i, c in enumerate(ev.contenders)}
        ev.rows.sort(key=lambda r: (r.example, order.get(r.contender, 0)))
    return ev
