"""AzureOpenAIProvider's data plane with the real openai SDK against a loopback server speaking
Azure's shapes, on both route forms and both kinds of auth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.azure_server import NOT_TRAINABLE, AzureServer, FakeCredential

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import JobSpec
from ftui.uploads import upload_once

BASE = "gpt-4.1-mini-2025-04-14"


def chat_file(path: Path, n: int = 12, bom: bool = False) -> Path:
    rows = [
        json.dumps(
            {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "Arr"}]}
        )
        for i in range(n)
    ]
    path.write_bytes(("\ufeff" if bom else "").encode() + "\n".join(rows).encode() + b"\n")
    return path


def creates(az: AzureServer) -> list[dict]:
    return [s.body for s in az.requests(r"/fine_tuning/jobs$", "POST")]


async def test_v1_upload_waits_for_processed_and_every_job_carries_training_type(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    provider = make_aoai()
    az.processing_delay = 0.3
    up = await upload_once(provider, chat_file(tmp_path / "train.jsonl", bom=True))
    assert up.file.status == "processed"
    assert len(az.requests(r"/files/file-", "GET")) >= 1  # it polled while Azure said `pending`

    job = await provider.create_job(JobSpec(base_model=BASE, training_file=up.file.id))
    assert creates(az)[-1]["trainingType"] == "Standard"  # the visible default, always sent
    assert (job.status, job.status_detail) == ("queued", "pending")
    assert job.raw["organization_id"] is None and job.result_files == [] and job.estimated_finish is None

    job = await provider.create_job(
        JobSpec(base_model=BASE, training_file=up.file.id, options={"training_type": "developer"})
    )
    assert creates(az)[-1]["trainingType"] == "Developer"

    # v1 routes only, through plain OpenAI: a key goes out as a bearer token
    data_plane = [s for s in az.seen if s.path.startswith("/openai")]
    assert all(s.path.startswith("/openai/v1/") and "api-version" not in s.query for s in data_plane)
    assert {s.auth for s in data_plane} == {"bearer"}


async def test_a_local_dataset_given_to_create_job_is_uploaded_once_and_waited_on(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    provider = make_aoai()
    data = chat_file(tmp_path / "train.jsonl")
    await provider.create_job(JobSpec(base_model=BASE, training_file=str(data)))
    await provider.create_job(JobSpec(base_model=BASE, training_file=str(data)))
    assert len(az.requests(r"/files$", "POST")) == 1
    assert len(creates(az)) == 2


async def test_job_options_show_the_training_type_default_and_refuse_bad_values(make_aoai) -> None:
    provider = make_aoai(training_type="global")
    (option,) = provider.job_options()
    assert (option.key, option.default) == ("training_type", "GlobalStandard")
    assert option.choices == ["Standard", "GlobalStandard", "Developer"] and "any region" in option.help
    with pytest.raises(ProviderError, match=r"training_type.*not one of"):
        await provider.create_job(
            JobSpec(base_model=BASE, training_file="file-x", options={"training_type": "cheap"})
        )
    with pytest.raises(ProviderError, match="no such option"):
        await provider.create_job(JobSpec(base_model=BASE, training_file="file-x", options={"tier": "x"}))


async def test_reinforcement_without_validation_data_or_grader_is_refused_before_any_call(
    az: AzureServer, make_aoai
) -> None:
    provider = make_aoai()
    with pytest.raises(ProviderError, match="validation file and a grader"):
        await provider.create_job(
            JobSpec(base_model="o4-mini-2025-04-16", training_file="file-x", method="reinforcement")
        )
    assert not az.seen


async def test_azure_statuses_map_into_the_common_model_and_keep_their_own_words(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    provider = make_aoai()
    up = await upload_once(provider, chat_file(tmp_path / "t.jsonl"))
    job = await provider.create_job(JobSpec(base_model=BASE, training_file=up.file.id))
    job = await provider.job(job.id)  # pending -> running
    assert job.status == "running" and job.estimated_finish is not None

    job = await provider.pause(job.id)
    assert (job.status, job.status_detail) == ("paused", "pausing")
    job = await provider.job(job.id)
    assert (job.status, job.status_detail) == ("paused", None)
    job = await provider.resume(job.id)
    assert (job.status, job.status_detail) == ("running", "resuming")
    assert (await provider.job(job.id)).status == "running"

    job = await provider.cancel(job.id)
    assert (job.status, job.status_detail) == ("cancelled", "canceled") and job.done

    az.jobs[job.id]["status"] = "someNewState"
    az.jobs[job.id]["finished_at"] = None
    job = await provider.job(job.id)
    assert (job.status, job.status_detail) == ("running", "someNewState")  # unknown: shown as it is


async def test_a_finished_job_gives_events_checkpoints_and_metrics_from_results_csv(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    provider = make_aoai()
    up = await upload_once(provider, chat_file(tmp_path / "t.jsonl"))
    job = await provider.create_job(JobSpec(base_model=BASE, training_file=up.file.id))
    cursor = None
    seen = []
    while not job.done:
        page = await provider.events(job.id, cursor)
        seen += page.items
        cursor = page.next_cursor
        job = await provider.job(job.id)
    page = await provider.events(job.id, cursor)
    seen += page.items
    assert job.status == "succeeded" and job.fine_tuned_model.startswith(f"{BASE}.ft-")
    messages = [e.message for e in seen if e.type == "message"]
    assert messages[0].startswith("Job enqueued") and messages[-1] == "Training job succeeded."
    points = [e.metrics for e in seen if e.metrics]
    assert [p.step for p in points] == [1, 2, 3]
    assert points[1].valid_mean_token_accuracy == 0.58 and points[0].valid_loss is None
    assert points[2].full_valid_loss == 0.74
    assert len({e.id for e in seen}) == len(seen)
    assert (await provider.events(job.id, page.next_cursor)).items == []  # nothing twice

    csv = (await provider.result_csv(job.id)).decode()
    assert csv.startswith("step,train_loss") and "0.61" in csv

    checkpoints = await provider.checkpoints(job.id)
    assert {c.fine_tuned_model_checkpoint.split(":")[0] for c in checkpoints} == {job.fine_tuned_model}
    assert all(c.id.startswith("ftchkpt-") for c in checkpoints)

    assert [m.id for m in await provider.fine_tuned_models()] == [job.fine_tuned_model]
    bases = [m.id for m in await provider.base_models()]
    assert BASE in bases and "text-embedding-3-small" not in bases and job.fine_tuned_model not in bases


async def test_dated_api_version_goes_through_azure_openai_with_the_api_key_header(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    # A pasted v1 URL must not put AzureOpenAI on /openai/v1/ (it would misroute chat).
    provider = make_aoai(endpoint=az.url + "/openai/v1/", api_version="2025-04-01-preview")
    up = await upload_once(provider, chat_file(tmp_path / "t.jsonl"))
    job = await provider.create_job(JobSpec(base_model=BASE, training_file=up.file.id))
    assert (await provider.job(job.id)).status == "running"
    data_plane = [s for s in az.seen if s.path.startswith("/openai")]
    assert data_plane and all(not s.path.startswith("/openai/v1") for s in data_plane)
    assert {s.query.get("api-version") for s in data_plane} == {"2025-04-01-preview"}
    assert {s.auth for s in data_plane} == {"api-key"}
    assert creates(az)[-1]["trainingType"] == "Standard"


@pytest.mark.parametrize("api_version", [None, "2024-10-21"])
async def test_entra_id_sends_a_bearer_token_from_the_credential_with_the_cognitive_scope(
    az: AzureServer, make_aoai, monkeypatch: pytest.MonkeyPatch, api_version: str | None
) -> None:
    credential = FakeCredential(token=az.token)
    provider = make_aoai(auth="entra", api_version=api_version, credential=credential)
    monkeypatch.delenv("FTUI_TEST_AZURE_KEY")  # no key anywhere: the token is all there is
    assert BASE in [m.id for m in await provider.base_models()]
    seen = [s for s in az.seen if s.path.startswith("/openai")]
    assert {(s.auth, s.credential) for s in seen} == {("bearer", az.token)}
    assert set(credential.scopes) == {"https://cognitiveservices.azure.com/.default"}


async def test_a_missing_key_names_the_variable_and_entra_as_the_alternative(
    make_aoai, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_aoai()
    monkeypatch.delenv("FTUI_TEST_AZURE_KEY")
    with pytest.raises(FtuiError, match=r"FTUI_TEST_AZURE_KEY.*keyring.*entra"):
        await provider.base_models()


async def test_a_rejected_key_is_advice_that_never_shows_the_key(
    az: AzureServer, make_aoai, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_aoai()
    monkeypatch.setenv("FTUI_TEST_AZURE_KEY", "wrong-key-abcdef")
    with pytest.raises(ProviderError) as err:
        await provider.base_models()
    assert err.value.status == 401 and "Keys and Endpoint" in str(err.value)
    assert "wrong-key-abcdef" not in str(err.value) and az.key not in str(err.value)


async def test_a_missing_role_is_advice_naming_the_role(az: AzureServer, make_aoai) -> None:
    provider = make_aoai(auth="entra")
    az.forbidden = True
    with pytest.raises(ProviderError) as err:
        await provider.jobs()
    assert err.value.status == 403 and "Principal does not have access" in str(err.value)
    assert "Cognitive Services OpenAI Contributor" in str(err.value)


async def test_base_model_does_not_support_fine_tuning_becomes_advice(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    provider = make_aoai(training_type="Standard")
    up = await upload_once(provider, chat_file(tmp_path / "t.jsonl"))
    with pytest.raises(ProviderError) as err:
        await provider.create_job(JobSpec(base_model="gpt-4.1-mini", training_file=up.file.id))
    text = str(err.value)
    assert NOT_TRAINABLE.rstrip(".") in text and err.value.code == "model_not_trainable"
    for hint in ("with the version", "region", "GlobalStandard", "Cognitive Services OpenAI Contributor"):
        assert hint in text


async def test_a_file_azure_is_still_processing_or_rejected_is_explained(
    az: AzureServer, make_aoai, tmp_path: Path
) -> None:
    provider = make_aoai(file_processing_timeout=0.1)
    az.processing_delay = 60
    with pytest.raises(ProviderError, match=r"still pending on Azure after 0 s.*not repeated") as err:
        await upload_once(provider, chat_file(tmp_path / "slow.jsonl"))
    assert err.value.code == "file_not_ready"

    az.processing_delay = 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(ProviderError, match=r"status error: Invalid file format.*UTF-8 JSONL"):
        await upload_once(provider, bad)


async def test_chat_with_a_model_that_has_no_deployment_says_to_deploy(make_aoai) -> None:
    from ftui.model import ChatMessage

    provider = make_aoai()
    with pytest.raises(NotFound, match=r"only through a deployment"):
        async for _ in provider.chat("nope", [ChatMessage(role="user", content="hi")]):
            pass


def test_settings_trim_pasted_endpoints_and_refuse_deployment_urls() -> None:
    from ftui_azure.settings import AzureSettings
    from pydantic import ValidationError

    assert (
        AzureSettings(endpoint="https://r.openai.azure.com/openai/v1/").endpoint
        == "https://r.openai.azure.com"
    )
    assert AzureSettings(endpoint="https://r.openai.azure.com/openai", api_version="v1").v1
    with pytest.raises(ValidationError, match="without /openai/deployments"):
        AzureSettings(endpoint="https://r.openai.azure.com/openai/deployments/x")
    with pytest.raises(ValidationError, match="not one of Standard, GlobalStandard, Developer"):
        AzureSettings(endpoint="https://r.openai.azure.com", training_type="premium")
    assert AzureSettings(endpoint="https://r", training_type="developerTier").training_type == "Developer"
