"""Who the Azure providers are: an API key (data plane only) or a Microsoft Entra ID credential.

The credential is azure-identity's `DefaultAzureCredential` (environment service principal,
workload or managed identity, `az login`, `azd auth login`, ...); the standard variable
`AZURE_TOKEN_CREDENTIALS` narrows it to one source (e.g. `AzureCliCredential`), which also skips
the slow managed-identity probe on a laptop. A provider built with `credential=` uses that one.
"""

from __future__ import annotations

from typing import Any

from ftui.errors import ProviderError

COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"


def default_credential() -> Any:
    from azure.identity import DefaultAzureCredential

    # Never open a browser from a terminal app that may be on the far side of SSH.
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def credential_error(exc: Exception, what: str) -> ProviderError:
    """azure-identity's failure (no login, wrong tenant) as advice; its text names no secret."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ProviderError(
        f"cannot get a Microsoft Entra ID token for {what}: {first}. Sign in with `az login` "
        "(or `azd auth login`), or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for "
        "a service principal; AZURE_TOKEN_CREDENTIALS=AzureCliCredential uses only the Azure CLI",
        code="credential_unavailable",
        status=401,
    )


def token_provider(credential: Any, scope: str = COGNITIVE_SCOPE) -> Any:
    """An async callable returning a bearer token, as `openai.AsyncOpenAI(api_key=...)` takes it.

    azure-identity's provider caches the token and refreshes it near expiry; a refresh may block
    on a process (`az`) or the network, so it runs in a thread, off the event loop."""
    import asyncio

    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import CredentialUnavailableError, get_bearer_token_provider

    sync = get_bearer_token_provider(credential, scope)

    def fetch() -> str:
        try:
            return str(sync())
        except (ClientAuthenticationError, CredentialUnavailableError) as exc:
            raise credential_error(exc, "Azure OpenAI") from None

    async def provide() -> str:
        return await asyncio.to_thread(fetch)

    return provide
