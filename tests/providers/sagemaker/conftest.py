"""SageMaker against moto in server mode on 127.0.0.1, the runtime's streaming call against a loopback
event-stream server, and the entry script for real in a temporary /opt/ml (tiny-llama, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.eventstream_server import StreamingEndpoint
from support.moto_aws import BUCKET, REGION, ROLE, MotoAWS, fake_credentials, shared
from support.sagemaker_container import Host, chat_rows, tiny_request


@pytest.fixture(scope="session")
def moto_server() -> MotoAWS:
    return shared()[0]


@pytest.fixture(scope="session")
def runtime_server() -> StreamingEndpoint:
    return shared()[1]


@pytest.fixture
def aws(moto_server: MotoAWS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoAWS:
    """A clean moto, fake credentials, and no AWS config of the user's in reach."""
    moto_server.reset()
    fake_credentials(monkeypatch, tmp_path)
    moto_server.client("s3").create_bucket(Bucket=BUCKET)
    return moto_server


def settings_for(aws: MotoAWS, runtime: StreamingEndpoint | None = None, **overrides: Any) -> Any:
    from ftui_sagemaker.settings import SageMakerSettings

    values: dict[str, Any] = {
        "region": REGION,
        "role_arn": ROLE,
        "bucket": BUCKET,
        "prefix": "ftui-tests",
        "instance_type": "ml.g5.2xlarge",
        "endpoint_url": aws.url,
        "max_attempts": 1,  # moto answers what it lacks with a 500: fail at once
    }
    if runtime is not None:
        values["endpoint_urls"] = {"sagemaker-runtime": runtime.url}
    values.update(overrides)
    return SageMakerSettings(**values)


@pytest.fixture
def make_provider(aws: MotoAWS, runtime_server: StreamingEndpoint, tmp_path: Path) -> Any:
    from ftui_sagemaker.provider import SageMakerProvider

    from ftui.store import Store

    def make(store: Any = None, **overrides: Any) -> SageMakerProvider:
        return SageMakerProvider(
            settings_for(aws, runtime_server, **overrides),
            profile="sm-test",
            store=store or Store(tmp_path / f"state-{len(list(tmp_path.glob('state-*')))}.db"),
        )

    return make


@pytest.fixture
def provider(make_provider: Any) -> Any:
    return make_provider()


@pytest.fixture(scope="session")
def sourcedir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ftui_sagemaker.bundle import build_sourcedir

    return build_sourcedir(tmp_path_factory.mktemp("sourcedir"))


@pytest.fixture(scope="session")
def entry_run(tmp_path_factory: pytest.TempPathFactory, sourcedir: Path) -> tuple[Host, Any]:
    """The entry script once, for real, in a temporary /opt/ml: 8 examples, 4 steps, a validation set."""
    root = tmp_path_factory.mktemp("opt-ml")
    request = tiny_request()
    host = Host(root / "ml", request["HyperParameters"], sourcedir)
    host.channel("train", chat_rows(8))
    host.channel("validation", chat_rows(2))
    return host, host.run()
