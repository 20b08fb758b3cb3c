"""`ftui serve` refuses hyperparameters the worker would refuse, with the parameter named, before any
job exists; JSON's 1e400 (which parses to infinity) included."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from support.serve_harness import serve, write_chat_examples

WHERE = "method.supervised.hyperparameters"


@pytest.mark.parametrize(
    ("hyperparameters", "param", "says"),
    [
        ('{"learning_rate_multiplier": 1e400}', f"{WHERE}.learning_rate_multiplier", "finite"),
        ('{"learning_rate_multiplier": -1e400}', f"{WHERE}.learning_rate_multiplier", "finite"),
        ('{"learning_rate_multiplier": 1e300}', f"{WHERE}.learning_rate_multiplier", "at most 1000"),
        ('{"n_epochs": 1e400}', f"{WHERE}.n_epochs", "finite"),
        ('{"batch_size": 2.5}', f"{WHERE}.batch_size", "whole number"),
        ('{"lora_r": 0}', f"{WHERE}.lora_r", "at least 1"),
        ('{"lora_alpha": 1e400}', f"{WHERE}.lora_alpha", "finite"),
        ('{"batching": "sideways"}', f"{WHERE}.batching", "one of"),
        ('{"n_epoch": 3}', f"{WHERE}.n_epoch", "did you mean 'n_epochs'"),
        ('{"beta": 0.1}', f"{WHERE}.beta", "not a supervised hyperparameter"),
        ('{"lora_r": {"nested": 1}}', f"{WHERE}.lora_r", "whole number"),
    ],
)
def test_bad_hyperparameters_are_a_400_naming_the_parameter_and_make_no_job(
    local_provider, tmp_path: Path, hyperparameters: str, param: str, says: str
) -> None:
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=write_chat_examples(tmp_path / "t.jsonl"), purpose="fine-tune")
        body = (
            f'{{"model": "tiny-llama", "training_file": "{f.id}", '
            f'"method": {{"type": "supervised", "supervised": {{"hyperparameters": {hyperparameters}}}}}}}'
        )
        r = httpx2.post(
            s.url + "/fine_tuning/jobs",
            content=body,
            headers={"authorization": "Bearer test-key", "content-type": "application/json"},
        )
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["param"] == param and error["code"] == "invalid_value"
        assert says in error["message"]
        assert client.fine_tuning.jobs.list().data == []


def test_dpo_beta_out_of_range_is_refused(local_provider, tmp_path: Path) -> None:
    with serve(local_provider) as s:
        client = s.client()
        body = {
            "model": "tiny-llama",
            "training_file": "file-x",
            "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 3}}},
        }
        r = httpx2.post(s.url + "/fine_tuning/jobs", json=body, headers={"authorization": "Bearer test-key"})
        assert r.status_code == 400
        assert r.json()["error"]["param"] == "method.dpo.hyperparameters.beta"
        assert client.fine_tuning.jobs.list().data == []


@pytest.mark.parametrize("field", ["temperature", "top_p", "max_tokens", "seed"])
def test_chat_parameters_that_parse_to_infinity_are_a_400(local_provider, field: str) -> None:
    with serve(local_provider) as s:
        body = (
            f'{{"model": "tiny-llama", "messages": [{{"role": "user", "content": "hi"}}], "{field}": 1e400}}'
        )
        r = httpx2.post(
            s.url + "/chat/completions",
            content=body,
            headers={"authorization": "Bearer test-key", "content-type": "application/json"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == field
