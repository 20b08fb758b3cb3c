"""`ftui eval`: score a model against baselines and a few-shot prompting baseline on a test set."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import click

from ftui.cli.context import pass_session, run
from ftui.cli.output import emit_json, is_tty, table, warn
from ftui.errors import FtuiError, UsageError
from ftui.session import Session, open_provider

REPORT_SUFFIXES = (".md", ".html", ".json")


class LiveProgress:
    """One status line on stderr: rows done and each model's running mean of the first grader."""

    def __init__(self, labels: list[str], grader: str | None, quiet: bool) -> None:
        self.labels, self.grader, self.quiet = labels, grader, quiet
        self.sums = {c: [0.0, 0] for c in labels}
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self.cached = 0

    def __call__(self, row: Any, done: int, total: int) -> None:
        if row.cached:
            self.cached += 1
        if self.grader and self.grader in row.grades:
            s = self.sums[row.contender]
            s[0] += row.grades[self.grader].score
            s[1] += 1
        if self.quiet:
            return
        now = time.monotonic()
        if done != total and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        means = " · ".join(f"{c}: {s[0] / s[1]:.3f}" if s[1] else f"{c}: -" for c, s in self.sums.items())
        line = f"[{done}/{total}] {self.grader or ''} {means}"
        if self.tty:
            width = os.get_terminal_size(sys.stderr.fileno()).columns if sys.stderr.isatty() else 120
            click.echo("\r\x1b[2K" + line[: max(20, width - 1)], nl=done == total, err=True)
        else:
            click.echo(line, err=True)


@click.command("eval")
@click.option("--model", "-m", help="The model to evaluate (MODEL, or MODEL@PROFILE: another profile's).")
@click.option("--data", "-d", required=True, type=click.Path(dir_okay=False), help="Test set (chat JSONL).")
@click.option("--baseline", "-b", "baselines", multiple=True, help="A model to compare with (repeatable).")
@click.option(
    "--grader",
    "-g",
    "graders",
    multiple=True,
    help="A grader JSON file or preset name (repeatable; default: fuzzy).",
)
@click.option(
    "--few-shot",
    type=click.IntRange(0, 64),
    default=0,
    help="Add a row: the base model with K training examples in its prompt.",
)
@click.option("--few-shot-model", help="The few-shot row's model (default: the fine-tuned model's base).")
@click.option(
    "--train",
    type=click.Path(dir_okay=False),
    help="Training file for --few-shot and the overlap check (default: the model's job's).",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Requests in flight per provider.",
)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.0, show_default=True)
@click.option("--max-tokens", type=click.IntRange(1, 65536), default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Few-shot draw and sampling seed.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N test examples.")
@click.option("--fresh", is_flag=True, help="Ask the models again even for answers already cached.")
@click.option(
    "--out",
    "-o",
    "outs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Write a report: .md, .html or .json (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_session
def command(
    session: Session,
    model: str | None,
    data: str,
    baselines: tuple[str, ...],
    graders: tuple[str, ...],
    few_shot: int,
    few_shot_model: str | None,
    train: str | None,
    concurrency: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    limit: int | None,
    fresh: bool,
    outs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Evaluate a model on a test set against baselines, with graders, and say what beat what.

    Answers are cached per (model, prompt, parameters): running again with other graders, or after
    an interruption (Ctrl-C, a crash, kill -9), asks the models only for what is missing.
    """
    from ftui.evaluate.plan import Options

    model = model or getattr(session.profile.settings, "base_model", None)
    if not model:
        raise UsageError("no model: pass --model")
    for out in outs:
        if Path(out).suffix.lower() not in REPORT_SUFFIXES:
            raise UsageError(f"--out {out}: the report format comes from the suffix: .md, .html or .json")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    opts = Options(
        model=model,
        data=data,
        baselines=list(baselines),
        graders=list(graders),
        few_shot=few_shot,
        few_shot_model=few_shot_model,
        train=train,
        seed=seed,
        concurrency=concurrency,
        temperature=temperature,
        max_tokens=max_tokens,
        limit=limit,
        fresh=fresh,
    )
    report = run(_evaluate(session, opts, quiet=as_json))
    for out in outs:
        _write(Path(out), report)
        if not as_json:
            click.echo(f"wrote {out}", err=True)
    if as_json:
        emit_json(report)
    else:
        _print(report)
    if not report["complete"]:
        sys.exit(130)


async def _evaluate(session: Session, opts: Any, quiet: bool) -> dict[str, Any]:
    from ftui.evaluate import report as reports
    from ftui.evaluate.cache import AnswerCache
    from ftui.evaluate.calls import Caller
    from ftui.evaluate.plan import prepare
    from ftui.evaluate.run import run as run_eval
    from ftui.graders.base import Context

    active = session.profile.name
    config = session.config

    def opener(profile: str) -> Any:
        return (
            session.provider() if profile == active else open_provider(config.profile(profile), session.store)
        )

    cache = AnswerCache()
    caller = Caller(opener, concurrency=opts.concurrency, cache=cache, fresh=opts.fresh)
    ev = None
    try:
        ev, notes = await prepare(opts, caller, active, config.profile_names)
        for note in notes:
            warn(note)
        progress = LiveProgress([c.label for c in ev.contenders], ev.graders[0].name, quiet)
        ctx = Context(judge=caller.judge(active, config.profile_names))
        try:
            await run_eval(ev, caller, ctx, progress)
        except (KeyboardInterrupt, asyncio.CancelledError):
            done = len(ev.rows)
            click.echo(
                f"\ninterrupted after {done} of {ev.total} answers; they are cached: run the same "
                "command again to finish without redoing them",
                err=True,
            )
        providers = {c.label: caller.provider(c.ref.profile).name for c in ev.contenders}
        report = reports.build(ev, data=opts.data, providers=providers, warnings=notes)
        if progress.cached and not quiet:
            click.echo(f"{progress.cached} of {ev.total} answers came from the cache", err=True)
        return report
    finally:
        for g in ev.graders if ev else []:
            await g.aclose()
        await caller.aclose()
        cache.close()


def _write(path: Path, report: dict[str, Any]) -> None:
    import json

    from ftui.evaluate import report as reports

    suffix = path.suffix.lower()
    text = (
        reports.markdown(report)
        if suffix == ".md"
        else reports.html_report(report)
        if suffix == ".html"
        else json.dumps(report, indent=2, ensure_ascii=False)
    )
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FtuiError(f"--out {path}: cannot write: {exc}") from None


def _print(report: dict[str, Any]) -> None:
    from ftui.evaluate.report import comparison_rows, summary_rows

    click.echo()
    header, rows = summary_rows(report)
    table(rows, header)
    sources = {u["cost_source"] for u in report["usage"].values() if u.get("cost_source")}
    for said in sorted(sources):
        click.echo(f"cost: list prices from {said}; your bill may differ")
    header, rows = comparison_rows(report)
    if rows:
        click.echo()
        table(rows, header)
    verdicts = [c["verdict"] for c in report["comparisons"]]
    if verdicts and is_tty():
        click.echo()
    for c in report["comparisons"]:
        if "beat" in c["verdict"]:
            click.echo(click.style(f"{c['grader']}: {c['verdict']}", bold=True))
