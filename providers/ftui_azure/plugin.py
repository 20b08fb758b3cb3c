from __future__ import annotations

from collections.abc import Callable

from ftui import hookimpl


@hookimpl
def ftui_register_providers(register: Callable[[type], None]) -> None:
    from ftui_azure.azureml import AzureMLProvider
    from ftui_azure.provider import AzureOpenAIProvider

    register(AzureOpenAIProvider)
    register(AzureMLProvider)
