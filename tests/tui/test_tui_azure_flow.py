"""The whole flow on an Azure OpenAI profile in the real app, driven by Pilot: the job form with its
training type, the job to success, metrics from results.csv, a deployment, a chat through it, and
its deletion. The real provider and SDKs against the loopback Azure server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.azure_server import AzureServer, FakeCredential
from support.factories import write_dataset
from support.tui_fakes import CannedSession, ready, wait_for
from textual.widgets import Select

from ftui.model import DeploySpec
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.deploy_form import DeployFormScreen
from ftui.tui.screens.deployments import DeploymentsPane
from ftui.tui.screens.job_form import JobFormScreen
from ftui.tui.screens.metrics import FIELD, MetricsPane
from ftui.tui.screens.playground import PlaygroundPane

BASE = "gpt-4.1-mini-2025-04-14"


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch):
    from ftui_azure.provider import AzureOpenAIProvider
    from ftui_azure.settings import AzureSettings

    with AzureServer(lro_polls=1) as az:
        monkeypatch.setenv("FTUI_TEST_AZURE_KEY", az.key)
        settings = AzureSettings(
            endpoint=az.url,
            api_key_env="FTUI_TEST_AZURE_KEY",
            poll_interval=0.02,
            subscription_id="sub-1",
            resource_group="rg",
            account="acct",
            management_url=az.url,
        )
        yield az, AzureOpenAIProvider(settings, credential=FakeCredential(token=az.token))


async def test_form_train_metrics_deploy_chat_and_delete_on_azure(make_app, azure, dataset_dir: Path) -> None:
    az, provider = azure
    data = write_dataset(dataset_dir / "pirate.jsonl")
    app = make_app(session=CannedSession({"local": provider}), poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, rows=0)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        await wait_for(pilot, lambda: form.query("#option-training_type"))
        assert form.query_one("#option-training_type", Select).value == "Standard"
        form.query_one("#option-training_type", Select).value = "Developer"
        await wait_for(pilot, lambda: form.query_one("#base_model", Select).value != Select.NULL)
        form.query_one("#base_model", Select).value = BASE
        form.query_one("#training_file").value = str(data)
        await pilot.press("ctrl+s")

        await wait_for(pilot, lambda: app.jobs and app.jobs[0].done)
        job = app.jobs[0]
        assert job.status == "succeeded" and job.fine_tuned_model.startswith(f"{BASE}.ft-")
        assert az.requests(r"/fine_tuning/jobs$", "POST")[0].body["trainingType"] == "Developer"
        assert az.requests(r"/files$", "POST")  # the local dataset was uploaded, once

        await pilot.press("m")
        metrics = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(metrics.points) == 3)
        assert [p[FIELD["train_loss"]] for p in metrics.points] == [1.25, 0.90, 0.61]

        # Deploy from the job, through the form and the question, in Azure's words.
        app.show_view("jobs")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployFormScreen))
        form = app.screen
        assert form.query_one("#deploy-model").value == job.fine_tuned_model
        await wait_for(pilot, lambda: "24 hours" in str(form.query_one("#deploy-cost").render()))
        form.query_one("#deploy-sku").value = "standard"
        await wait_for(pilot, lambda: "$1.70/hour" in str(form.query_one("#deploy-cost").render()))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "called or not" in app.screen.question and "15 days" in app.screen.question
        assert not az.deployments  # nothing exists before the yes
        await pilot.press("y")

        pane = app.query_one(DeploymentsPane)
        await wait_for(pilot, lambda: [d.status for d in pane.deployments] == ["ready"])
        [deployment] = pane.deployments
        assert az.deployments[deployment.id]["sku"]["name"] == "standard"
        assert deployment.hourly_cost == 1.7

        await pilot.press("enter")  # chat with the deployment, by its name
        playground = app.query_one(PlaygroundPane)
        await wait_for(pilot, lambda: app.query_one("#model-a").value == deployment.id)
        app.query_one("#prompt").focus()
        await pilot.press(*"Ahoy?", "enter")
        await wait_for(pilot, lambda: len(playground.history["a"]) == 2)
        assert playground.history["a"][1].content == "Arr, matey!"
        assert az.chats[-1]["deployment"] == deployment.id

        app.show_view("deployments")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: pane.deployments == [])
        assert not az.deployments  # gone on Azure, so no longer billed


async def test_the_playground_lists_an_azure_ml_endpoint_and_chats_through_it(make_app) -> None:
    from ftui_azure.azureml import AzureMLProvider
    from ftui_azure.settings import AzureMLSettings
    from support.azureml_fake import FakeAzureML

    with AzureServer() as az:
        fake = FakeAzureML(chat_url=az.url + "/openai", key=az.key)
        provider = AzureMLProvider(
            AzureMLSettings(subscription_id="s", resource_group="rg", workspace="ws"), backend=fake
        )
        app = make_app(session=CannedSession({"local": provider}), poll_interval=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot, rows=0)
            d = await app.call(lambda p: p.deploy(DeploySpec(model="phi-ftui:1", name="phi-ep")))
            await wait_for(
                pilot, lambda: fake.endpoints_[d.id]["status"] == "Succeeded" or fake.endpoint(d.id)
            )
            az.deployments["phi-ep"] = {
                "properties": {"provisioningState": "Succeeded", "model": {"name": "phi"}}
            }
            app.open_playground("phi-ep")
            playground = app.query_one(PlaygroundPane)
            await wait_for(pilot, lambda: "phi-ep" in playground.models)
            await wait_for(pilot, lambda: app.query_one("#model-a").value == "phi-ep")
            app.query_one("#prompt").focus()
            await pilot.press(*"Ahoy?", "enter")
            await wait_for(pilot, lambda: len(playground.history["a"]) == 2)
            assert playground.history["a"][1].content == "Arr, matey!"
