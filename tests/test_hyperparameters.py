"""One table of hyperparameter bounds, enforced by the common model, the CLI, the API and the form."""

from __future__ import annotations

import json
import math

import pytest
from ftui_local.train_hparams import EXTRA
from pydantic import ValidationError

from ftui.hyperparameters import BY_METHOD, HyperparameterError, check, check_value, refused
from ftui.model import Hyperparameters, JobSpec

NON_FINITE = [math.inf, -math.inf, math.nan, json.loads("1e400")]


@pytest.mark.parametrize("name", ["n_epochs", "batch_size", "learning_rate_multiplier", "beta"])
@pytest.mark.parametrize("value", [*NON_FINITE, 1e300, 0, -1, True, "three", [3]])
def test_the_common_model_refuses_every_out_of_range_or_non_finite_value(name: str, value: object) -> None:
    with pytest.raises(ValidationError) as err:
        Hyperparameters(**{name: value})
    inner = refused(err.value)
    assert inner is not None and inner.name == name


def test_the_common_model_keeps_what_is_in_range_and_auto() -> None:
    hp = Hyperparameters(n_epochs=3.0, batch_size=256, learning_rate_multiplier=10, beta=2)
    assert (hp.n_epochs, hp.batch_size, hp.learning_rate_multiplier, hp.beta) == (3, 256, 10.0, 2.0)
    assert Hyperparameters().n_epochs == "auto"
    with pytest.raises(ValidationError):
        Hyperparameters(n_epochs=2.5)


@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_numbers_are_refused_anywhere_in_extra(value: float) -> None:
    with pytest.raises(ValidationError):
        Hyperparameters(extra={"lora_alpha": value})
    with pytest.raises(ValidationError):
        JobSpec(base_model="m", training_file="f", hyperparameters={"extra": {"deep": {"x": [value]}}})


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("lora_r", 0, "at least 1"),
        ("lora_r", 4.5, "whole number"),
        ("lora_dropout", 1.0, "below 1"),
        ("batching", "sideways", "one of auto, padded"),
        ("max_length", 4, "at least 8"),
        ("bf16", "yes", "true or false"),
        ("lora_rr", 8, "did you mean 'lora_r'"),
        ("n_epoch", 3, "did you mean 'n_epochs'"),
    ],
)
def test_knobs_the_worker_would_refuse_are_refused_with_what_is_allowed(name, value, says) -> None:
    with pytest.raises(HyperparameterError, match=says) as err:
        check_value(name, value, "supervised", EXTRA)
    assert err.value.name == name


def test_beta_belongs_to_dpo_and_extras_cannot_shadow_named_fields() -> None:
    with pytest.raises(HyperparameterError, match="only dpo"):
        check(Hyperparameters(beta=0.5), "supervised", EXTRA)
    assert check(Hyperparameters(beta=0.5), "dpo", EXTRA).beta == 0.5
    with pytest.raises(HyperparameterError, match="set it as n_epochs"):
        check(Hyperparameters(extra={"n_epochs": 3}), "supervised", EXTRA)
    assert check(Hyperparameters(extra={"lora_r": 8.0}), "supervised", EXTRA).extra == {"lora_r": 8}


def test_reinforcement_knobs_are_in_the_same_table() -> None:
    assert check_value("reasoning_effort", "high", "reinforcement", {}) == "high"
    with pytest.raises(HyperparameterError):
        check_value("compute_multiplier", 11, "reinforcement", {})
    assert set(BY_METHOD) == {"supervised", "dpo", "reinforcement"}


def test_a_job_stored_before_the_bounds_still_reads_back_without_its_bad_values() -> None:
    hp = Hyperparameters.lenient(
        {"n_epochs": 3, "learning_rate_multiplier": math.inf}, {"lora_r": 4, "x": math.nan}
    )
    assert hp.n_epochs == 3 and hp.learning_rate_multiplier == "auto" and hp.extra == {"lora_r": 4}


def test_reinforcement_takes_grpo_knobs_as_extras_and_its_own_beta() -> None:
    hp = Hyperparameters(extra={"beta": 0.04, "lora_modules_to_save": "lm_head", "max_completion_length": 16})
    assert check(hp, "reinforcement", EXTRA).extra["beta"] == 0.04
    with pytest.raises(HyperparameterError, match="set it as beta"):
        check(Hyperparameters(extra={"beta": 0.1}), "dpo", EXTRA)
    with pytest.raises(HyperparameterError, match="only dpo jobs take beta as a field"):
        check(Hyperparameters(beta=0.1), "reinforcement", EXTRA)
