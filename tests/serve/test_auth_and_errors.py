"""Auth, the error envelope, early rejections, and the too-few-examples failure OpenAI gives."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import openai
import pytest
from support.serve_harness import serve, write_chat_examples

from ftui.errors import ProviderError, UsageError
from ftui.serve.server import check_exposure


def test_requests_without_the_right_bearer_key_get_401_that_never_echoes_the_key(local_provider) -> None:
    with serve(local_provider, api_key="sekrit-key") as s:
        plain = httpx2.get(s.url + "/models")
        assert plain.status_code == 401 and plain.headers["x-request-id"].startswith("req_")
        assert plain.json()["error"]["code"] == "missing_api_key"
        wrong = s.client().with_options(api_key="sk-wrong-and-secret")
        with pytest.raises(openai.AuthenticationError) as err:
            wrong.models.list()
        assert "sk-wrong-and-secret" not in str(err.value.body)
        assert err.value.code == "invalid_api_key"
        assert s.client().models.list().data  # the right key works


def test_binding_beyond_loopback_without_a_key_is_refused() -> None:
    with pytest.raises(UsageError, match="API key"):
        check_exposure("0.0.0.0", None)
    check_exposure("0.0.0.0", "k")
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)


def test_unknown_ids_get_openai_404s_with_request_ids(local_provider) -> None:
    with serve(local_provider) as s:
        client = s.client()
        with pytest.raises(openai.NotFoundError) as err:
            client.fine_tuning.jobs.retrieve("ftjob-nope")
        assert err.value.request_id and err.value.request_id.startswith("req_")
        with pytest.raises(openai.NotFoundError) as err:
            client.models.retrieve("ft:tiny-llama:local::nope1234")
        assert err.value.code == "model_not_found"
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )
        missing = httpx2.get(s.url + "/no/such/route", headers={"authorization": "Bearer test-key"})
        assert missing.status_code == 404 and "Invalid URL" in missing.json()["error"]["message"]


def test_create_with_missing_or_wrong_file_is_rejected_early(local_provider, tmp_path: Path) -> None:
    with serve(local_provider) as s:
        client = s.client()
        with pytest.raises(openai.BadRequestError) as err:
            client.fine_tuning.jobs.create(model="tiny-llama", training_file="file-missing")
        assert err.value.param == "training_file"
        with pytest.raises(openai.BadRequestError) as err:
            client.post("/fine_tuning/jobs", body={"training_file": "file-x"}, cast_to=object)
        assert err.value.code == "missing_required_parameter" and err.value.param == "model"
        f = client.files.create(file=write_chat_examples(tmp_path / "t.jsonl"), purpose="fine-tune")
        with pytest.raises(openai.BadRequestError) as err:
            client.fine_tuning.jobs.create(
                model="tiny-llama", training_file=f.id, hyperparameters={"n_epochs": 0}
            )
        assert err.value.param == "method.supervised.hyperparameters.n_epochs"


def test_too_few_examples_fails_the_job_the_way_openai_does(local_provider, tmp_path: Path) -> None:
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=write_chat_examples(tmp_path / "t.jsonl", n=7), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="tiny-llama", training_file=f.id)
        assert job.status == "failed" and job.id.startswith("ftjob-")
        assert job.error.code == "invalid_n_examples" and job.error.param == "training_file"
        assert job.error.message == "Training file has 7 example(s), but must have at least 10 examples"
        assert client.fine_tuning.jobs.retrieve(job.id).status == "failed"
        assert [j.id for j in client.fine_tuning.jobs.list()] == [job.id]
        events = client.fine_tuning.jobs.list_events(job.id).data
        assert events[0].level == "error" and "7 example(s)" in events[0].message
        assert events[-1].message == f"Created fine-tuning job: {job.id}"
        with pytest.raises(openai.BadRequestError):
            client.fine_tuning.jobs.cancel(job.id)
    with serve(local_provider) as s:  # kept across a restart
        assert s.client().fine_tuning.jobs.retrieve(job.id).error.code == "invalid_n_examples"


def test_provider_refusal_to_train_is_a_403_training_not_available(local_provider, tmp_path: Path) -> None:
    async def refuse(spec):  # the wind-down answer OpenAI gives closed organisations
        raise ProviderError(
            "OpenAI is winding down the fine-tuning platform and your organization is "
            "no longer able to create new fine-tuning training jobs.",
            code="training_not_available",
            status=403,
        )

    local_provider.create_job = refuse
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=write_chat_examples(tmp_path / "t.jsonl"), purpose="fine-tune")
        with pytest.raises(openai.PermissionDeniedError) as err:
            client.fine_tuning.jobs.create(model="tiny-llama", training_file=f.id)
        assert err.value.code == "training_not_available"


def test_training_file_the_validator_rejects_gives_a_failed_job_naming_the_problem(
    local_provider, tmp_path: Path
) -> None:
    bad = tmp_path / "no_assistant.jsonl"
    lines = [json.dumps({"messages": [{"role": "user", "content": f"hi {i}"}]}) for i in range(12)]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=bad, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="tiny-llama", training_file=f.id)
        assert job.status == "failed" and job.error.code == "invalid_training_file"
        assert job.error.param == "training_file" and "line 1" in job.error.message


def test_a_training_file_with_a_5_mb_line_fails_its_job_without_tokenizing_it_all(
    local_provider, tmp_path: Path
) -> None:
    from ftui_local.hf_tokenizer import WINDOW_CHARS

    counter = local_provider.tokenizer("tiny-llama")
    seen: list[int] = []
    tokenize = counter._tok.__class__.__call__

    class Recording(counter._tok.__class__):  # the real tokenizer, noting each text's length
        def __call__(self, text, **kwargs):
            seen.append(len(text))
            return tokenize(self, text, **kwargs)

    counter._tok.__class__ = Recording
    reply = {"role": "assistant", "content": "yo"}
    lines = [json.dumps({"messages": [{"role": "user", "content": f"hi {i}"}, reply]}) for i in range(11)]
    lines.append(json.dumps({"messages": [{"role": "user", "content": "x " * 2_500_000}, reply]}))
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with serve(local_provider) as s:
        client = s.client()
        f = client.files.create(file=big, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="tiny-llama", training_file=f.id)
    assert job.status == "failed" and job.error.code == "invalid_training_file"
    assert "line 12: example_too_long: at least" in job.error.message
    assert seen and max(seen) <= WINDOW_CHARS
