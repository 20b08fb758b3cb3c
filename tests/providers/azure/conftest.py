"""Azure providers against loopback servers that speak Azure's shapes (tests/support)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from support.azure_server import AzureServer, FakeCredential

KEY_ENV = "FTUI_TEST_AZURE_KEY"


@pytest.fixture
def az() -> Iterator[AzureServer]:
    with AzureServer(lro_polls=1) as server:
        yield server


@pytest.fixture
async def make_aoai(az: AzureServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    """Build an AzureOpenAIProvider on the loopback server: `make_aoai(api_version=..., ...)`."""
    made: list[Any] = []

    def make(*, credential: Any = None, **settings: Any) -> Any:
        made.append(_provider(az, monkeypatch, credential, settings))
        return made[-1]

    yield make
    for provider in made:
        await provider.aclose()


def _provider(
    az: AzureServer, monkeypatch: pytest.MonkeyPatch, credential: Any, settings: dict[str, Any]
) -> Any:
    from ftui_azure.provider import AzureOpenAIProvider
    from ftui_azure.settings import AzureSettings

    monkeypatch.setenv(KEY_ENV, az.key)
    values: dict[str, Any] = {
        "endpoint": az.url,
        "api_key_env": KEY_ENV,
        "subscription_id": "sub-1",
        "resource_group": "rg-1",
        "account": "acct-1",
        "management_url": az.url,
        "poll_interval": 0.02,
        "max_retries": 0,
    }
    values.update(settings)
    return AzureOpenAIProvider(
        AzureSettings(**values),
        profile="az",
        credential=credential or FakeCredential(token=az.token),
    )
