"""`ftui data`: validate, count, convert and split datasets before they are uploaded."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ftui.cli.context import session_of
from ftui.cli.output import emit_json, table

if TYPE_CHECKING:
    from ftui.data.report import Issue, ValidationReport
    from ftui.data.tokens import Tokenizer

METHODS = ["supervised", "dpo", "reinforcement"]
SHOWN_ISSUES = 50

file_arg = click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
model_opt = click.option("--model", "-m", help="Base model: exact token counts, limits and price for it.")
method_opt = click.option(
    "--method", type=click.Choice(METHODS), help="Training method (default: detected from the file)."
)
json_opt = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group("data", context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Validate, count, convert and split datasets (JSONL) before uploading them."""


def _provider_tokenizer(ctx: click.Context, model: str | None) -> tuple[Tokenizer | None, float | None]:
    """The active provider's own tokenizer for `model`, if it has one, and its price override.

    Only asked for names that are not OpenAI models: an OpenAI model's tokens are those of its
    published encoding whatever the backend, and not opening the provider keeps its plugins, SDK
    and config off the path of `ftui data validate FILE`. Guarded: a profile whose provider cannot
    be opened (SDK missing, bad config) must not stop validation; the name-based tokenizer is used.
    """
    from ftui.data.tokens import encoding_for

    if not model or encoding_for(model) is not None:
        return None, None
    try:
        provider = session_of(ctx).provider()
        tokenizer = provider.tokenizer(model)
    except Exception:
        return None, None
    if tokenizer is None:
        return None, None
    # Training on your own machine costs no per-token fee.
    return tokenizer, 0.0 if getattr(provider, "name", None) == "local" else None


def _progress_bar(enabled: bool) -> tuple[Any, Any]:
    if not enabled or not sys.stderr.isatty():
        return None, None
    bar = click.progressbar(length=1, label="checking", file=sys.stderr, show_eta=True)
    bar.__enter__()
    state = {"total": 0}

    def progress(done: int, total: int) -> None:
        if bar.length != total:
            bar.length = total
        bar.update(done - state["total"])
        state["total"] = done

    return progress, bar


def _validate(
    ctx: click.Context,
    file: Path,
    model: str | None,
    method: str | None,
    epochs: int | None,
    show_progress: bool,
) -> ValidationReport:
    from ftui.data.validate import validate_path

    tokenizer, price = _provider_tokenizer(ctx, model)
    progress, bar = _progress_bar(show_progress)
    try:
        return validate_path(
            file,
            method=method,
            model=model,
            tokenizer=tokenizer,
            progress=progress,
            epochs=epochs,
            price_per_1m=price,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _issue_lines(kind: str, issues: list[Issue], total: int, colour: str) -> None:
    if not issues:
        return
    click.echo(click.style(f"{total:,} {kind}:", fg=colour, bold=True))
    for issue in issues[:SHOWN_ISSUES]:
        where = f"line {issue.line}" if issue.line else "file"
        click.echo(f"  {where}: {click.style(issue.code, fg=colour)}  {issue.message}")
    if total > SHOWN_ISSUES:
        by_code = Counter(i.code for i in issues if i.code != "too_many_issues")
        summary = ", ".join(f"{code} x{n}" for code, n in by_code.most_common())
        click.echo(
            f"  ... {total - SHOWN_ISSUES:,} more (use --json for the list); listed by code: {summary}"
        )


def _print_report(report: ValidationReport) -> None:
    verdict = (
        click.style("valid", fg="green", bold=True)
        if report.valid
        else click.style("NOT valid", fg="red", bold=True)
    )
    click.echo(
        f"{report.file}: {report.format} data, method {report.method}, "
        f"{report.examples:,} examples: {verdict}"
    )
    _issue_lines("errors", report.errors, report.error_count, "red")
    _issue_lines("warnings", report.warnings, report.warning_count, "yellow")
    t = report.tokens
    how = "exact" if report.exact else "approximate"
    click.echo(
        f"tokens ({report.tokenizer}, {how}): total {t.total:,}, per example max {t.max_example:,}, "
        f"p50 {t.p50:,}, p95 {t.p95:,}, over the limit {t.over_limit:,}"
    )
    line = f"billed tokens per epoch: {report.billed_tokens_per_epoch:,}"
    if report.estimated_cost is not None:
        line += f"; estimated cost for {report.epochs} epoch(s): ${report.estimated_cost:,.2f}"
        if report.model:
            line += f" ({report.model})"
    elif report.model:
        line += f"; no per-token price known for {report.model}"
    click.echo(line)


@command.command("validate")
@file_arg
@model_opt
@method_opt
@click.option("--epochs", type=click.IntRange(1, 50), help="Epochs for the cost estimate (default: auto).")
@json_opt
@click.pass_context
def validate_cmd(
    ctx: click.Context, file: Path, model: str | None, method: str | None, epochs: int | None, as_json: bool
) -> None:
    """Check FILE for every problem before upload; exit 0 if it can be trained on, 1 if not."""
    report = _validate(ctx, file, model, method, epochs, show_progress=not as_json)
    if as_json:
        emit_json(report.model_dump())
    else:
        _print_report(report)
    if not report.valid:
        sys.exit(1)


@command.command("stats")
@file_arg
@model_opt
@method_opt
@click.option(
    "--bins", type=click.IntRange(1, 50), default=10, show_default=True, help="Bars in the length histogram."
)
@json_opt
@click.pass_context
def stats_cmd(
    ctx: click.Context, file: Path, model: str | None, method: str | None, bins: int, as_json: bool
) -> None:
    """Examples, tokens, turns and a histogram of example lengths."""
    from ftui.data.stats import from_report

    stats = from_report(_validate(ctx, file, model, method, None, show_progress=not as_json), bins)
    if as_json:
        emit_json(stats.model_dump())
        return
    t = stats.tokens
    how = "exact" if stats.exact else "approximate"
    rows = [
        ["format / method", f"{stats.format} / {stats.method}"],
        ["examples", f"{stats.examples:,} ({stats.valid_examples:,} valid)"],
        [f"tokens ({stats.tokenizer}, {how})", f"{t.total:,}"],
        [
            "tokens per example",
            f"mean {stats.mean_tokens:,}, p50 {t.p50:,}, p95 {t.p95:,}, max {t.max_example:,}",
        ],
        ["messages per example", f"mean {stats.turns.mean}, min {stats.turns.min}, max {stats.turns.max}"],
        ["errors / warnings", f"{stats.errors:,} / {stats.warnings:,} (see ftui data validate)"],
    ]
    table(rows, ["dataset", file.name])
    if stats.length_histogram:
        click.echo("\ntokens per example:")
        peak = max(b.count for b in stats.length_histogram) or 1
        width = len(f"{stats.length_histogram[-1].high:,}")
        for b in stats.length_histogram:
            bar = "#" * max(1 if b.count else 0, round(40 * b.count / peak))
            click.echo(f"  {b.low:>{width},}-{b.high:<{width},}  {bar} {b.count:,}")


@command.command("convert")
@file_arg
@click.option("--to", "to", type=click.Choice(["chat"]), default="chat", show_default=True)
@click.option(
    "--from",
    "source_format",
    type=click.Choice(["prompt_completion", "alpaca", "sharegpt", "chat"]),
    help="Source format (default: detected per line).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the converted JSONL.",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--skip-invalid", is_flag=True, help="Leave out lines that cannot be converted.")
@json_opt
def convert_cmd(
    file: Path,
    to: str,
    source_format: str | None,
    output: Path,
    force: bool,
    skip_invalid: bool,
    as_json: bool,
) -> None:
    """Convert prompt/completion, alpaca or sharegpt JSONL to chat."""
    from ftui.data.convert import convert_file

    n = convert_file(file, output, to=to, source_format=source_format, force=force, skip_invalid=skip_invalid)
    if as_json:
        emit_json({"file": str(file), "output": str(output), "examples": n})
    else:
        click.echo(f"wrote {n:,} examples to {output}")


@command.command("split")
@file_arg
@click.option(
    "--valid-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.1,
    show_default=True,
    help="Share of examples for the validation file.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same split.")
@click.option(
    "--train-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Default: FILE's name with .train.jsonl.",
)
@click.option(
    "--valid-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Default: FILE's name with .valid.jsonl.",
)
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@json_opt
def split_cmd(
    file: Path,
    valid_fraction: float,
    seed: int,
    train_out: Path | None,
    valid_out: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Split FILE into training and validation files, deterministically."""
    from ftui.data.split import split_file

    train, valid = split_file(file, valid_fraction, seed, train_out, valid_out, force=force)
    counts = {p: sum(1 for _ in p.open("rb")) for p in (train, valid)}
    if as_json:
        emit_json(
            {
                "file": str(file),
                "train": str(train),
                "valid": str(valid),
                "train_examples": counts[train],
                "valid_examples": counts[valid],
                "seed": seed,
            }
        )
    else:
        click.echo(f"{train}: {counts[train]:,} examples\n{valid}: {counts[valid]:,} examples")


@command.command("sample")
@click.option("--method", type=click.Choice(["supervised", "dpo"]), default="supervised", show_default=True)
def sample_cmd(method: str) -> None:
    """Print the path of a small dataset shipped with ftui (pirate-speak chat), to try things with."""
    from ftui.data.samples import sample_path

    click.echo(str(sample_path(method)))
