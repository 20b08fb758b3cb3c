"""AzureMLProvider: the real azure-ai-ml MLClient against a loopback Azure ML endpoint
(AZUREML_DEV_URL_MFE) for job create, get and cancel; MLflow metrics over REST against the same
server; an adapter-level fake for what has no loopback here (storage, registries, endpoints)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.azure_server import AzureServer, FakeCredential
from support.azureml_fake import FakeAzureML
from support.azureml_server import AzureMLServer
from support.eventually import eventually

from ftui.errors import NotFound, ProviderError
from ftui.model import ChatMessage, DeploySpec, Hyperparameters, JobSpec
from ftui.provider import collect

PHI = "azureml://registries/azureml/models/Phi-4-mini-instruct/versions/3"


@pytest.fixture
def aml(monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureMLServer]:
    with AzureMLServer() as server:
        monkeypatch.setenv("AZUREML_DEV_URL_MFE", server.url)
        yield server


def settings(**values):
    from ftui_azure.settings import AzureMLSettings

    return AzureMLSettings(subscription_id="sub-1", resource_group="rg-1", workspace="ws-1", **values)


def provider(backend, **values):
    from ftui_azure.azureml import AzureMLProvider

    return AzureMLProvider(settings(**values), profile="aml", backend=backend)


def dataset(path: Path, n: int = 20) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_sdk_adapter_creates_reads_and_cancels_jobs_through_mlclient(aml: AzureMLServer) -> None:
    from ftui_azure.azureml_backend import SdkBackend

    backend = SdkBackend(
        settings(instance_type="Standard_NC24ads_A100_v4", instance_count=2), FakeCredential()
    )
    job = backend.submit(
        name="ftui-abc",
        model_id=PHI,
        training="azureml:ftui-t:1",
        validation="azureml:ftui-v:1",
        hyperparameters={"num_train_epochs": "1"},
        output_name="phi-ftui",
        tags={"ftui": "1"},
    )
    assert job["status"] == "NotStarted" and job["output_model"] == "phi-ftui"
    method, path, body = aml.seen[0]
    assert method == "PUT" and path.endswith("/workspaces/ws-1/jobs/ftui-abc")
    details = body["properties"]["fineTuningDetails"]
    assert details["taskType"] == "chatCompletion" and details["model"]["uri"] == PHI
    assert details["validationData"]["uri"].endswith("/data/ftui-v/versions/1")  # always passed
    assert body["properties"]["resources"]["instanceTypes"] == ["Standard_NC24ads_A100_v4"] * 2
    words = [backend.job("ftui-abc")["status"] for _ in range(2)]
    assert words[0] != "NotStarted" and aml.script.index(words[0]) < aml.script.index(words[1])
    aml.jobs["ftui-abc"]["properties"]["status"] = "Running"
    backend.cancel("ftui-abc")
    assert any(m == "POST" and p.endswith("/jobs/ftui-abc/cancel") for m, p, _ in aml.seen)
    assert backend.job("ftui-abc")["status"] == "Canceled"
    assert [j["name"] for j in backend.jobs()] == ["ftui-abc"]


def test_serverless_by_default_sends_no_compute(aml: AzureMLServer) -> None:
    from ftui_azure.azureml_backend import SdkBackend

    SdkBackend(settings(), FakeCredential()).submit(
        name="ftui-s",
        model_id=PHI,
        training="azureml:t:1",
        validation="azureml:v:1",
        hyperparameters={},
        output_name="o",
        tags={},
    )
    props = aml.seen[0][2]["properties"]
    assert not props.get("computeId") and not (props.get("resources") or {}).get("instanceTypes")


def test_metrics_come_from_the_workspaces_mlflow_tracking_child_runs(aml: AzureMLServer) -> None:
    from ftui_azure.mlflow_rest import metric_histories, tracking_url

    aml.runs = {
        "ftui-abc": {"parent": None, "metrics": {}},
        "child-1": {"parent": "ftui-abc", "metrics": {"loss": [(1, 2.0), (2, 1.5)], "eval_loss": [(2, 1.7)]}},
    }
    assert (
        tracking_url("azureml://eastus.api.azureml.ms/mlflow/v1.0/x")
        == "https://eastus.api.azureml.ms/mlflow/v1.0/x"
    )
    histories = metric_histories(aml.url, "ftui-abc", aml.token)
    assert histories == {"loss": [(1, 2.0), (2, 1.5)], "eval_loss": [(2, 1.7)]}


async def test_a_job_without_validation_data_gets_ftuis_split_and_says_so(tmp_path: Path) -> None:
    fake = FakeAzureML()
    p = provider(fake, validation_fraction=0.25)
    job = await p.create_job(
        JobSpec(
            base_model="Phi-4-mini-instruct",
            training_file=str(dataset(tmp_path / "train.jsonl")),
            seed=7,
            hyperparameters=Hyperparameters(n_epochs=2, batch_size=4, extra={"learning_rate": 2e-5}),
        )
    )
    sent = fake.submitted[-1]
    train, valid = fake.uploads[sent["training"]], fake.uploads[sent["validation"]]
    assert (train.count(b"\n"), valid.count(b"\n")) == (15, 5)
    assert sent["hyperparameters"] == {
        "num_train_epochs": "2",
        "per_device_train_batch_size": "4",
        "learning_rate": "2e-05",
    }
    assert sent["model_id"].startswith("azureml://registries/azureml/models/Phi-4-mini-instruct/")
    assert (job.status, job.status_detail) == ("queued", "NotStarted")
    note = (await p.events(job.id)).items[0]
    assert (
        note.id == "ftui-validation"
        and "split 5 example(s) (25%) off train.jsonl with seed 7" in note.message
    )


async def test_given_validation_data_is_used_and_bad_requests_are_refused(tmp_path: Path) -> None:
    fake = FakeAzureML()
    p = provider(fake)
    await p.create_job(
        JobSpec(
            base_model=PHI,
            training_file=str(dataset(tmp_path / "t.jsonl")),
            validation_file=str(dataset(tmp_path / "v.jsonl", 3)),
        )
    )
    assert fake.uploads[fake.submitted[-1]["validation"]].count(b"\n") == 3
    with pytest.raises(ProviderError, match="needs validation data"):
        await p.create_job(JobSpec(base_model=PHI, training_file="azureml:ftui-t:1"))
    with pytest.raises(ProviderError, match="supervised"):
        await p.create_job(JobSpec(base_model=PHI, training_file="azureml:t:1", method="dpo"))
    with pytest.raises(ProviderError, match="absolute learning rate"):
        await p.create_job(
            JobSpec(
                base_model=PHI,
                training_file="azureml:t:1",
                validation_file="azureml:v:1",
                hyperparameters=Hyperparameters(learning_rate_multiplier=2.0),
            )
        )
    with pytest.raises(ProviderError, match=r"Phi-9"):
        await p.create_job(
            JobSpec(base_model="Phi-9", training_file="azureml:t:1", validation_file="azureml:v:1")
        )


async def test_status_metrics_events_and_cancel(tmp_path: Path) -> None:
    fake = FakeAzureML()
    p = provider(fake)
    job = await p.create_job(
        JobSpec(base_model=PHI, training_file="azureml:t:1", validation_file="azureml:v:1")
    )
    fake.histories[job.id] = {"loss": [(1, 2.0), (2, 1.5)], "eval_loss": [(2, 1.6)], "grad_norm": [(1, 0.3)]}
    job = await eventually(lambda: p.job(job.id), lambda j: j.done, what="completed")
    assert job.status == "succeeded" and job.fine_tuned_model == fake.submitted[-1]["output_name"]
    events = await collect(lambda c: p.events(job.id, c))
    points = [e.metrics for e in events if e.metrics]
    assert [(m.step, m.train_loss, m.valid_loss) for m in points] == [(1, 2.0, None), (2, 1.5, 1.6)]
    assert points[0].extra == {"grad_norm": 0.3}
    page = await p.events(job.id, "Completed|2")
    assert page.items == [] and page.next_cursor == "Completed|2"

    second = await p.create_job(
        JobSpec(base_model=PHI, training_file="azureml:t:1", validation_file="azureml:v:1")
    )
    fake.metrics_error = RuntimeError("workspace has no tracking URI")
    cancelled = await p.cancel(second.id)
    assert cancelled.status == "cancelled" and cancelled.done
    warn = [e for e in (await p.events(second.id)).items if e.level == "warn"]
    assert warn and "metrics not reachable" in warn[0].message
    assert {j.id for j in (await p.jobs()).items} == {job.id, second.id}


async def test_serverless_endpoint_deploy_chat_and_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    with AzureServer() as az:
        fake = FakeAzureML(chat_url=az.url + "/openai", key=az.key)
        p = provider(fake)
        d = await p.deploy(DeploySpec(model="phi-ftui:1"))
        assert d.status == "creating" and d.sku == "serverless"
        d = await eventually(lambda: p.deployment(d.id), lambda x: x.status == "ready", what="ready")
        az.deployments[d.id] = {"properties": {"provisioningState": "Succeeded", "model": {"name": "phi"}}}
        reply = "".join([x async for x in p.chat(d.id, [ChatMessage(role="user", content="hi")])])
        assert reply == "Arr, matey!" and az.chats[-1]["deployment"] == d.id
        assert az.requests(r"^/openai/v1/chat/completions$")[-1].credential == az.key
        assert [x.id for x in (await p.deployments()).items] == [d.id]
        assert (await p.undeploy(d.id)).status == "deleting"
        assert (await p.deployment(d.id)).status == "deleting"
        with pytest.raises(NotFound):
            await p.deployment(d.id)
        await p.aclose()


def test_the_provider_says_where_training_runs() -> None:
    assert provider(FakeAzureML()).describe()["training runs on"] == "serverless (pay as you go)"
    assert (
        provider(FakeAzureML(), compute="gpu-cluster").describe()["training runs on"]
        == "compute cluster gpu-cluster"
    )
    assert (
        "Standard_ND96"
        in provider(FakeAzureML(), instance_type="Standard_ND96amsr_A100_v4").describe()["training runs on"]
    )
