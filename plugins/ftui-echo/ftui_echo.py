"""An example provider plugin. Copy this file to start your own.

Install it (`pip install ./plugins/ftui-echo`), then use it from a profile:

    [profiles.echo]
    provider = "echo"
    prefix = "you said: "
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import ClassVar

from ftui import hookimpl
from ftui.model import BaseModelInfo, ChatMessage, ChatParams
from ftui.provider import Capability, ProfileSettings, Provider


class EchoSettings(ProfileSettings):
    provider: str = "echo"
    prefix: str = ""


class EchoProvider(Provider[EchoSettings]):
    name = "echo"
    description = "Example plugin: echoes the last user message"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"chat"})
    settings_model = EchoSettings

    async def base_models(self) -> list[BaseModelInfo]:
        return [BaseModelInfo(id="echo-1", provider=self.name, description="repeats you")]

    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        yield self.settings.prefix
        for word in last.split(" "):
            yield word + " "


@hookimpl
def ftui_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(EchoProvider)
