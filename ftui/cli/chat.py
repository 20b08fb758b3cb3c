"""`ftui chat`: one prompt to a model (base, fine-tuned or checkpoint), streamed; `--compare` adds one."""

from __future__ import annotations

import os
import sys
import warnings

import click
from pydantic import ValidationError

from ftui.cli.context import pass_session, run
from ftui.cli.output import emit_json
from ftui.errors import UsageError
from ftui.model import ChatMessage, ChatParams
from ftui.provider import Provider
from ftui.session import Session


async def _answer(
    provider: Provider, model: str, messages: list[ChatMessage], params: ChatParams, echo: bool
) -> str:
    pieces = []
    async for piece in provider.chat(model, messages, params):
        pieces.append(piece)
        if echo:
            click.echo(piece, nl=False)
            sys.stdout.flush()
    return "".join(pieces)


async def _chat_all(
    provider: Provider, models: list[str], messages: list[ChatMessage], params: ChatParams, as_json: bool
) -> list[dict[str, str]]:
    answers = []
    labelled = len(models) > 1
    for n, model in enumerate(models):
        if labelled and not as_json:
            if n:
                click.echo()
            click.echo(click.style(f"── {model} ──", bold=True))
        text = await _answer(provider, model, messages, params, echo=not as_json)
        if not as_json:
            click.echo()
        answers.append({"model": model, "content": text})
    await provider.aclose()
    return answers


@click.command("chat")
@click.argument("prompt", required=False)
@click.option("--model", "-m", help="Model: a base model, a fine-tuned model or a checkpoint name.")
@click.option("--compare", "-c", help="A second model to answer the same prompt, shown after the first.")
@click.option("--system", "-s", help="System message.")
@click.option("--temperature", type=float, default=0.7, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=256, show_default=True)
@click.option("--stop", multiple=True, help="Stop sequence (repeatable).")
@click.option("--seed", type=int, help="Sampling seed, for repeatable answers.")
@click.option("--json", "as_json", is_flag=True, help="Print the answers as JSON when done.")
@pass_session
def command(
    session: Session,
    prompt: str | None,
    model: str | None,
    compare: str | None,
    system: str | None,
    temperature: float,
    top_p: float,
    max_tokens: int,
    stop: tuple[str, ...],
    seed: int | None,
    as_json: bool,
) -> None:
    """Send PROMPT (or stdin) to a model and stream the reply."""
    if prompt is None or prompt == "-":
        if sys.stdin.isatty():
            raise UsageError("give a PROMPT, or pipe one on stdin")
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    model = model or getattr(session.profile.settings, "base_model", None)
    if not model:
        raise UsageError("no model: pass --model")
    try:
        params = ChatParams(
            temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=list(stop), seed=seed
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    messages = ([ChatMessage(role="system", content=system)] if system else []) + [
        ChatMessage(role="user", content=prompt)
    ]
    models = [model] + ([compare] if compare else [])
    # The answer is the output: no weight-loading bars or library deprecation notes around it.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    answers = run(_chat_all(session.provider(), models, messages, params, as_json))
    if as_json:
        emit_json({"prompt": prompt, "system": system, "answers": answers})
