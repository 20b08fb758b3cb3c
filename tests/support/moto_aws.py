"""moto in server mode on 127.0.0.1, with the few SageMaker gaps a test has to fill itself.

moto makes every training job `Completed` at once, overwrites its MetricDefinitions, answers
`StopTrainingJob` with a 500, and rejects g5/g6 instance types for endpoints. The server runs in this
process, so a test drives a job's life through moto's backend objects (`set_status`), feeds log lines
into moto's CloudWatch Logs (`put_logs`), and gets a `StopTrainingJob` that moves the job to
Stopping (`install_gaps`). Nothing here is reachable from outside 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/ftui-test"
BUCKET = "ftui-test-bucket"


def install_gaps() -> None:
    from moto.core.responses import EmptyResult
    from moto.sagemaker import models
    from moto.sagemaker.responses import SageMakerResponse

    def stop_training_job(self: Any) -> Any:
        job = self.sagemaker_backend.training_jobs[self._get_param("TrainingJobName")]
        if job.training_job_status != "InProgress":
            from moto.sagemaker.exceptions import ValidationError

            raise ValidationError(message=f"The job status is {job.training_job_status}")
        _move(job, "Stopping", "Stopping", "Stopping the training job")
        return EmptyResult()

    SageMakerResponse.stop_training_job = stop_training_job
    # moto's list predates g5/g6; the real service takes them.
    models.FakeEndpointConfig.validate_instance_type = lambda self, instance_type: None


def _move(job: Any, status: str, secondary: str, message: str | None) -> None:
    now = datetime.now(UTC)
    if job.secondary_status_transitions:
        job.secondary_status_transitions[-1]["EndTime"] = now
    job.training_job_status, job.secondary_status = status, secondary
    entry = {"Status": secondary, "StartTime": now}
    if message:
        entry["StatusMessage"] = message
    job.secondary_status_transitions.append(entry)
    job.last_modified_time = now


class MotoAWS:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        install_gaps()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop()

    def reset(self) -> None:
        urllib.request.urlopen(
            urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
        )

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    # -- driving a training job through moto's backend (same process) ------------------------
    def job(self, name: str) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[name]

    def begin(self, name: str) -> None:
        """Undo moto's instant Completed: the job as SageMaker shows it right after creation."""
        job = self.job(name)
        job.training_job_status, job.secondary_status = "InProgress", "Starting"
        job.secondary_status_transitions = [
            {
                "Status": "Starting",
                "StartTime": job.creation_time,
                "StatusMessage": "Preparing the instances for training",
            }
        ]
        job.final_metric_data_list = []
        job.training_end_time = None

    def set_status(
        self, name: str, status: str, secondary: str, message: str | None = None, failure: str | None = None
    ) -> None:
        job = self.job(name)
        _move(job, status, secondary, message)
        if failure is not None:
            job.failure_reason = failure
        if status in ("Completed", "Failed", "Stopped"):
            job.training_end_time = datetime.now(UTC)

    # -- CloudWatch Logs and metrics --------------------------------------------------------------
    def put_logs(
        self, job_name: str, lines: list[str], host: str = "algo-1", start_ms: int | None = None
    ) -> str:
        logs = self.client("logs")
        group, stream = "/aws/sagemaker/TrainingJobs", f"{job_name}/{host}-1700000000"
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        base = start_ms or int(datetime.now(UTC).timestamp() * 1000)
        events = [{"timestamp": base + i, "message": line} for i, line in enumerate(lines)]
        for i in range(0, len(events), 1000):
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events[i : i + 1000])
        return stream

    def put_metrics(self, job_name: str, points: list[dict[str, float]], start: datetime) -> None:
        cw = self.client("cloudwatch")
        data = []
        for i, point in enumerate(points):
            when = start.replace(microsecond=0).timestamp() + 60 * i
            for name, value in point.items():
                data.append(
                    {
                        "MetricName": name,
                        "Dimensions": [{"Name": "TrainingJobName", "Value": job_name}],
                        "Timestamp": datetime.fromtimestamp(when, UTC),
                        "Value": value,
                    }
                )
        cw.put_metric_data(Namespace="/aws/sagemaker/TrainingJobs", MetricData=data)


@functools.cache
def shared() -> tuple[MotoAWS, Any]:
    """One moto server and one streaming endpoint per test process, for every test that needs them."""
    from support.eventstream_server import StreamingEndpoint

    aws, runtime = MotoAWS(), StreamingEndpoint()
    atexit.register(runtime.stop)
    atexit.register(aws.stop)
    return aws, runtime


def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials moto accepts, and none of the user's AWS config within reach."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def endpoints_take_a_moment(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.3) -> Iterator[None]:
    """moto's endpoints are InService at once; a real one is Creating for minutes first."""
    from moto.sagemaker import models

    original = models.FakeEndpoint.__init__
    describe = models.SageMakerModelBackend.describe_endpoint
    listing = models.SageMakerModelBackend.list_endpoints

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.endpoint_status, self._ready_at = "Creating", time.monotonic() + seconds

    def settle(backend: Any) -> None:
        for endpoint in backend.endpoints.values():
            if endpoint.endpoint_status == "Creating" and time.monotonic() >= endpoint._ready_at:
                endpoint.endpoint_status = "InService"

    def described(self: Any, endpoint_name: str) -> Any:
        settle(self)
        return describe(self, endpoint_name)

    def listed(self: Any, *args: Any, **kwargs: Any) -> Any:
        settle(self)
        return listing(self, *args, **kwargs)

    monkeypatch.setattr(models.FakeEndpoint, "__init__", init)
    monkeypatch.setattr(models.SageMakerModelBackend, "describe_endpoint", described)
    monkeypatch.setattr(models.SageMakerModelBackend, "list_endpoints", listed)
    yield
