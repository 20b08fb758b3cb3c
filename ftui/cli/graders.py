"""`ftui graders validate FILE` and `ftui graders run FILE --sample S --item I`: OpenAI's grader
validate and run endpoints, on this machine."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ftui.cli.context import pass_session, run
from ftui.cli.output import emit_json, warn
from ftui.errors import UsageError
from ftui.session import Session, open_provider


@click.group("graders")
def command() -> None:
    """Grader JSON in OpenAI's shapes: check one, or score a sample with it."""


@command.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the graders as JSON (OpenAI's validate answer).")
def validate(file: str, as_json: bool) -> None:
    """Check FILE (one grader object, or a list): exit 0 when every grader is valid."""
    from ftui.graders.registry import kinds, load

    for error in kinds().errors:
        warn(error)
    graders = load(file)
    if as_json:
        answers = [{"grader": g.raw()} for g in graders]
        emit_json(answers if len(answers) > 1 else answers[0])
        return
    for g in graders:
        note = g.unsupported_here()
        click.echo(f"{file}: {g.name} ({g.type}): valid")
        if note:
            warn(note)


def _text_or_file(value: str, option: str) -> str:
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{option} {value}: cannot read {path}: {exc}") from None
    if value == "-":
        return sys.stdin.read()
    return value


@command.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sample", "-s", required=True, help="The output to grade (text, @FILE, or - for stdin).")
@click.option("--item", "-i", default="{}", show_default=True, help="The dataset row as JSON (or @FILE).")
@click.option("--json", "as_json", is_flag=True, help="Print OpenAI's RunGraderResponse shape.")
@pass_session
def run_grader(session: Session, file: str, sample: str, item: str, as_json: bool) -> None:
    """Grade one SAMPLE with the grader in FILE against ITEM; prints the reward (exit 0)."""
    from ftui.graders.registry import load

    graders = load(file)
    if len(graders) != 1:
        raise UsageError(f"{file} holds {len(graders)} graders; `graders run` takes a file with one")
    text = _text_or_file(sample, "--sample")
    raw_item = _text_or_file(item, "--item")
    try:
        item_obj = json.loads(raw_item)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--item: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(item_obj, dict):
        raise UsageError("--item: must be a JSON object (a dataset row)")
    response = run(_grade(session, graders[0], text, item_obj))
    if as_json:
        emit_json(response)
        return
    click.echo(f"reward: {response['reward']:.6g}")
    for name, value in response["sub_rewards"].items():
        click.echo(f"  {name}: {value:.6g}")
    flags = [k for k, v in response["metadata"]["errors"].items() if v is True]
    if flags:
        click.echo(click.style("errors: ", fg="red") + ", ".join(flags))
    if response.get("detail"):
        click.echo(f"detail: {response['detail']}")


async def _grade(session: Session, grader: Any, text: str, item: dict[str, Any]) -> dict[str, Any]:
    from ftui.evaluate.cache import AnswerCache
    from ftui.evaluate.calls import Caller
    from ftui.graders.base import Context
    from ftui.graders.template import Sample

    caller = None
    cache = None
    ctx = Context()
    if grader.needs_judge:
        active, config = session.profile.name, session.config

        def opener(profile: str) -> Any:
            return (
                session.provider()
                if profile == active
                else open_provider(config.profile(profile), session.store)
            )

        cache = AnswerCache()
        caller = Caller(opener, concurrency=2, cache=cache)
        ctx = Context(judge=caller.judge(active, config.profile_names))
    started = time.monotonic()
    try:
        grade = await grader.grade(Sample(text), item, ctx)
    finally:
        await grader.aclose()
        if caller is not None:
            await caller.aclose()
        if cache is not None:
            cache.close()
    return {
        "reward": grade.score,
        "metadata": {
            "name": grader.name,
            "type": grader.type,
            "execution_time": round(time.monotonic() - started, 4),
            "scores": dict(grade.sub_scores),
            "token_usage": sum(u.total_tokens for u in grade.usage.values()) or None,
            "sampled_model_name": None,
            "errors": grade.metadata_errors(),
        },
        "sub_rewards": dict(grade.sub_scores),
        "model_grader_token_usage_per_model": {
            m: {
                "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens,
                "total_tokens": u.total_tokens,
                "cached_tokens": 0,
            }
            for m, u in grade.usage.items()
        },
        "detail": grade.detail,
    }
