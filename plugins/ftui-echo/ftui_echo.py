"""An example provider plugin. Copy this file to start your own.

Install it (`pip install ./plugins/ftui-echo`), then use it from a profile:

    [profiles.echo]
    provider = "echo"
    prefix = "you said: "
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from ftui import hookimpl
from ftui.model import BaseModelInfo, ChatMessage, ChatParams
from ftui.provider import ProfileSettings, Provider


class EchoSettings(ProfileSettings):
    provider: str = "echo"
    prefix: str = ""


class EchoProvider(Provider):
    name = "echo"
    description = "Example plugin: echoes the last user message"
    capabilities = frozenset({"stream"})
    settings_model = EchoSettings

    async def base_models(self) -> list[BaseModelInfo]:
        return [BaseModelInfo(id="echo-1", provider=self.name, description="repeats you")]

    async def chat(
        self,
        model: str,
        messages: list[ChatMessage],  # type: ignore[override]
        params: ChatParams | None = None,
    ) -> AsyncIterator[str]:
        assert isinstance(self.settings, EchoSettings)
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        yield self.settings.prefix
        for word in last.split(" "):
            yield word + " "


@hookimpl
def ftui_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(EchoProvider)
