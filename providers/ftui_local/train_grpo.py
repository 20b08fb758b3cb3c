"""Reinforcement fine-tuning on the local trainer: trl's GRPOTrainer on a LoRA adapter, graders as rewards.

The job's grader (OpenAI's grader object, as `ftui.graders` reads it) becomes trl reward functions:
one for the grader, or, when it is a `multi` whose formula is a weighted sum of its sub-graders,
one per sub-grader with those weights (trl sums them, as the formula would), so each grader's
reward is logged on its own (`rewards/<name>/mean`) and charted in Metrics. Each function also
logs the share of samples its grader could not grade (`errors/<name>`), as OpenAI's RFT metrics
do. A judge grader (score_model, label_model) reaches its model through the config's profiles.

OpenAI's RFT hyperparameters, mapped (ours; OpenAI does not publish its own):

| OpenAI                   | here                                                                 |
|--------------------------|----------------------------------------------------------------------|
| n_epochs                 | num_train_epochs ("auto": as for supervised, ~100 prompts seen)      |
| batch_size               | prompts per step ("auto": as for supervised); trl's batch is that    |
|                          | times num_generations completions                                    |
| learning_rate_multiplier | times 2e-5, a LoRA GRPO learning rate                                |
| compute_multiplier       | num_generations = round(4 x compute_multiplier), 2..64 ("auto": 4)   |
| eval_interval            | eval_steps, with a validation file ("auto": a tenth of the steps)    |
| eval_samples             | num_generations_eval ("auto": num_generations)                       |
| reasoning_effort         | chat_template_kwargs {"reasoning_effort": ...} (templates that do    |
|                          | not read it ignore it)                                               |

`hyperparameters.extra` also takes max_completion_length (default 128), temperature (1.0), beta
(the KL weight, 0.0 as in trl), the LoRA knobs of supervised jobs, and lora_modules_to_save (module
names trained in full beside the adapter, e.g. "lm_head": a tiny model's output layer).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import Any

from ftui.errors import FtuiError

BASE_LR = 2e-5
DEFAULT_GENERATIONS = 4
DEFAULT_COMPLETION_TOKENS = 128


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Reinforcement rows as trl's prompt-only format, the whole row kept for the graders."""
    from ftui.evaluate.testset import parse_row
    from ftui_local.train_data import read_jsonl

    rows: list[dict[str, Any]] = []
    for lineno, obj in read_jsonl(path):
        example = parse_row(obj, f"{path}:{lineno}", len(rows), lineno)
        prompt = [{"role": m.role, "content": m.content} for m in example.prompt]
        rows.append({"prompt": prompt, "ftui_item": json.dumps(example.item, ensure_ascii=False)})
    if not rows:
        raise FtuiError(f"{path}: no example to train on (the file is empty)")
    return rows


def _hp(hp: dict[str, Any], key: str) -> Any:
    value = hp.get(key, (hp.get("extra") or {}).get(key, "auto"))
    return None if value in ("auto", None) else value


def settings(hp: dict[str, Any], resolved: Any) -> dict[str, Any]:
    """The GRPO side of the hyperparameters (see the table above)."""
    extra = hp.get("extra") or {}
    try:
        multiplier = _hp(hp, "compute_multiplier")
        if multiplier is not None and not 0 < float(multiplier) <= 10:
            raise FtuiError(f"hyperparameters.compute_multiplier must be in (0, 10], not {multiplier!r}")
        generations = (
            DEFAULT_GENERATIONS if multiplier is None else round(DEFAULT_GENERATIONS * float(multiplier))
        )
        generations = min(64, max(2, generations))
        eval_samples = _hp(hp, "eval_samples")
        eval_interval = _hp(hp, "eval_interval")
        out = {
            "num_generations": generations,
            "num_generations_eval": max(1, int(eval_samples)) if eval_samples is not None else generations,
            "eval_interval": int(eval_interval) if eval_interval is not None else None,
            "max_completion_length": int(extra.get("max_completion_length", DEFAULT_COMPLETION_TOKENS)),
            "temperature": float(extra.get("temperature", 1.0)),
            "beta": float(extra.get("beta", 0.0)),
            "learning_rate": BASE_LR * resolved.learning_rate_multiplier,
            "reasoning_effort": _hp(hp, "reasoning_effort"),
        }
    except (TypeError, ValueError) as exc:
        raise FtuiError(f"bad reinforcement hyperparameter: {exc}") from None
    if out["max_completion_length"] < 1 or not 0 < out["temperature"] <= 2 or out["beta"] < 0:
        raise FtuiError(
            "hyperparameters.extra: max_completion_length must be at least 1, temperature in (0, 2], "
            "beta at least 0"
        )
    if out["eval_interval"] is not None and out["eval_interval"] < 1:
        raise FtuiError("hyperparameters.eval_interval must be at least 1")
    if not math.isfinite(out["learning_rate"]):
        raise FtuiError("hyperparameters.learning_rate_multiplier must be a finite number")
    return out


def modules_to_save(extra: dict[str, Any]) -> list[str] | None:
    value = extra.get("lora_modules_to_save")
    if value in (None, "", []):
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    return [str(n).strip() for n in names if str(n).strip()] or None


class _Loop:
    """A private event loop for the graders (trl calls reward functions synchronously)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def close(self) -> None:
        self.runner.close()


def _judge(spec: dict[str, Any]) -> Any:
    """Judge models through the config's profiles (the job's profile is the default one)."""
    from ftui.config import load_config
    from ftui.evaluate.cache import AnswerCache
    from ftui.evaluate.calls import Caller
    from ftui.session import open_provider

    config = load_config(None)
    active = spec.get("profile") or config.default_profile
    if active not in config.profile_names:
        active = config.default_profile
    caller = Caller(lambda name: open_provider(config.profile(name)), concurrency=4, cache=AnswerCache())
    return caller, caller.judge(active, config.profile_names)


def reward_functions(spec: dict[str, Any]) -> tuple[list[Any], list[float] | None, Any]:
    """(trl reward functions, their weights or None, a close() for what they started)."""
    from ftui.graders.base import Context, Grader
    from ftui.graders.formula import linear_weights, parse
    from ftui.graders.kinds import MultiGrader
    from ftui.graders.registry import parse as parse_grader
    from ftui.graders.template import Sample

    raw = spec.get("grader")
    if not isinstance(raw, dict):
        raise FtuiError("reinforcement fine-tuning needs a grader (method.reinforcement.grader)")
    grader = parse_grader(raw, "grader")
    problem = grader.unsupported_here()
    if problem:
        raise FtuiError(problem)
    loop = _Loop()
    caller, judge = _judge(spec) if grader.needs_judge else (None, None)
    ctx = Context(judge=judge)

    parts: list[tuple[str, Grader]] = [(grader.name, grader)]
    weights: list[float] | None = None
    if isinstance(grader, MultiGrader):
        linear = linear_weights(parse(grader.calculate_output, set(grader.graders)))
        if linear is not None and set(linear) == set(grader.graders):
            parts = list(grader.graders.items())
            weights = [linear[name] for name, _ in parts]

    def make(name: str, g: Grader) -> Any:
        async def grade_all(outputs: list[str], items: list[dict[str, Any]]) -> list[Any]:
            pairs = zip(outputs, items, strict=True)
            return list(await asyncio.gather(*(g.grade(Sample(o), i, ctx) for o, i in pairs)))

        def reward(prompts: Any, completions: Any, ftui_item: list[str], **kwargs: Any) -> list[float]:
            outputs = [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]
            items = [json.loads(s) for s in ftui_item]
            grades = loop.run(grade_all(outputs, items))
            log = kwargs.get("log_metric")
            if log is not None:
                log(f"errors/{safe}", sum(1.0 for x in grades if x.failed) / max(1, len(grades)))
                subs = sorted({k for x in grades for k in x.sub_scores})
                for sub in subs:  # a non-linear multi: its parts are still worth watching
                    values = [x.sub_scores[sub] for x in grades if sub in x.sub_scores]
                    log(f"rewards/{sub}/mean", sum(values) / max(1, len(values)))
            return [float(x.score) for x in grades]

        safe = re.sub(r"\W+", "_", name).strip("_") or "grader"
        reward.__name__ = safe
        return reward

    funcs = [make(name, g) for name, g in parts]

    def close() -> None:
        loop.run(grader.aclose())
        if caller is not None:
            loop.run(caller.aclose())
        loop.close()

    return funcs, weights, close


def build_trainer(
    common: dict[str, Any],
    model: Any,
    tokenizer: Any,
    train_rows: list[dict[str, Any]],
    valid_rows: list[dict[str, Any]] | None,
    resolved: Any,
    spec: dict[str, Any],
    peft_config: Any,
    callback: Any,
) -> Any:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    hp = spec.get("hyperparameters") or {}
    rl = settings(hp, resolved)
    funcs, weights, close = reward_functions(spec)
    args = dict(common)
    args.update(
        per_device_train_batch_size=resolved.batch_size * rl["num_generations"],
        per_device_eval_batch_size=resolved.batch_size * rl["num_generations_eval"],
        learning_rate=rl["learning_rate"],
        num_generations=rl["num_generations"],
        num_generations_eval=rl["num_generations_eval"],
        max_completion_length=rl["max_completion_length"],
        temperature=rl["temperature"],
        beta=rl["beta"],
        reward_weights=weights,
        remove_unused_columns=False,
        log_completions=False,
    )
    if rl["reasoning_effort"] is not None:
        args["chat_template_kwargs"] = {"reasoning_effort": rl["reasoning_effort"]}
    if valid_rows and rl["eval_interval"] is not None:
        args["eval_steps"] = rl["eval_interval"]
    trainer: Any = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=GRPOConfig(**args),
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(valid_rows) if valid_rows else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[callback],
    )
    trainer._ftui_close = close  # train.py calls it when training ends, however it ends
    return trainer
