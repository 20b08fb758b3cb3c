"""`ftui jobs`: create, list, show, follow and steer fine-tuning jobs on the active profile's provider.

These commands speak only to `Provider`, so they work the same for every backend.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.cli.confirm import billed, confirmed
from ftui.cli.context import pass_session, run
from ftui.cli.output import emit_json, is_tty, table, warn
from ftui.costs import estimate_line, training_estimate
from ftui.errors import UsageError
from ftui.hyperparameters import (
    BATCH_SIZE,
    BETA,
    EPOCHS,
    LR_MULTIPLIER,
    Bound,
    HyperparameterError,
    check_value,
    fields_of,
)
from ftui.model import METHODS, CostEstimate, Hyperparameters, Job, JobEvent, JobSpec, one_of
from ftui.provider import Provider, collect
from ftui.session import Session

if TYPE_CHECKING:
    from ftui.data.report import ValidationReport

MAX_ERRORS_SHOWN = 20
# A job that stops making progress here needs a person: watch returns instead of waiting forever.
WATCH_STOPS_AT = frozenset({"succeeded", "failed", "cancelled", "paused"})


# -- formatting -----------------------------------------------------------------------------
def _clock(when: datetime | None) -> str:
    return when.astimezone().strftime("%H:%M:%S") if when else ""


def _when(when: datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else "-"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_metrics(event: JobEvent) -> str:
    m = event.metrics
    if m is None:
        return event.message
    parts = [f"step {m.step}" + (f"/{m.total_steps}" if m.total_steps else "")]
    if m.epoch is not None:
        parts.append(f"epoch {m.epoch:.2f}")
    for label, value in (
        ("loss", m.train_loss),
        ("acc", m.train_mean_token_accuracy),
        ("valid_loss", m.valid_loss),
        ("valid_acc", m.valid_mean_token_accuracy),
        ("full_valid_loss", m.full_valid_loss),
    ):
        if value is not None:
            parts.append(f"{label} {value:.4f}")
    if m.learning_rate is not None:
        parts.append(f"lr {m.learning_rate:.2e}")
    if m.tokens_per_second:
        parts.append(f"{m.tokens_per_second:.0f} tok/s")
    return "  ".join(parts)


def format_event(event: JobEvent) -> str:
    text = format_metrics(event) if event.type == "metrics" or event.metrics else event.message
    colour = {"warn": "yellow", "error": "red"}.get(event.level)
    line = f"{_clock(event.created_at)}  {text}"
    return click.style(line, fg=colour) if colour else line


def status_text(status: str) -> str:
    colour = {
        "succeeded": "green",
        "failed": "red",
        "cancelled": "yellow",
        "paused": "yellow",
        "running": "cyan",
    }.get(status)
    return click.style(status, fg=colour) if colour else status


def progress_text(job: Job) -> str:
    if job.progress is None:
        return ""
    width = 20
    filled = round(job.progress * width)
    text = f"[{'#' * filled}{'-' * (width - filled)}] {job.progress * 100:3.0f}%"
    if job.estimated_finish and job.status == "running":
        text += f"  ETA {_duration((job.estimated_finish - datetime.now(UTC)).total_seconds())}"
    return text


def final_line(job: Job) -> str:
    if job.status == "succeeded":
        return click.style(f"Job {job.id} succeeded: model {job.fine_tuned_model}", fg="green")
    if job.status == "paused":
        return click.style(
            f"Job {job.id} is paused; continue it with `ftui jobs resume {job.id}`", fg="yellow"
        )
    reason = f": {job.error.message}" if job.error else ""
    return click.style(f"Job {job.id} {job.status}{reason}", fg="red" if job.status == "failed" else "yellow")


def _notify(session: Session, job: Job) -> None:
    from ftui.notify import job_seen

    try:
        seen = job_seen(session.store, session.profile.name, job)
    except Exception as exc:  # the cache is a convenience: never fail a command over it
        warn(f"could not record job {job.id}: {exc}")
        return
    for error in seen.errors:
        warn(error)


# -- create ---------------------------------------------------------------------------------
def _prepare(provider: Provider, model: str) -> None:
    """The provider's one-time preparation of the base model, said on stderr (a bar on a terminal)."""
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            click.echo(f"Preparing {model} for training (once; it is converted first)", err=True)
            bar = False
            if is_tty():
                bar = click.progressbar(length=total or 100, label="preparing", file=sys.stderr)
                bar.__enter__()
        if bar:
            bar.update(done - bar.pos)

    try:
        run(provider.prepare_model(model, progress))
    finally:
        if bar:
            bar.__exit__(None, None, None)


def _validate_locally(
    provider: Provider, path: Path, method: str, model: str, quiet: bool
) -> ValidationReport:
    """Check a local dataset before any job exists; print every problem and exit 1 if invalid."""
    from ftui.data.validate import validate_path

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not is_tty() or not total:
            return
        if bar is None:
            bar = click.progressbar(length=total, label=f"validating {path.name}", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        report = validate_path(
            path, method=method, model=model, tokenizer=provider.tokenizer(model), progress=progress
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if report.valid:
        if not quiet:
            click.echo(f"Validated {path.name}: {report.examples:,} examples, {report.tokens.total:,} tokens")
        return report
    errors = list(report.errors)
    for err in errors[:MAX_ERRORS_SHOWN]:
        line = getattr(err, "line", None)
        where = f"{path}:{line}" if line else str(path)
        click.echo(
            f"{where}: {click.style(str(getattr(err, 'code', 'error')), fg='red')}: "
            f"{getattr(err, 'message', err)}",
            err=True,
        )
    count = max(getattr(report, "error_count", 0) or 0, len(errors))  # the report may cap its list
    if count > MAX_ERRORS_SHOWN:
        click.echo(f"... and {count - MAX_ERRORS_SHOWN} more", err=True)
    click.echo(
        click.style(f"{path}: {count} error{'s' if count != 1 else ''}; no job was created", fg="red"),
        err=True,
    )
    sys.exit(1)


class BoundedNumber(click.ParamType):
    """A hyperparameter option, checked against ftui.hyperparameters (click's FloatRange lets
    `inf` and `nan` through)."""

    def __init__(self, name: str, bound: Bound) -> None:
        self.hp_name, self.bound = name, bound
        self.name = bound.describe()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            number: Any = self.bound.kind(value)
        except ValueError:
            self.fail(f"expected {self.bound.describe()}, got {value!r}", param, ctx)
        try:
            return self.bound.check(self.hp_name, number)
        except HyperparameterError as exc:
            self.fail(exc.reason, param, ctx)


def _parse_value(text: str) -> Any:
    """--hp VALUE as the trainer takes it: a number, true/false, else the text itself."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def _extra_hyperparameters(pairs: tuple[str, ...], method: str, provider: Provider) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--hp {pair!r}: expected KEY=VALUE, e.g. --hp lora_r=16")
        if key in fields_of(method):
            raise UsageError(f"--hp {key}: use its own option (see ftui jobs create --help)")
        try:
            extra[key] = check_value(key, _parse_value(value.strip()), method, provider.extra_hyperparameters)
        except HyperparameterError as exc:
            raise UsageError(f"--hp {key}: {exc.reason}") from None
    return extra


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option {pair!r}: expected KEY=VALUE, e.g. -o training_type=Developer")
        options[key.strip()] = value.strip()
    return options


def _read_grader(path: str | None, method: str) -> dict[str, Any] | None:
    """The grader object from FILE, checked here and then passed on exactly as written."""
    from ftui.graders.registry import job_grader

    if path is None:
        if method == "reinforcement":
            raise UsageError("--method reinforcement needs --grader FILE (a grader JSON object)")
        return None
    if method != "reinforcement":
        raise UsageError("--grader is for --method reinforcement")
    return job_grader(path)


def _default_model(session: Session) -> str | None:
    return getattr(session.profile.settings, "base_model", None)


@click.group("jobs")
def command() -> None:
    """Fine-tuning jobs: create, list, show, watch, cancel, pause, resume."""


@command.command("create")
@click.option("--model", "-m", help="Base model (default: the profile's base_model).")
@click.option("--training-file", "-t", required=True, help="A dataset path or an uploaded file id.")
@click.option("--validation-file", "-v", help="A dataset path or an uploaded file id.")
@click.option(
    "--method",
    type=click.Choice(["supervised", "dpo", "reinforcement"]),
    default="supervised",
    show_default=True,
)
@click.option("--epochs", "n_epochs", type=BoundedNumber("n_epochs", EPOCHS), help="Epochs (default: auto).")
@click.option(
    "--batch-size", type=BoundedNumber("batch_size", BATCH_SIZE), help="Batch size (default: auto)."
)
@click.option(
    "--lr-multiplier",
    type=BoundedNumber("learning_rate_multiplier", LR_MULTIPLIER),
    help="Learning-rate multiplier (default: auto).",
)
@click.option("--beta", type=BoundedNumber("beta", BETA), help="DPO beta (default: auto).")
@click.option(
    "--hp",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="Provider-specific hyperparameter, e.g. --hp lora_r=16 (repeatable).",
)
@click.option(
    "--option",
    "-o",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="The provider's own job option, e.g. -o training_type=GlobalStandard on Azure (repeatable); "
    "the defaults are printed when the job is created.",
)
@click.option(
    "--grader",
    "grader_file",
    type=click.Path(dir_okay=False),
    help="Reinforcement: a grader JSON file (OpenAI's shape), sent to the provider unchanged.",
)
@click.option("--suffix", help="Added to the fine-tuned model's name (up to 64 characters).")
@click.option("--seed", type=click.IntRange(0, 2147483647))
@click.option("--init-from", help="Start from a fine-tuned model or checkpoint instead of the base.")
@click.option("--wait", is_flag=True, help="Then follow the job until it ends (exit 0 on success).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls with --wait.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and show the estimated cost; create nothing (nothing is billed).",
)
@click.option("--yes", is_flag=True, help="Create a billed job without asking (needed with no terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@pass_session
def create(
    session: Session,
    model: str | None,
    training_file: str,
    validation_file: str | None,
    method: str,
    n_epochs: int | None,
    batch_size: int | None,
    lr_multiplier: float | None,
    beta: float | None,
    extra: tuple[str, ...],
    options: tuple[str, ...],
    grader_file: str | None,
    suffix: str | None,
    seed: int | None,
    init_from: str | None,
    wait: bool,
    interval: float,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Validate the dataset, then create a fine-tuning job. An invalid dataset never becomes a job.

    The estimated cost is shown first; `--dry-run` stops there. A job the estimate says is billed
    is created only after a yes (asked on a terminal, or `--yes`)."""
    model = model or _default_model(session)
    if not model:
        raise UsageError("no base model: pass --model (see the provider's base models)")
    provider = session.provider()
    if len(suffix or "") > 64:
        raise UsageError("--suffix: at most 64 characters")
    # Settings first: a bad one is refused before minutes of dataset validation.
    if beta is not None and method != "dpo":
        raise UsageError("--beta: only dpo jobs take beta (add --method dpo)")
    hyper = Hyperparameters(
        n_epochs=n_epochs if n_epochs is not None else "auto",
        batch_size=batch_size if batch_size is not None else "auto",
        learning_rate_multiplier=lr_multiplier if lr_multiplier is not None else "auto",
        beta=beta,
        extra=_extra_hyperparameters(extra, method, provider),
    )
    _prepare(provider, model)
    training_report: ValidationReport | None = None
    for option, ref in (("--training-file", training_file), ("--validation-file", validation_file)):
        if ref is None:
            continue
        path = Path(ref).expanduser()
        if path.is_file():
            report = _validate_locally(provider, path, method, model, quiet=as_json)
            if option == "--training-file":
                training_report = report
        elif path.exists() or not ref.startswith("file-"):
            raise UsageError(f"{option}: {ref} is not a file (give a dataset path or an uploaded file id)")
    grader = _read_grader(grader_file, method)
    spec = JobSpec(
        base_model=model,
        training_file=training_file,
        validation_file=validation_file,
        method=one_of(method, METHODS, "supervised"),
        hyperparameters=hyper,
        suffix=suffix,
        seed=seed,
        init_from=init_from,
        options=_options(options),
        grader=grader,
    )
    estimate = run(
        training_estimate(
            provider,
            spec,
            training_report.billed_tokens_per_epoch if training_report else None,
            training_report.examples if training_report else None,
        )
    )
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "created": False, "spec": spec, "estimate": estimate})
        else:
            click.echo(f"Estimated cost: {estimate_line(estimate)}")
            click.echo(f"Dry run: no job was created on {session.profile.name}; nothing is billed.")
        return
    if not as_json:
        click.echo(f"Estimated cost: {estimate_line(estimate)}")
    _agree_to_bill(session, estimate, yes)
    job = run(provider.create_job(spec))
    if as_json:
        if not wait:  # with --wait, the finished job is printed instead: one JSON document
            emit_json(job)
    else:
        click.echo(
            f"Created job {job.id} ({status_text(job.status)}) on {session.profile.name}: "
            f"{job.base_model}, {job.method}"
        )
        chosen = provider.check_options(spec)
        for choice in provider.job_options():
            note = "" if choice.key in spec.options else " (the default; change it with -o KEY=VALUE)"
            click.echo(f"  {choice.label}: {chosen[choice.key]}{note}")
        if not wait:
            click.echo(f"Follow it with: ftui jobs watch {job.id}")
    if wait:
        sys.exit(run(_watch(session, job.id, interval, quiet=as_json)))


def _agree_to_bill(session: Session, estimate: CostEstimate, yes: bool) -> None:
    """A job the estimate prices above zero is created only after a yes; else exit 1."""
    if billed(estimate) and not confirmed(
        f"Create the job on profile {session.profile.name}? It is billed.",
        yes,
        f"this job is billed ({estimate_line(estimate)})",
    ):
        click.echo("No job was created; nothing is billed.", err=True)
        sys.exit(1)


# -- read -----------------------------------------------------------------------------------
@command.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--cursor", "--after", "cursor", help="The next page: the cursor a previous page printed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_session
def list_(session: Session, limit: int, cursor: str | None, as_json: bool) -> None:
    """Jobs, newest first."""
    page = run(session.provider().jobs(limit=limit, cursor=cursor))
    jobs = page.items
    if page.next_cursor:
        click.echo(f"more: ftui jobs list --cursor {page.next_cursor}", err=True)
    if as_json:
        emit_json(jobs)
        return
    if not jobs:
        click.echo("No jobs yet. Start one with: ftui jobs create --model M --training-file FILE")
        return
    table(
        [
            [
                j.id,
                j.status,
                j.base_model,
                j.fine_tuned_model or "-",
                _when(j.created_at),
                f"{j.progress * 100:.0f}%" if j.progress is not None else "-",
            ]
            for j in jobs
        ],
        ["id", "status", "base model", "fine-tuned model", "created", "progress"],
    )


def _show_job(job: Job) -> None:
    rows: list[tuple[str, Any]] = [
        ("id", job.id),
        ("status", status_text(job.status)),
        ("provider", job.provider),
        ("base model", job.base_model),
        ("method", job.method),
        ("fine-tuned model", job.fine_tuned_model or "-"),
        ("created", _when(job.created_at)),
        ("started", _when(job.started_at)),
        ("finished", _when(job.finished_at)),
    ]
    if job.progress is not None and not job.done:
        rows.append(("progress", progress_text(job)))
    if job.trained_tokens:
        rows.append(("trained tokens", f"{job.trained_tokens:,}"))
    hp = job.hyperparameters
    hp_text = f"n_epochs={hp.n_epochs} batch_size={hp.batch_size} lr_multiplier={hp.learning_rate_multiplier}"
    if hp.beta is not None:
        hp_text += f" beta={hp.beta}"
    if hp.extra:
        hp_text += " " + " ".join(f"{k}={v}" for k, v in hp.extra.items())
    rows += [
        ("hyperparameters", hp_text),
        ("training file", job.training_file or "-"),
        ("validation file", job.validation_file or "-"),
    ]
    if job.suffix:
        rows.append(("suffix", job.suffix))
    if job.seed is not None:
        rows.append(("seed", job.seed))
    for path in job.result_files:
        rows.append(("result file", path))
    if job.error:
        rows.append(("error", click.style(f"{job.error.code}: {job.error.message}", fg="red")))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")


@command.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_session
def show(session: Session, job_id: str, as_json: bool) -> None:
    """One job in detail."""
    job = run(session.provider().job(job_id))
    _notify(session, job)
    if as_json:
        emit_json(job)
    else:
        _show_job(job)


async def _follow_events(
    provider: Provider[Any], job_id: str, after: str | None, interval: float, as_json: bool
) -> None:
    while True:
        job = await provider.job(job_id)
        page = await provider.events(job_id, after)
        for event in page.items:
            click.echo(event.model_dump_json() if as_json else format_event(event))
        after = page.next_cursor
        if job.status in WATCH_STOPS_AT and not page.items:
            return
        if not page.has_more:
            await asyncio.sleep(interval)


@command.command("events")
@click.argument("job_id")
@click.option("--after", help="Only events after this cursor (an event id on most providers).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until the job ends.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON (one object per line with --follow).")
@pass_session
def events(
    session: Session, job_id: str, after: str | None, follow: bool, interval: float, as_json: bool
) -> None:
    """A job's events, oldest first."""
    provider = session.provider()
    if follow:
        run(_follow_events(provider, job_id, after, interval, as_json))
        return
    found = run(collect(lambda c: provider.events(job_id, c), after))
    if as_json:
        emit_json(found)
        return
    for event in found:
        click.echo(format_event(event))


async def _watch(session: Session, job_id: str, interval: float, quiet: bool = False) -> int:
    """Print events as they come, with a live progress line on a terminal; 0 if the job succeeds."""
    provider = session.provider()
    live = is_tty() and not quiet
    after: str | None = None
    status_shown = ""
    while True:
        job = await provider.job(job_id)
        page = await provider.events(job_id, after)
        new = page.items
        after = page.next_cursor
        if live and new and status_shown:
            click.echo("\r\x1b[K", nl=False)
            status_shown = ""
        for event in new:
            if not quiet:
                click.echo(format_event(event))
        if job.status in WATCH_STOPS_AT and not new:
            break
        if live:
            status_shown = f"{status_text(job.status)}  {progress_text(job)}"
            click.echo(f"\r\x1b[K{status_shown}", nl=False)
        await asyncio.sleep(interval)
    if status_shown:
        click.echo("\r\x1b[K", nl=False)
    _notify(session, job)
    if quiet:
        emit_json(job)
    else:
        click.echo(final_line(job))
    return 0 if job.status == "succeeded" else 1


@command.command("watch")
@click.argument("job_id")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls.",
)
@pass_session
def watch(session: Session, job_id: str, interval: float) -> None:
    """Follow a job live until it ends: exit 0 if it succeeded, 1 otherwise."""
    sys.exit(run(_watch(session, job_id, interval)))


@command.command("checkpoints")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_session
def checkpoints(session: Session, job_id: str, as_json: bool) -> None:
    """A job's checkpoints, newest first; each name works with `ftui chat --model`."""
    found = run(session.provider().checkpoints(job_id))
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(f"No checkpoints for {job_id} yet.")
        return

    def num(value: float | None) -> str:
        return f"{value:.4f}" if value is not None else "-"

    table(
        [
            [
                str(c.step),
                num(c.metrics.train_loss if c.metrics else None),
                num(c.metrics.valid_loss if c.metrics else None),
                _when(c.created_at),
                c.fine_tuned_model_checkpoint,
            ]
            for c in found
        ],
        ["step", "train loss", "valid loss", "created", "model"],
    )


# -- steer ----------------------------------------------------------------------------------
Steer = Callable[[Provider[Any], str], Coroutine[Any, Any, Job]]


def _steer(name: str, act: Steer, past: str, doc: str) -> click.Command:
    @click.argument("job_id")
    @click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
    @pass_session
    def steer(session: Session, job_id: str, as_json: bool) -> None:
        job = run(act(session.provider(), job_id))
        if as_json:
            emit_json(job)
            return
        if job.status in ("running", "validating_files") and name != "resume":
            click.echo(
                f"Job {job.id}: {name} requested; it takes effect within seconds (ftui jobs show {job.id})"
            )
        elif job.status == past:
            click.echo(f"Job {job.id} {past}")
        else:
            click.echo(f"Job {job.id} {past}: {status_text(job.status)}")

    steer.__doc__ = doc
    return click.command(name)(steer)


command.add_command(
    _steer(
        "cancel",
        lambda p, job_id: p.cancel(job_id),
        "cancelled",
        "Stop a job for good, at once (a running job's worker is stopped).",
    )
)
command.add_command(
    _steer(
        "pause",
        lambda p, job_id: p.pause(job_id),
        "paused",
        "Pause a running job: it saves a checkpoint; `resume` continues from it.",
    )
)
command.add_command(
    _steer(
        "resume",
        lambda p, job_id: p.resume(job_id),
        "resumed",
        "Continue a paused job, or one whose worker died, from its last checkpoint.",
    )
)
