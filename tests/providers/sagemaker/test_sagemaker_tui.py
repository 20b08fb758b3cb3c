"""The whole SageMaker flow in the real Textual app, driven by Pilot: the job form creates a job on a
SageMaker profile (moto), the Jobs pane follows it as the test moves it along, the Metrics pane
draws the loss from its CloudWatch Logs, the model is deployed after its hourly cost is shown and
confirmed, the Playground chats with the endpoint, and the Deployments view deletes it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from support.moto_aws import BUCKET, REGION, ROLE, MotoAWS, endpoints_take_a_moment
from support.sagemaker_container import chat_rows, write_jsonl
from support.tui_fakes import ready, wait_for

from ftui.session import Session
from ftui.tui.app import FtuiApp
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.deploy_form import DeployFormScreen
from ftui.tui.screens.deployments import DeploymentsPane
from ftui.tui.screens.job_form import JobFormScreen
from ftui.tui.screens.metrics import FIELD, MetricsPane
from ftui.tui.screens.playground import PlaygroundPane

pytestmark = pytest.mark.slow


@pytest.fixture
def jobs_start_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto makes jobs Completed at once; a real one starts InProgress / Starting."""
    from moto.sagemaker.models import FakeTrainingJob

    original = FakeTrainingJob.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.training_job_status, self.secondary_status = "InProgress", "Starting"
        self.secondary_status_transitions = [
            {
                "Status": "Starting",
                "StartTime": self.creation_time,
                "StatusMessage": "Preparing the instances",
            }
        ]

    monkeypatch.setattr(FakeTrainingJob, "__init__", init)


async def test_the_whole_flow_from_the_job_form_to_a_chat_with_the_endpoint_and_its_deletion(
    aws: MotoAWS,
    runtime_server: Any,
    tmp_path: Path,
    monkeypatch,
    entry_run,
    jobs_start_in_progress,
):
    host, run = entry_run
    config = tmp_path / "config.toml"
    config.write_text(
        f"""default_profile = "aws"
[profiles.aws]
provider = "sagemaker"
region = "{REGION}"
role_arn = "{ROLE}"
bucket = "{BUCKET}"
prefix = "tui"
endpoint_url = "{aws.url}"
endpoint_urls = {{ sagemaker-runtime = "{runtime_server.url}" }}
max_attempts = 1
"""
    )
    monkeypatch.setenv("FTUI_CONFIG", str(config))
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    data = write_jsonl(folder / "train.jsonl", chat_rows(12))

    app = FtuiApp(Session(), poll_interval=0.3, folder=folder)
    stack = contextlib.ExitStack()
    stack.enter_context(endpoints_take_a_moment(monkeypatch, seconds=1.0))  # real ones take minutes
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await ready(pilot, rows=0)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        select = form.query_one("#base_model")
        await wait_for(pilot, lambda: any(v == "tiny-llama" for _, v in select._options), timeout=60)
        select.value = "tiny-llama"
        form.query_one("#training_file").value = str(data)
        form.query_one("#n_epochs").value = "1"
        await pilot.press("ctrl+s")

        await wait_for(pilot, lambda: app.jobs and app.jobs[0].status == "queued", timeout=60)
        job = app.jobs[0]
        assert job.provider == "sagemaker" and job.status_detail == "Starting"

        aws.set_status(job.id, "InProgress", "Training", "Training in progress.")
        await wait_for(pilot, lambda: app.jobs[0].status == "running", timeout=60)
        aws.put_logs(job.id, [line for line in run.stdout.splitlines() if line.strip()])
        await pilot.press("m")
        metrics = app.query_one(MetricsPane)
        await wait_for(pilot, lambda: len(metrics.points) >= 4, timeout=60)
        assert sum(p[FIELD["train_loss"]] is not None for p in metrics.points) == 4  # the four steps logged
        assert app.query_one("#loss-chart").series["train"][0]

        prefix = f"tui/output/{job.id}/output/model/"
        for file in host.model_dir.iterdir():
            aws.client("s3").put_object(Bucket=BUCKET, Key=prefix + file.name, Body=file.read_bytes())
        aws.set_status(job.id, "Completed", "Completed", "Training job completed")
        await wait_for(pilot, lambda: app.jobs[0].status == "succeeded", timeout=60)
        model = app.jobs[0].fine_tuned_model
        assert model == f"ft:tiny-llama:{job.id}"
        await wait_for(pilot, lambda: any(f"{job.id} succeeded" in n.message for n in app._notifications))

        # Deploy from the job: the hourly cost is shown and asked about before anything exists.
        app.show_view("jobs")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployFormScreen))
        form = app.screen
        assert form.query_one("#deploy-model").value == model
        await wait_for(
            pilot, lambda: "$1.51/hour" in str(form.query_one("#deploy-cost").render()), timeout=30
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "$1.51/hour" in app.screen.question and "billed every hour" in app.screen.question
        assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []
        await pilot.press("y")

        pane = app.query_one(DeploymentsPane)
        await wait_for(pilot, lambda: [d.status for d in pane.deployments] == ["creating"], timeout=30)
        await wait_for(pilot, lambda: [d.status for d in pane.deployments] == ["ready"], timeout=30)
        [deployment] = pane.deployments
        assert deployment.model == model and deployment.hourly_cost == pytest.approx(1.515)

        await pilot.press("enter")  # chat with the endpoint, addressed by its id
        playground = app.query_one(PlaygroundPane)
        await wait_for(pilot, lambda: app.query_one("#model-a").value == deployment.id, timeout=30)
        app.query_one("#prompt").focus()
        await pilot.press(*"hi there", "enter")
        await wait_for(pilot, lambda: len(playground.history["a"]) == 2, timeout=60)
        assert playground.history["a"][1].content == "Echo: hi there"

        app.show_view("deployments")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: pane.deployments == [], timeout=30)
        assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []
        assert aws.client("sagemaker").list_models()["Models"] == []
