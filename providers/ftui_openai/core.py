"""The OpenAI-shaped data plane through the official SDK, shared by every provider that speaks it
(OpenAI and compatible endpoints, Azure OpenAI). A subclass says how to build its client, how to
read its backend's statuses and errors, and what a create request carries on top (`_make_client`,
`statuses`, `_error`, `_create_params`).

The SDK's own retries (max_retries, exponential backoff honouring Retry-After) cover every call but
job creation: a create whose answer was lost may have made the job, so it is retried here, after
looking for a job carrying the same `ftui_request_id` in its metadata.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ftui.errors import FtuiError, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    Checkpoint,
    Job,
    JobEvent,
    JobSpec,
    JobStatus,
    Page,
    RemoteFile,
)
from ftui.provider import Progress, Provider
from ftui.uploads import file_ref, sha256_file, size_of
from ftui_openai.convert import OPENAI_STATUS, create_params, to_checkpoint, to_event, to_file, to_job
from ftui_openai.settings import ApiSettings

if TYPE_CHECKING:
    from ftui.store import Store

T = TypeVar("T")
A = TypeVar("A", bound=ApiSettings)
MB = 1024 * 1024
CHUNK = 4 * MB


def _read_part(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAICompatibleProvider(Provider[A]):
    # The backend's job statuses in ftui's words; a word not here is shown as it is.
    statuses: dict[str, JobStatus] = OPENAI_STATUS

    # Above this size, files go through the Uploads API in parts (OpenAI's Files limit is 512 MB).
    upload_threshold: int = 512 * MB
    upload_part_size: int = 64 * MB
    events_page: int = 20

    def __init__(self, settings: A, profile: str = "default", store: Store | None = None) -> None:
        super().__init__(settings, profile, store)
        self._client: Any = None
        self._secret: str | None = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        """The SDK client (an `openai.AsyncOpenAI` or a subclass); sets `_secret` to what must
        never be shown."""
        raise NotImplementedError

    def _error(self, exc: Exception) -> FtuiError:
        """The SDK's exception as a message a user can act on."""
        raise NotImplementedError

    def _to_job(self, obj: Any) -> Job:
        return to_job(obj, self.name, self.statuses)

    def _is_fine_tuned(self, model_id: str) -> bool:
        return model_id.startswith("ft:")

    def _create_params(
        self, spec: JobSpec, training: str, validation: str | None, request_id: str
    ) -> dict[str, Any]:
        return create_params(spec, training, validation, request_id)

    async def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        import openai

        try:
            return await fn(*args, **kwargs)
        except openai.OpenAIError as exc:
            raise self._error(exc) from None

    async def _all(self, paginator: Any) -> list[Any]:
        import openai

        try:
            return [item async for item in paginator]
        except openai.OpenAIError as exc:
            raise self._error(exc) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- models -----------------------------------------------------------------------------
    async def _models(self) -> list[Any]:
        return await self._all(self.client.models.list())

    async def base_models(self) -> list[BaseModelInfo]:
        return [
            BaseModelInfo(id=m.id, provider=self.name)
            for m in await self._models()
            if not self._is_fine_tuned(m.id)
        ]

    async def fine_tuned_models(self) -> list[BaseModelInfo]:
        return [
            BaseModelInfo(id=m.id, provider=self.name, fine_tuned=True)
            for m in await self._models()
            if self._is_fine_tuned(m.id)
        ]

    async def delete_model(self, model: str) -> None:
        await self._call(self.client.models.delete, model)

    # -- files ------------------------------------------------------------------------------
    async def upload(
        self,
        path: Path,
        purpose: str = "fine-tune",
        progress: Progress | None = None,
        *,
        sha256: str | None = None,
    ) -> RemoteFile:
        path = Path(path)
        size = size_of(path)
        if size > self.upload_threshold:
            # The resumable session is keyed on the content: upload_once passes its hash.
            sha = sha256 if sha256 else await asyncio.to_thread(sha256_file, path)
            remote = await self._upload_in_parts(path, size, sha, purpose, progress)
        else:
            if progress:
                progress(0, size)
            data = await asyncio.to_thread(path.read_bytes)
            remote = to_file(
                await self._call(self.client.files.create, file=(path.name, data), purpose=purpose), self.name
            )
            if progress:
                progress(size, size)
        return remote

    async def _upload_in_parts(
        self, path: Path, size: int, sha: str, purpose: str, progress: Progress | None
    ) -> RemoteFile:
        """The Uploads API, one part at a time; the session is saved after every part, so an
        interrupted upload resumes where it stopped."""
        session = self.store.upload_session(self.profile, sha)
        for attempt in range(2):
            if session is None:
                mime = "text/jsonl" if path.suffix == ".jsonl" else "application/octet-stream"
                upload = await self._call(
                    self.client.uploads.create,
                    bytes=size,
                    filename=path.name,
                    mime_type=mime,
                    purpose=purpose,
                )
                session = {"upload_id": upload.id, "parts": []}
                self.store.save_upload_session(self.profile, sha, upload.id, [])
            upload_id, parts = session["upload_id"], list(session["parts"])
            offset = len(parts) * self.upload_part_size
            try:
                while offset < size:
                    if progress:
                        progress(offset, size)
                    data = await asyncio.to_thread(_read_part, path, offset, self.upload_part_size)
                    part = await self._call(
                        self.client.uploads.parts.create,
                        upload_id,
                        data=(f"{path.name}.part{len(parts)}", data),
                    )
                    parts.append(part.id)
                    offset += len(data)
                    self.store.save_upload_session(self.profile, sha, upload_id, parts)
                done = await self._call(self.client.uploads.complete, upload_id, part_ids=parts)
            except ProviderError as exc:
                # A stale session (expired or cancelled upload): start once more from scratch.
                if (
                    attempt == 0
                    and session is not None
                    and exc.status in (400, 404)
                    and parts == list(session["parts"])
                ):
                    self.store.drop_upload_session(self.profile, sha)
                    session = None
                    continue
                raise
            self.store.drop_upload_session(self.profile, sha)
            if progress:
                progress(size, size)
            if done.file is None:
                raise ProviderError(f"upload {upload_id} completed without a file", code="upload_failed")
            return to_file(done.file, self.name)
        raise ProviderError("upload failed twice", code="upload_failed")  # pragma: no cover

    async def files(self, limit: int = 100, cursor: str | None = None) -> Page[RemoteFile]:
        kwargs: dict[str, Any] = {"limit": limit}
        if cursor:
            kwargs["after"] = cursor
        page = await self._call(self.client.files.list, **kwargs)
        items = [to_file(f, self.name) for f in page.data]
        more = bool(getattr(page, "has_more", False)) and bool(items)
        return Page[RemoteFile](items=items, next_cursor=items[-1].id if more else None, has_more=more)

    async def file(self, file_id: str) -> RemoteFile:
        return to_file(await self._call(self.client.files.retrieve, file_id), self.name)

    async def delete_file(self, file_id: str) -> None:
        await self._call(self.client.files.delete, file_id)
        self.store.forget_upload(self.profile, file_id)

    async def file_content(self, file_id: str) -> bytes:
        response = await self._call(self.client.files.content, file_id)
        return response.content

    # -- jobs -------------------------------------------------------------------------------
    async def create_job(self, spec: JobSpec) -> Job:
        import openai

        training = await file_ref(self, spec.training_file)
        assert training is not None
        validation = await file_ref(self, spec.validation_file)
        request_id = spec.metadata.get("ftui_request_id") or secrets.token_hex(12)
        params = self._create_params(spec, training, validation, request_id)
        once = self.client.with_options(max_retries=0)
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._to_job(await once.fine_tuning.jobs.create(**params))
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
                if attempt == attempts - 1:
                    raise self._error(exc) from None
                # The request may have reached the server and made the job before the answer was
                # lost: find it rather than make a second one.
                if not isinstance(exc, openai.RateLimitError):
                    existing = await self._job_by_request_id(request_id)
                    if existing is not None:
                        return existing
                wait = _retry_after(exc)
                await asyncio.sleep(min(wait if wait is not None else 0.5 * 2**attempt, 30.0))
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _job_by_request_id(self, request_id: str) -> Job | None:
        page = await self._call(
            self.client.fine_tuning.jobs.list, metadata={"ftui_request_id": request_id}, limit=20
        )
        for job in page.data:
            if (job.metadata or {}).get("ftui_request_id") == request_id:
                return self._to_job(job)
        # A server that ignores the metadata filter: look through the newest jobs.
        page = await self._call(self.client.fine_tuning.jobs.list, limit=50)
        for job in page.data:
            if (job.metadata or {}).get("ftui_request_id") == request_id:
                return self._to_job(job)
        return None

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        kwargs: dict[str, Any] = {"limit": limit}
        if cursor:
            kwargs["after"] = cursor
        page = await self._call(self.client.fine_tuning.jobs.list, **kwargs)
        items = [self._to_job(j) for j in page.data]
        more = bool(page.has_more) and bool(items)
        return Page[Job](items=items, next_cursor=items[-1].id if more else None, has_more=more)

    async def job(self, job_id: str) -> Job:
        return self._to_job(await self._call(self.client.fine_tuning.jobs.retrieve, job_id))

    async def cancel(self, job_id: str) -> Job:
        return self._to_job(await self._call(self.client.fine_tuning.jobs.cancel, job_id))

    async def pause(self, job_id: str) -> Job:
        return self._to_job(await self._call(self.client.fine_tuning.jobs.pause, job_id))

    async def resume(self, job_id: str) -> Job:
        return self._to_job(await self._call(self.client.fine_tuning.jobs.resume, job_id))

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        """Oldest first. The API pages newest first with `after` going older, so fetch pages from
        the newest until the last seen event turns up: a poll costs one small request."""
        after = cursor
        fresh: list[Any] = []
        page_cursor: str | None = None
        limit = self.events_page if after else 100
        while True:
            kwargs: dict[str, Any] = {"limit": limit}
            if page_cursor:
                kwargs["after"] = page_cursor
            page = await self._call(self.client.fine_tuning.jobs.list_events, job_id, **kwargs)
            reached = False
            for event in page.data:
                if after is not None and event.id == after:
                    reached = True
                    break
                fresh.append(event)
            if reached or not page.has_more or not page.data:
                break
            page_cursor = page.data[-1].id
        return Page[JobEvent](
            items=[to_event(e) for e in reversed(fresh)], next_cursor=fresh[0].id if fresh else after
        )

    async def checkpoints(self, job_id: str) -> list[Checkpoint]:
        items = await self._all(self.client.fine_tuning.jobs.checkpoints.list(job_id, limit=100))
        return [to_checkpoint(c) for c in items]

    # -- inference --------------------------------------------------------------------------
    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        import openai

        params = params or ChatParams()
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [m.model_dump() for m in messages],
            "stream": True,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_completion_tokens": params.max_tokens,
        }
        if params.stop:
            kwargs["stop"] = params.stop
        if params.seed is not None:
            kwargs["seed"] = params.seed
        stream = await self._call(self.client.chat.completions.create, **kwargs)
        try:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        finally:
            await stream.close()
