"""Every hyperparameter's allowed values, in one table.

The common model (`ftui.model.Hyperparameters`), `ftui jobs create`, `ftui serve` and the TUI's job
form all check values against these bounds, so a value the trainer would refuse (or one that would
train a broken model: an infinite learning rate) is refused before a job exists, with the same
message everywhere. Numbers must be finite: JSON's `1e400` parses to infinity and is refused too.

`BY_METHOD` holds OpenAI's names, per method (bounds from OpenAI's OpenAPI spec where it gives
them). Knobs only one backend has (the local trainer's `lora_r`, ...) are declared by the provider
as `Provider.extra_hyperparameters`, with the same `Bound`; `check` refuses a name that neither
table knows, so a misspelt name is an error instead of a setting silently ignored. Reading a job
back from a backend is lenient instead (`Hyperparameters.lenient`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from ftui.errors import FtuiError


class _Settings(Protocol):
    """What `check` reads of ftui.model.Hyperparameters (which imports this module, not back)."""

    beta: Any
    extra: dict[str, Any]

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self: ...


H = TypeVar("H", bound=_Settings)


class HyperparameterError(FtuiError, ValueError):
    """A refused hyperparameter; `name` is its key (`lora_r`, `n_epochs`). A ValueError too, so a
    pydantic validator that raises it gives a ValidationError carrying it (`ctx["error"]`)."""

    exit_code = 2

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"hyperparameter {name}: {message}")
        self.name, self.reason = name, message


@dataclass(frozen=True)
class Bound:
    kind: type  # int, float, bool or str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low end itself is not allowed
    high_open: bool = False
    choices: tuple[str, ...] = ()  # for str
    auto: bool = True  # "auto" lets the trainer choose

    def describe(self) -> str:
        if self.kind is bool:
            what = "true or false"
        elif self.kind is str:
            what = "one of " + ", ".join(self.choices) if self.choices else "a text of up to 1000 characters"
        else:
            what = "a whole number" if self.kind is int else "a finite number"
            lo = None if self.low is None else f"{'above' if self.low_open else 'at least'} {self.low:g}"
            hi = None if self.high is None else f"{'below' if self.high_open else 'at most'} {self.high:g}"
            if lo or hi:
                what += " " + " and ".join(p for p in (lo, hi) if p)
        return what + (', or "auto"' if self.auto and self.kind is not str else "")

    def check(self, name: str, value: Any) -> Any:
        """`value` as the trainer takes it (3.0 -> 3 for a whole number), or HyperparameterError."""
        if value == "auto" and (self.auto or "auto" in self.choices):
            return "auto"
        shown = _shown(value)
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            raise HyperparameterError(name, f"expected {self.describe()}, got {shown}")
        if self.kind is str:
            if isinstance(value, str) and (
                value in self.choices or (not self.choices and len(value) <= 1000)
            ):
                return value
            raise HyperparameterError(name, f"expected {self.describe()}, got {shown}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise HyperparameterError(name, f"expected {self.describe()}, got {shown}")
        if not math.isfinite(value):
            raise HyperparameterError(name, f"must be a finite number, got {shown}")
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise HyperparameterError(name, f"expected {self.describe()}, got {shown}")
            value = int(value)
        else:
            value = float(value)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            raise HyperparameterError(name, f"expected {self.describe()}, got {shown}")
        return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


EPOCHS = Bound(int, 1, 50)
BATCH_SIZE = Bound(int, 1, 256)
# OpenAI's spec bounds it only from below. Tiny test models want up to a few hundred; past 1000 no
# model trains, and 1e300 trained one of NaNs. Between, a run that diverges is failed by the trainer.
LR_MULTIPLIER = Bound(float, 0, 1000, low_open=True)
BETA = Bound(float, 0, 2, low_open=True)

COMMON: dict[str, Bound] = {
    "n_epochs": EPOCHS,
    "batch_size": BATCH_SIZE,
    "learning_rate_multiplier": LR_MULTIPLIER,
}
BY_METHOD: dict[str, dict[str, Bound]] = {
    "supervised": dict(COMMON),
    "dpo": {**COMMON, "beta": BETA},
    "reinforcement": {
        **COMMON,
        "compute_multiplier": Bound(float, 0.00001, 10, low_open=True),
        "eval_interval": Bound(int, 1, 1_000_000),
        "eval_samples": Bound(int, 1, 1_000_000),
        "reasoning_effort": Bound(str, choices=("default", "low", "medium", "high")),
        # GRPO's KL coefficient (an extra knob here: dpo's beta is a field of its own).
        "beta": Bound(float, 0, 10, auto=False),
    },
}


def fields_of(method: str) -> frozenset[str]:
    """The names that are fields of `ftui.model.Hyperparameters` for `method`; every other name
    goes to `extra`."""
    return frozenset(
        {"n_epochs", "batch_size", "learning_rate_multiplier"} | ({"beta"} if method == "dpo" else set())
    )


def finite(value: Any, name: str = "value") -> Any:
    """`value`, refused (HyperparameterError) if it holds a non-finite number anywhere inside."""
    if isinstance(value, float) and not math.isfinite(value):
        raise HyperparameterError(name, f"must be a finite number, got {value!r}")
    if isinstance(value, Mapping):
        for k, v in value.items():
            finite(v, f"{name}.{k}" if name != "value" else str(k))
    elif isinstance(value, list | tuple):
        for n, v in enumerate(value):
            finite(v, f"{name}[{n}]")
    return value


def refused(exc: Exception) -> HyperparameterError | None:
    """The HyperparameterError inside a pydantic ValidationError, if that is what it is."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return None
    for err in errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, HyperparameterError):
            return inner
    return None


def known_names(method: str, extras: Mapping[str, Bound]) -> dict[str, Bound]:
    return {**BY_METHOD.get(method, COMMON), **extras}


def check_value(name: str, value: Any, method: str, extras: Mapping[str, Bound]) -> Any:
    """One hyperparameter by name, as a request or a command line gives it."""
    known = known_names(method, extras)
    bound = known.get(name)
    if bound is None:
        raise HyperparameterError(name, unknown_message(name, method, known))
    return bound.check(name, value)


def unknown_message(name: str, method: str, known: Mapping[str, Bound]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"not a {method} hyperparameter here{hint} Known: {', '.join(sorted(known))}"


def check(hp: H, method: str, extras: Mapping[str, Bound]) -> H:
    """The whole set for one job on one provider: named fields in range for `method`, every extra
    knob known (to the method or the provider) and in range. Returns it with values normalized."""
    fields = fields_of(method)
    if hp.beta is not None and "beta" not in fields:
        raise HyperparameterError("beta", f"only dpo jobs take beta as a field, not {method} jobs")
    extra: dict[str, Any] = {}
    for name, value in hp.extra.items():
        if name in fields:
            raise HyperparameterError(name, f"set it as {name}, not as an extra knob")
        extra[name] = check_value(name, value, method, extras)
    return hp.model_copy(update={"extra": extra})
