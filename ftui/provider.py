"""The one interface every screen and CLI command speaks to.

A provider turns the common verbs into its backend's calls and its backend's objects back into
`ftui.model`. Subclass `Provider`, set the class attributes, override what the backend supports;
everything else raises `NotSupported`. Heavy SDKs are imported inside methods, never at module top,
so listing providers and opening the TUI stay fast.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ftui.errors import NotSupported
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    Checkpoint,
    Deployment,
    Job,
    JobEvent,
    JobSpec,
    RemoteFile,
)

if TYPE_CHECKING:
    from ftui.data.tokens import Tokenizer

Progress = Callable[[int, int], None]  # (bytes or items done, total)

CAPABILITIES = frozenset(
    {"supervised", "dpo", "reinforcement", "pause", "checkpoints", "deploy", "stream", "upload"}
)


class ProfileSettings(BaseModel):
    """Fields of a `[profiles.NAME]` table; each provider subclasses it with its own."""

    model_config = ConfigDict(extra="forbid")
    provider: str


class Provider:
    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    settings_model: ClassVar[type[ProfileSettings]] = ProfileSettings
    # Importable modules the provider needs, and the pip extra that brings them.
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None

    def __init__(self, settings: ProfileSettings, profile: str = "default") -> None:
        self.settings = settings
        self.profile = profile

    @classmethod
    def missing(cls) -> list[str]:
        """The required modules that are not installed (checked without importing them)."""
        return [m for m in cls.requires if importlib.util.find_spec(m) is None]

    @classmethod
    def install_hint(cls) -> str | None:
        return f"pip install 'ftui[{cls.extra}]'" if cls.extra else None

    def _unsupported(self, verb: str) -> NotSupported:
        return NotSupported(self.name, verb)

    async def aclose(self) -> None:
        """Release clients, warm models, worker threads."""

    # -- models -----------------------------------------------------------------------------
    async def base_models(self) -> list[BaseModelInfo]:
        raise self._unsupported("listing base models")

    async def fine_tuned_models(self) -> list[BaseModelInfo]:
        return []

    async def prepare_model(self, model: str, progress: Progress | None = None) -> None:
        """Make `model` ready to train on, reporting progress where that takes a while (the local
        provider converts its starter model once, tens of seconds). Nothing to do by default."""

    async def delete_model(self, model: str) -> None:
        raise self._unsupported("deleting models")

    # -- files ------------------------------------------------------------------------------
    async def upload(
        self, path: Path, purpose: str = "fine-tune", progress: Progress | None = None
    ) -> RemoteFile:
        raise self._unsupported("uploads")

    async def files(self) -> list[RemoteFile]:
        raise self._unsupported("listing files")

    async def delete_file(self, file_id: str) -> None:
        raise self._unsupported("deleting files")

    async def file_content(self, file_id: str) -> bytes:
        raise self._unsupported("reading file content")

    # -- jobs -------------------------------------------------------------------------------
    async def create_job(self, spec: JobSpec) -> Job:
        raise self._unsupported("fine-tuning jobs")

    async def jobs(self, limit: int = 20, after: str | None = None) -> list[Job]:
        raise self._unsupported("listing jobs")

    async def job(self, job_id: str) -> Job:
        raise self._unsupported("jobs")

    async def cancel(self, job_id: str) -> Job:
        raise self._unsupported("cancel")

    async def pause(self, job_id: str) -> Job:
        raise self._unsupported("pause")

    async def resume(self, job_id: str) -> Job:
        raise self._unsupported("resume")

    async def events(self, job_id: str, after: str | None = None) -> list[JobEvent]:
        """Events oldest first; with `after`, only those newer than that event id."""
        raise self._unsupported("job events")

    async def checkpoints(self, job_id: str) -> list[Checkpoint]:
        raise self._unsupported("checkpoints")

    async def result_csv(self, job_id: str) -> bytes | None:
        """The finished job's step metrics as OpenAI's result-file CSV (plain text, not base64).

        The default reads a result file the job names by a local path, else builds the CSV from the
        job's metrics events.
        """
        import asyncio
        import csv
        import io

        for ref in (await self.job(job_id)).result_files:
            path = Path(ref)
            if path.is_absolute() and path.is_file():
                return await asyncio.to_thread(path.read_bytes)

        columns = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for event in await self.events(job_id):
            m = event.metrics
            if m is None:
                continue
            row = (
                m.step,
                m.train_loss,
                m.train_mean_token_accuracy,
                m.valid_loss,
                m.valid_mean_token_accuracy,
            )
            writer.writerow(["" if v is None else v for v in row])
        return out.getvalue().encode()

    async def deploy(self, model: str) -> Deployment:
        """Make a fine-tuned model callable. Providers whose models are callable at once return ready."""
        return Deployment(id=model, model=model, status="ready")

    # -- inference --------------------------------------------------------------------------
    def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        """Stream the reply's text, piece by piece."""
        raise self._unsupported("chat")

    def tokenizer(self, model: str) -> Tokenizer | None:
        """The exact tokenizer (with chat-format overhead) for `model`, where the provider knows it.

        Dataset validation uses it for exact token counts; None falls back to the name-based lookup
        in `ftui.data.tokens`.
        """
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "profile": self.profile,
            "capabilities": sorted(self.capabilities),
        }
