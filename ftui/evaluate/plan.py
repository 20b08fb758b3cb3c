"""From what a user asked (`ftui eval` options, the TUI form) to a ready `Evaluation`.

Finds the training file (given, or the one the fine-tuned model's job trained on) for the few-shot
row and the overlap check, resolves graders and model references, and collects the warnings a
careful user wants before trusting a number.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.errors import FtuiError, NotSupported, ProviderError
from ftui.evaluate.calls import Caller, ModelRef, parse_ref
from ftui.evaluate.run import Contender, Evaluation
from ftui.evaluate.testset import Example, few_shot, load_examples, overlap, parse_row
from ftui.graders.base import Grader, GraderError
from ftui.model import ChatParams

if TYPE_CHECKING:
    from ftui.model import Job
    from ftui.provider import Provider

DEFAULT_GRADERS = ("fuzzy",)
JOB_PAGES = 5  # looking for the job that made a model: at most this many pages of 100


@dataclass
class Options:
    model: str
    data: str
    baselines: list[str] = field(default_factory=list)
    graders: list[str] = field(default_factory=list)
    few_shot: int = 0
    few_shot_model: str | None = None
    train: str | None = None
    seed: int = 0
    concurrency: int = 8
    temperature: float = 0.0
    max_tokens: int = 256
    limit: int | None = None
    fresh: bool = False


def load_graders(specs: list[str]) -> list[Grader]:
    from ftui.graders.registry import resolve

    graders: list[Grader] = []
    for spec in specs or list(DEFAULT_GRADERS):
        graders += resolve(spec)
    seen: set[str] = set()
    for g in graders:
        if g.name in seen:
            raise GraderError(f"two graders are named {g.name!r}; give each a distinct 'name'")
        seen.add(g.name)
        problem = g.unsupported_here()
        if problem:
            raise GraderError(problem)
    return graders


async def find_job(provider: Provider, model: str) -> Job | None:
    """The job whose fine-tuned model (or checkpoint) is `model`, if the provider lists jobs."""
    name = model.split(":ckpt-step-")[0]
    cursor: str | None = None
    for _ in range(JOB_PAGES):
        try:
            page = await provider.jobs(limit=100, cursor=cursor)
        except (NotSupported, ProviderError):
            return None
        for job in page.items:
            if job.fine_tuned_model == name or (job.raw.get("spec") or {}).get("fine_tuned_model") == name:
                return job
        if not page.has_more or page.next_cursor in (None, cursor):
            return None
        cursor = page.next_cursor
    return None


async def _training_examples(provider: Provider, job: Job) -> tuple[list[Example], str] | None:
    candidates = [job.training_file, (job.raw.get("spec") or {}).get("training_path")]
    for ref in candidates:
        if ref and Path(ref).expanduser().is_file():
            return load_examples(ref), ref
    if job.training_file:
        try:
            content = await provider.file_content(job.training_file)
        except (NotSupported, ProviderError):
            return None
        with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
            fh.write(content)
        return load_examples(fh.name), job.training_file
    return None


def _label(ref: ModelRef, active: str, taken: set[str]) -> str:
    label = ref.model if ref.profile == active else str(ref)
    base, n = label, 2
    while label in taken:
        label, n = f"{base} #{n}", n + 1
    taken.add(label)
    return label


async def prepare(
    opts: Options, caller: Caller, active: str, profiles: list[str]
) -> tuple[Evaluation, list[str]]:
    warnings: list[str] = []
    if opts.few_shot < 0:
        raise FtuiError("--few-shot must be 0 or more")
    examples = load_examples(opts.data, limit=opts.limit)
    graders = load_graders(opts.graders)
    if any("item.reference" in json.dumps(g.raw()) for g in graders):
        missing = [e.line for e in examples if e.reference is None]
        if missing:
            warnings.append(
                f"{len(missing)} test example(s) have no reference answer (lines "
                f"{', '.join(map(str, missing[:5]))}{'...' if len(missing) > 5 else ''}): graders "
                "reading {{item.reference}} score them 0"
            )

    model = parse_ref(opts.model, active, profiles)
    baselines = [parse_ref(b, active, profiles) for b in opts.baselines]

    train: list[Example] | None = None
    train_name: str | None = None
    job: Job | None = None
    if opts.train:
        train, train_name = load_examples(opts.train), opts.train
    else:
        job = await find_job(caller.provider(model.profile), model.model)
        if job is not None:
            found = await _training_examples(caller.provider(model.profile), job)
            if found is not None:
                train, train_name = found
    if train is not None:
        ov = overlap(examples, train)
        if ov.count:
            first = ", ".join(str(examples[i].line) for i in (ov.exact + ov.whitespace)[:5])
            warnings.append(
                f"{ov.count} of {len(examples)} test example(s) also appear in the training file "
                f"{train_name} ({len(ov.exact)} exact, {len(ov.whitespace)} differing only in whitespace; "
                f"first at test line(s) {first}): "
                "their scores measure memory, not generalisation"
            )

    taken: set[str] = set()
    contenders = [Contender(_label(model, active, taken), model, "model")]
    contenders += [Contender(_label(b, active, taken), b, "baseline") for b in baselines]
    if opts.few_shot:
        if train is None:
            raise FtuiError(
                f"--few-shot {opts.few_shot} draws examples from the training file: pass --train FILE "
                f"(no job that made {opts.model} was found to take it from)"
            )
        if opts.few_shot_model:
            base = parse_ref(opts.few_shot_model, active, profiles)
        elif job is not None and job.base_model:
            base = ModelRef(job.base_model, model.profile)
        elif baselines:
            base = baselines[0]
        else:
            raise FtuiError("--few-shot needs a base model: pass --few-shot-model M or a --baseline")
        shots = few_shot(train, opts.few_shot, opts.seed, examples)
        label = _label(ModelRef(f"{base.model} + {opts.few_shot}-shot", base.profile), active, taken)
        contenders.append(Contender(label, base, "few-shot", shots))

    params = ChatParams(temperature=opts.temperature, max_tokens=opts.max_tokens, seed=opts.seed)
    return Evaluation(examples, contenders, graders, params), warnings


def examples_from_rows(rows: list[dict[str, Any]]) -> list[Example]:
    """Examples from in-memory rows (tests, the TUI's own sample)."""
    return [parse_row(r, f"row {i + 1}", i, i + 1) for i, r in enumerate(rows)]
