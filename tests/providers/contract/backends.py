"""Every provider that has a test backend, for the contract suite in this folder.

To add your provider (Azure, SageMaker, ...):

1. Write a factory here: a context manager taking the pytest `request` and yielding a `Backend`
   whose provider talks to a test backend on 127.0.0.1 (moto in server mode for SageMaker, a
   loopback server speaking Azure's shapes for Azure), never the internet.
2. Add one line to `BACKENDS`, keyed by your provider's `name`: `"sagemaker": sagemaker_on_moto`.
   (A provider with `built = True` and no entry here fails `test_capabilities.py`.)

Every test in `test_contract.py` then runs against it: the ones for capabilities it declares
exercise them, the others check it says NotSupported. `test_capabilities.py` checks, without a
backend, that each declared capability's verbs (`ftui.provider.CAPABILITY_VERBS`) are overridden.
Run just yours with `pytest tests/providers/contract -k yourname`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.factories import write_dataset

from ftui.model import DeploySpec, Hyperparameters
from ftui.provider import Provider
from ftui.store import Store


@dataclass
class Backend:
    provider: Provider[Any]
    base_model: str  # to chat with, price and train from
    training_file: Path  # a small valid dataset for `base_model`
    hyperparameters: Hyperparameters = field(
        default_factory=lambda: Hyperparameters(n_epochs=1, batch_size=5)
    )
    deploy_spec: DeploySpec | None = None  # for "deploy": something cheap and quick to deploy
    timeout: float = 240.0  # a guard against a hung backend, not a speed assertion


Factory = Callable[[pytest.FixtureRequest], contextlib.AbstractContextManager[Backend]]


@contextlib.contextmanager
def local(request: pytest.FixtureRequest) -> Iterator[Backend]:
    tmp: Path = request.getfixturevalue("tmp_path")
    provider = request.getfixturevalue("local_provider")  # cancels what it still runs at the end
    provider._store = Store(tmp / "state.db")
    yield Backend(provider, "tiny-llama", write_dataset(tmp / "train.jsonl"))


@contextlib.contextmanager
def openai_via_serve(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The OpenAI provider, through the official SDK, against `ftui serve` over the local
    provider; every response it gets is checked against OpenAI's OpenAPI spec on the way out."""
    from ftui_openai.provider import OpenAIProvider
    from ftui_openai.settings import OpenAISettings
    from support.serve_harness import serve

    tmp: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    with serve(request.getfixturevalue("local_provider"), api_key="sk-contract") as served:
        monkeypatch.setenv("FTUI_CONTRACT_KEY", "sk-contract")
        settings = OpenAISettings(base_url=served.url, api_key_env="FTUI_CONTRACT_KEY", max_retries=1)
        provider = OpenAIProvider(settings, profile="contract", store=Store(tmp / "state.db"))
        yield Backend(provider, "tiny-llama", write_dataset(tmp / "train.jsonl"))


@contextlib.contextmanager
def echo(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The example plugin, installed as a user installs it, with its fake backend under FTUI_HOME."""
    request.getfixturevalue("echo")
    from ftui_echo import EchoProvider, EchoSettings

    tmp: Path = request.getfixturevalue("tmp_path")
    provider = EchoProvider(
        EchoSettings(deploy_seconds=0.2), profile="contract", store=Store(tmp / "state.db")
    )
    yield Backend(
        provider,
        "echo-1",
        write_dataset(tmp / "train.jsonl"),
        deploy_spec=DeploySpec(model="echo-1", instance_type="echo.small"),
        timeout=30,
    )


@contextlib.contextmanager
def sagemaker_on_moto(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """SageMaker through boto3 against moto in server mode on 127.0.0.1 (endpoints made to spend a
    moment Creating, as real ones do) and a loopback runtime that streams AWS event-stream frames."""
    from ftui_sagemaker.provider import SageMakerProvider
    from ftui_sagemaker.settings import SageMakerSettings
    from support.moto_aws import BUCKET, REGION, ROLE, endpoints_take_a_moment, fake_credentials, shared

    tmp: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    aws, runtime = shared()
    aws.reset()
    fake_credentials(monkeypatch, tmp)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    settings = SageMakerSettings(
        region=REGION,
        role_arn=ROLE,
        bucket=BUCKET,
        prefix="contract",
        endpoint_url=aws.url,
        endpoint_urls={"sagemaker-runtime": runtime.url},
        max_attempts=1,
    )
    with endpoints_take_a_moment(monkeypatch):
        provider = SageMakerProvider(settings, profile="contract", store=Store(tmp / "state.db"))
        yield Backend(
            provider,
            "tiny-llama",
            write_dataset(tmp / "train.jsonl"),
            # An s3:// model prefix deploys as it is: no job needed first.
            deploy_spec=DeploySpec(
                model=f"s3://{BUCKET}/contract/models/tiny/", instance_type="ml.g5.xlarge"
            ),
            timeout=30,
        )


@contextlib.contextmanager
def azure_openai(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Azure OpenAI through the real openai and azure-mgmt-cognitiveservices SDKs against the
    loopback server in Azure's shapes (v1 routes, ARM deployments with their long-running operation).
    Base models answer through a deployment of the same name, as Azure users usually name them."""
    from ftui_azure.provider import AzureOpenAIProvider
    from ftui_azure.settings import AzureSettings
    from support.azure_server import BASE_MODELS, AzureServer, FakeCredential

    tmp: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    with AzureServer(lro_polls=1, processing_delay=0.05) as az:
        monkeypatch.setenv("FTUI_CONTRACT_AZURE_KEY", az.key)
        base = BASE_MODELS[0]
        az.deployments[base] = {
            "name": base,
            "properties": {"provisioningState": "Succeeded", "model": {"name": base}},
        }
        settings = AzureSettings(
            endpoint=az.url,
            api_key_env="FTUI_CONTRACT_AZURE_KEY",
            subscription_id="sub-1",
            resource_group="rg-1",
            account="acct-1",
            management_url=az.url,
            poll_interval=0.02,
            max_retries=1,
        )
        provider = AzureOpenAIProvider(
            settings,
            profile="contract",
            store=Store(tmp / "state.db"),
            credential=FakeCredential(token=az.token),
        )
        yield Backend(
            provider,
            base,
            write_dataset(tmp / "train.jsonl"),
            deploy_spec=DeploySpec(model=BASE_MODELS[1], name="contract-dep", sku="standard"),
            timeout=60,
        )


@contextlib.contextmanager
def azure_ml(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Azure ML through its adapter's fake (storage, registries and endpoints have no loopback here;
    MLClient itself is tested against a loopback endpoint in tests/providers/azure), chatting with
    serverless endpoints over the loopback server's OpenAI-style route."""
    from ftui_azure.azureml import AzureMLProvider
    from ftui_azure.settings import AzureMLSettings
    from support.azure_server import AzureServer
    from support.azureml_fake import FakeAzureML

    tmp: Path = request.getfixturevalue("tmp_path")
    with AzureServer(chat_any=True) as az:
        fake = FakeAzureML(chat_url=az.url + "/openai", key=az.key)
        base = fake.models[0]
        fake.create_endpoint(
            base, f"azureml://registries/azureml/models/{base}/versions/3"
        )  # a base model's endpoint
        settings = AzureMLSettings(subscription_id="sub-1", resource_group="rg-1", workspace="ws-1")
        provider = AzureMLProvider(settings, profile="contract", store=Store(tmp / "state.db"), backend=fake)
        yield Backend(
            provider,
            base,
            write_dataset(tmp / "train.jsonl"),
            deploy_spec=DeploySpec(model="phi-ftui:1", name="contract-ep"),
            timeout=60,
        )


# Keyed by provider name: a built provider missing here fails test_capabilities.py.
BACKENDS: dict[str, Factory] = {
    "local": local,
    "openai": openai_via_serve,
    "echo": echo,
    "sagemaker": sagemaker_on_moto,
    "azure": azure_openai,
    "azureml": azure_ml,
}
