"""The one interface every screen and CLI command speaks to.

A provider turns the common verbs into its backend's calls and its backend's objects back into
`ftui.model`. Subclass `Provider[YourSettings]`, set the class attributes, declare the capabilities
you implement and override the verbs each one promises (`CAPABILITY_VERBS`); everything else raises
`NotSupported`. The provider contract suite (`tests/providers/contract/`) fails a provider that
declares a capability without overriding its verbs.

Heavy SDKs are imported inside methods, never at module top, so listing providers and opening the
TUI stay fast. Calls that block run in threads (`asyncio.to_thread`), never on the UI loop.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict

from ftui.errors import NotSupported
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    Checkpoint,
    CostEstimate,
    Deployment,
    DeploySpec,
    Job,
    JobEvent,
    JobOption,
    JobSpec,
    Page,
    RemoteFile,
)

if TYPE_CHECKING:
    from ftui.data.tokens import Tokenizer
    from ftui.hyperparameters import Bound
    from ftui.store import Store

Progress = Callable[[int, int], None]  # (bytes or items done, total)

Capability = Literal[
    "supervised",  # create_job with method supervised, and the job verbs
    "dpo",  # create_job with method dpo
    "reinforcement",  # create_job with method reinforcement and a grader
    "upload",  # upload, files, delete_file, file_content
    "pause",  # pause, resume
    "checkpoints",  # checkpoints (each one chat-able)
    "chat",  # chat (streamed)
    "deploy",  # deploy, deployments, deployment, undeploy: models need billed capacity to be called
    "no_deploy_needed",  # a succeeded job's model is callable at once, by name
]
CAPABILITIES: frozenset[str] = frozenset(get_args(Capability))

_JOB_VERBS = ("create_job", "jobs", "job", "cancel", "events")
# The verbs each capability promises. A provider that declares one overrides every verb listed.
CAPABILITY_VERBS: dict[str, tuple[str, ...]] = {
    "supervised": _JOB_VERBS,
    "dpo": _JOB_VERBS,
    "reinforcement": _JOB_VERBS,
    "upload": ("upload", "files", "delete_file", "file_content"),
    "pause": ("pause", "resume"),
    "checkpoints": ("checkpoints",),
    "chat": ("chat",),
    "deploy": ("deploy", "deployments", "deployment", "undeploy"),
    "no_deploy_needed": (),
}


T = TypeVar("T")


def page_after(items: Sequence[T], limit: int, cursor: str | None, key: Callable[[T], str]) -> Page[T]:
    """A page of an in-memory list whose cursor is the key of the last item already seen."""
    start = 0
    if cursor is not None:
        keys = [key(item) for item in items]
        start = keys.index(cursor) + 1 if cursor in keys else len(items)
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    return Page[T](items=chunk, next_cursor=key(chunk[-1]) if more and chunk else None, has_more=more)


async def collect(fetch: Callable[[str | None], Awaitable[Page[T]]], cursor: str | None = None) -> list[T]:
    """Every item from `cursor` on: all pages of a list, or every event newer than `cursor`."""
    found: list[T] = []
    while True:
        page = await fetch(cursor)
        found += page.items
        if not page.has_more or page.next_cursor in (None, cursor):
            return found
        cursor = page.next_cursor


class ProfileSettings(BaseModel):
    """Fields of a `[profiles.NAME]` table; each provider subclasses it with its own."""

    model_config = ConfigDict(extra="forbid")
    provider: str


S = TypeVar("S", bound=ProfileSettings)


class Provider(Generic[S]):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    settings_model: ClassVar[type[ProfileSettings]] = ProfileSettings
    # Backend-only knobs a job's `hyperparameters.extra` may set (name -> allowed values); any other
    # name is refused before a job exists (see `ftui.hyperparameters.check`).
    extra_hyperparameters: ClassVar[Mapping[str, Bound]] = {}
    # False for a provider whose calls are not written yet: listed as "not built", never opened.
    built: ClassVar[bool] = True
    # Importable modules the provider needs, and the pip extra that brings them.
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None

    def __init__(self, settings: S, profile: str = "default", store: Store | None = None) -> None:
        self.settings: S = settings
        self.profile = profile
        self._store = store

    @property
    def store(self) -> Store:
        """The local state handed in by the session (uploads done, upload sessions, jobs seen)."""
        if self._store is None:
            from ftui.store import Store

            self._store = Store()
        return self._store

    @classmethod
    def missing(cls) -> list[str]:
        """The required modules that are not installed (checked without importing them)."""
        return [m for m in cls.requires if importlib.util.find_spec(m) is None]

    @classmethod
    def install_hint(cls) -> str | None:
        return f"pip install 'ftui[{cls.extra}]'" if cls.extra else None

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        return capability in cls.capabilities

    @classmethod
    def unimplemented(cls) -> list[str]:
        """`capability: verb` for each verb a declared capability promises that this class does not
        override (empty for an honest provider; the contract suite fails any other)."""
        return [
            f"{capability}: {verb}"
            for capability in sorted(cls.capabilities)
            for verb in CAPABILITY_VERBS.get(capability, ())
            if getattr(cls, verb) is getattr(Provider, verb)
        ]

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
        self,
        path: Path,
        purpose: str = "fine-tune",
        progress: Progress | None = None,
        *,
        sha256: str | None = None,
    ) -> RemoteFile:
        """Send the file's bytes. Callers go through `ftui.uploads.upload_once`, which skips
        content this profile has already uploaded and passes the content hash (the key for a
        resumable multi-part session); a provider never hashes or dedupes on its own."""
        raise self._unsupported("uploads")

    async def files(self, limit: int = 100, cursor: str | None = None) -> Page[RemoteFile]:
        raise self._unsupported("listing files")

    async def file(self, file_id: str) -> RemoteFile:
        """One file, or NotFound. The default looks through `files()`."""
        from ftui.errors import NotFound

        for f in await collect(lambda c: self.files(limit=100, cursor=c)):
            if f.id == file_id:
                return f
        raise NotFound("file", file_id)

    async def delete_file(self, file_id: str) -> None:
        raise self._unsupported("deleting files")

    async def file_content(self, file_id: str) -> bytes:
        raise self._unsupported("reading file content")

    # -- jobs -------------------------------------------------------------------------------
    def job_options(self) -> list[JobOption]:
        """Choices this backend adds to a job (shown in the job form with their defaults)."""
        return []

    def check_options(self, spec: JobSpec) -> dict[str, str]:
        """Every option's value for `spec` (defaults filled in); a ProviderError names a bad one."""
        from ftui.errors import ProviderError

        known = {o.key: o for o in self.job_options()}
        for key, value in spec.options.items():
            option = known.get(key)
            if option is None:
                allowed = ", ".join(known) or "none"
                raise ProviderError(
                    f"option {key!r}: provider {self.name!r} has no such option (options: {allowed})",
                    code="invalid_option",
                )
            if option.choices and value not in option.choices:
                raise ProviderError(
                    f"option {key}={value!r}: expected one of {', '.join(option.choices)}",
                    code="invalid_option",
                )
        return {key: spec.options.get(key, o.default) for key, o in known.items()}

    async def create_job(self, spec: JobSpec) -> Job:
        raise self._unsupported("fine-tuning jobs")

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        """Newest first."""
        raise self._unsupported("listing jobs")

    async def job(self, job_id: str) -> Job:
        raise self._unsupported("jobs")

    async def cancel(self, job_id: str) -> Job:
        raise self._unsupported("cancel")

    async def pause(self, job_id: str) -> Job:
        raise self._unsupported("pause")

    async def resume(self, job_id: str) -> Job:
        raise self._unsupported("resume")

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        """Events oldest first, only those after `cursor`; the page's `next_cursor` resumes."""
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
        for event in await collect(lambda c: self.events(job_id, c)):
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

    # -- cost -------------------------------------------------------------------------------
    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        """What a training run (`tokens`: billed tokens in one epoch of its training file) or a
        deployment (per hour) would cost, from the provider's price data file. Never billed."""
        return CostEstimate(basis=f"provider {self.name!r} has no price data")

    # -- deployments (capability "deploy") --------------------------------------------------
    async def deploy(self, spec: DeploySpec) -> Deployment:
        """Start making `spec.model` callable; returns at once, usually `creating`. Billed hourly:
        callers confirm with the user first (`ftui.deployments` has the wait and the guard)."""
        if self.supports("no_deploy_needed"):
            from ftui.errors import ProviderError

            raise ProviderError(
                f"provider {self.name!r} needs no deployment: chat with {spec.model} directly",
                code="no_deploy_needed",
            )
        raise self._unsupported("deployments")

    async def deployments(self, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        raise self._unsupported("deployments")

    async def deployment(self, deployment_id: str) -> Deployment:
        raise self._unsupported("deployments")

    async def undeploy(self, deployment_id: str) -> Deployment:
        """Start deleting; returns `deleting` (or `deleted`). Billing stops when it is gone."""
        raise self._unsupported("deployments")

    # -- inference --------------------------------------------------------------------------
    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        """Stream the reply's text, piece by piece. `model` is a model or checkpoint name, or, on
        a provider with "deploy", a deployment id (`Deployment.id`)."""
        raise self._unsupported("chat")
        yield  # pragma: no cover - makes this an async generator, as overrides are

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
