"""LocalProvider: real LoRA fine-tuning on this machine, in detached worker processes.

Jobs live in `<data>/local/jobs/<job-id>/` (see `jobdir.py` and `jobs.py`), uploaded files in
`<data>/local/files/` (see `files.py`). Every blocking call runs in a thread; torch and the
trainer are imported only inside the worker and inside chat.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    Checkpoint,
    CostEstimate,
    DeploySpec,
    Job,
    JobEvent,
    JobSpec,
    Page,
    RemoteFile,
)
from ftui.provider import Capability, Progress, Provider, page_after
from ftui_local.files import FileStore, keep_for_job
from ftui_local.jobdir import JobDir
from ftui_local.jobs import JobManager, _parse_time
from ftui_local.naming import FILE_PREFIX, fine_tuned_name, parse_fine_tuned, short_id
from ftui_local.settings import LocalSettings
from ftui_local.train_hparams import EXTRA as TRAINER_KNOBS

if TYPE_CHECKING:
    from ftui.store import Store

_MAX_ERRORS_IN_MESSAGE = 3


def _generation_error(exc: BaseException) -> FtuiError:
    """What a generation that failed tells the user: one line, never a traceback."""
    if isinstance(exc, FtuiError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "inf" in text and "nan" in text:  # torch.multinomial on a model whose weights went NaN
        text = "the model's outputs are not finite numbers (its weights may be broken)"
    return ProviderError(f"generation failed: {text}", code="generation_failed", status=500)


def _field(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def describe_invalid(path: str, report: Any) -> str:
    """`path: N errors; line 3: code: message; ...` from a ValidationReport."""
    errors = list(_field(report, "errors", []) or [])
    parts = []
    for err in errors[:_MAX_ERRORS_IN_MESSAGE]:
        line = _field(err, "line")
        where = f"line {line}: " if line else ""
        parts.append(f"{where}{_field(err, 'code', 'error')}: {_field(err, 'message', '')}")
    count = max(_field(report, "error_count", 0) or 0, len(errors))  # the report may cap its list
    more = count - len(parts)
    summary = f"{path}: {count} error{'s' if count != 1 else ''}"
    text = "; ".join([summary, *parts])
    return text + (f"; and {more} more (run `ftui data validate {path}`)" if more > 0 else "")


def _prepare_in_a_process(model: str, progress: Progress | None) -> None:
    """The one-time conversion in its own process: pure-Python GGUF parsing would hold the caller's
    GIL for tens of seconds (a TUI's loop with it), and the fp32 weights it builds are freed with it."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "ftui_local.models", "prepare", model],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    for line in proc.stdout:
        parts = line.split()
        if progress is not None and len(parts) == 3 and parts[0] == "PROGRESS":
            progress(int(parts[1]), int(parts[2]))
    errors = proc.stderr.read()
    if proc.wait() != 0:
        said = [x for x in errors.splitlines() if x.startswith("error: ")]
        reason = said[-1].removeprefix("error: ") if said else (errors.strip().splitlines() or ["?"])[-1]
        raise ProviderError(f"preparing {model} failed: {reason}", code="model_not_ready")


class LocalProvider(Provider[LocalSettings]):
    name = "local"
    description = "LoRA fine-tuning on this machine (CPU or GPU), offline"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"supervised", "dpo", "reinforcement", "pause", "checkpoints", "chat", "upload", "no_deploy_needed"}
    )
    settings_model = LocalSettings
    extra_hyperparameters = TRAINER_KNOBS
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers", "peft", "trl")
    extra = "local"

    def __init__(self, settings: LocalSettings, profile: str = "default", store: Store | None = None) -> None:
        super().__init__(settings, profile, store)
        self._tokenizers: dict[str, Any] = {}

    async def aclose(self) -> None:
        generate = sys.modules.get("ftui_local.generate")  # only if chat ever loaded a model
        if generate is not None:
            generate.cancel_all()
            await asyncio.to_thread(generate.clear_cache)

    @property
    def manager(self) -> JobManager:
        return JobManager(max_concurrent=self.settings.max_concurrent_jobs)

    @property
    def file_store(self) -> FileStore:
        return FileStore()

    # -- models -----------------------------------------------------------------------------
    async def base_models(self) -> list[BaseModelInfo]:
        def load() -> list[BaseModelInfo]:
            from ftui_local.models import catalog

            out = []
            for entry in catalog():
                if isinstance(entry, BaseModelInfo):
                    out.append(entry)
                elif isinstance(entry, dict):
                    out.append(BaseModelInfo.model_validate({"provider": self.name, **entry}))
                else:
                    out.append(
                        BaseModelInfo(
                            id=_field(entry, "id") or _field(entry, "name"),
                            provider=self.name,
                            description=_field(entry, "description", "") or "",
                            context_length=_field(entry, "context_length"),
                        )
                    )
            return out

        return await asyncio.to_thread(load)

    async def fine_tuned_models(self) -> list[BaseModelInfo]:
        def load() -> list[BaseModelInfo]:
            out = []
            for jd in self.manager.all_dirs():
                spec, state = jd.read_spec(), jd.read_state()
                if state.get("status") == "succeeded" and jd.adapter_dir.exists():
                    out.append(
                        BaseModelInfo(
                            id=spec["fine_tuned_model"],
                            provider=self.name,
                            fine_tuned=True,
                            methods=[spec.get("method", "supervised")],
                            description=f"{spec.get('base_model')} + LoRA adapter from {jd.job_id}",
                        )
                    )
            return out

        return await asyncio.to_thread(load)

    async def prepare_model(self, model: str, progress: Progress | None = None) -> None:
        from ftui_local.models import needs_preparing

        if needs_preparing(model):
            await asyncio.to_thread(_prepare_in_a_process, model, progress)

    def _find_model_job(self, model: str) -> tuple[JobDir, int | None]:
        ref = parse_fine_tuned(model)
        if ref is not None:
            for jd in self.manager.all_dirs():
                if short_id(jd.job_id) == ref.short and jd.read_spec().get("fine_tuned_model") == ref.name:
                    return jd, ref.step
        raise NotFound("model", model)

    def resolve_model(self, model: str) -> tuple[str, str | None]:
        """(base model name, adapter folder or None) for a base, fine-tuned or checkpoint name."""
        if model.startswith("ft:"):
            jd, step = self._find_model_job(model)
            base = jd.read_spec()["base_model"]
            if step is None:
                state = jd.read_state()
                if state.get("model_deleted") or (
                    state.get("status") == "succeeded" and not jd.adapter_dir.exists()
                ):
                    raise NotFound("model", f"{model} (deleted; its checkpoints remain)")
                if state.get("status") != "succeeded":
                    raise ProviderError(
                        f"model {model} is not available: its job {jd.job_id} is "
                        f"{state.get('status')}; chat with one of its checkpoints instead",
                        code="model_not_ready",
                        status=404,
                    )
                return base, str(jd.adapter_dir)
            for ckpt in jd.checkpoints():
                if ckpt["step"] == step:
                    return base, str(ckpt["path"])
            raise NotFound("checkpoint", model)
        from ftui_local.models import resolve_base

        try:
            resolve_base(model)
        except FtuiError as exc:
            raise NotFound("model", f"{model} ({exc})") from None
        return model, None

    async def delete_model(self, model: str) -> None:
        def delete() -> None:
            jd, step = self._find_model_job(model)
            if step is None:
                shutil.rmtree(jd.adapter_dir, ignore_errors=True)
                jd.update_state(model_deleted=True)
                jd.append_event(f"Model {model} deleted (adapter removed; the job record is kept)")
                return
            for ckpt in jd.checkpoints():
                if ckpt["step"] == step:
                    shutil.rmtree(ckpt["path"], ignore_errors=True)
                    jd.append_event(f"Checkpoint {model} deleted")
                    return
            raise NotFound("checkpoint", model)

        await asyncio.to_thread(delete)

    # -- files ------------------------------------------------------------------------------
    def _remote_file(self, meta: dict[str, Any]) -> RemoteFile:
        return RemoteFile(
            id=meta["id"],
            provider=self.name,
            filename=meta["filename"],
            bytes=meta["bytes"],
            purpose=meta.get("purpose", "fine-tune"),
            created_at=_parse_time(meta["created_at"]) or datetime.now(UTC),
            sha256=meta.get("sha256"),
        )

    async def upload(
        self,
        path: Path,
        purpose: str = "fine-tune",
        progress: Progress | None = None,
        *,
        sha256: str | None = None,
    ) -> RemoteFile:
        meta = await asyncio.to_thread(self.file_store.upload, Path(path), purpose, progress)
        return self._remote_file(meta)

    async def files(self, limit: int = 100, cursor: str | None = None) -> Page[RemoteFile]:
        found = [self._remote_file(m) for m in await asyncio.to_thread(self.file_store.list)]
        return page_after(found, limit, cursor, key=lambda f: f.id)

    async def file(self, file_id: str) -> RemoteFile:
        return self._remote_file(await asyncio.to_thread(self.file_store.get, file_id))

    async def delete_file(self, file_id: str) -> None:
        await asyncio.to_thread(self.file_store.delete, file_id)

    async def file_content(self, file_id: str) -> bytes:
        return await asyncio.to_thread(self.file_store.content, file_id)

    # -- jobs -------------------------------------------------------------------------------
    def _dataset_path(self, ref: str, param: str) -> Path:
        if ref.startswith(FILE_PREFIX) and not Path(ref).exists():
            return self.file_store.path(ref)
        path = Path(ref).expanduser()
        if not path.is_file():
            raise ProviderError(f"{param}: no such file: {ref}", code="file_not_found", status=400)
        return path

    def _validate(self, path: Path, label: str, method: str, base: str, code: str) -> Any:
        from ftui.data.validate import validate_path

        report = validate_path(path, method=method, model=base, tokenizer=self.tokenizer(base))
        if not _field(report, "valid", False):
            raise ProviderError(describe_invalid(label, report), code=code, status=400)
        return report

    def _check_grader(self, spec: JobSpec) -> None:
        from ftui.graders.base import GraderError
        from ftui.graders.registry import parse

        if spec.grader is None:
            raise ProviderError(
                "reinforcement fine-tuning needs a grader (method.reinforcement.grader)",
                code="missing_grader",
                status=400,
            )
        try:
            grader = parse(spec.grader, "grader")
        except GraderError as exc:
            raise ProviderError(f"invalid grader: {exc}", code="invalid_grader", status=400) from None
        problem = grader.unsupported_here()
        if problem:
            raise ProviderError(f"invalid grader: {problem}", code="invalid_grader", status=400)

    def _create(self, spec: JobSpec) -> Job:
        if spec.method == "reinforcement":
            self._check_grader(spec)
        from ftui.hyperparameters import check
        from ftui_local.models import resolve_base

        # Whatever the worker would refuse is refused here, before a job exists.
        spec = spec.model_copy(
            update={"hyperparameters": check(spec.hyperparameters, spec.method, self.extra_hyperparameters)}
        )

        # An unknown base model fails here, before any job exists. A folder is kept as its absolute
        # path (the worker runs elsewhere), and named by its folder in the model name.
        base = resolve_base(spec.base_model)
        display_base = Path(base).name if base != spec.base_model and Path(base).is_dir() else base
        train_path = self._dataset_path(spec.training_file, "training_file")
        report = self._validate(train_path, spec.training_file, spec.method, base, "invalid_training_file")
        valid_path = None
        if spec.validation_file:
            valid_path = self._dataset_path(spec.validation_file, "validation_file")
            self._validate(valid_path, spec.validation_file, spec.method, base, "invalid_validation_file")
        init_from = None
        if spec.init_from:
            _, init_from = self.resolve_model(spec.init_from)
            if init_from is None:
                raise ProviderError(
                    f"init_from: {spec.init_from} is a base model; name a fine-tuned model or checkpoint",
                    code="invalid_init_from",
                    status=400,
                )

        manager = self.manager
        jd = manager.new_dir()
        try:
            # A job keeps what it needs: its own name for its data, so deleting the uploaded file
            # while it trains, or editing the original, changes nothing about the job.
            store = self.file_store.root
            train_path = keep_for_job(
                train_path, jd.path / "training.jsonl", immutable=train_path.parent == store
            )
            if valid_path is not None:
                valid_path = keep_for_job(
                    valid_path, jd.path / "validation.jsonl", immutable=valid_path.parent == store
                )
            examples = _field(report, "examples")
            tokens = _field(_field(report, "tokens"), "total")
            note = (
                f"Validated training file {spec.training_file}"
                + (f": {examples} examples" if examples is not None else "")
                + (f", {tokens} tokens" if tokens is not None else "")
            )
            record = {
                "base_model": base,
                "method": spec.method,
                "training_path": str(train_path),
                "validation_path": str(valid_path) if valid_path else None,
                "training_file": spec.training_file,
                "validation_file": spec.validation_file,
                "hyperparameters": spec.hyperparameters.model_dump(mode="json"),
                "seed": spec.seed if spec.seed is not None else random.randint(0, 2**31 - 1),
                "suffix": spec.suffix,
                "fine_tuned_model": fine_tuned_name(display_base, spec.suffix, jd.job_id),
                "device": self.settings.device,
                "init_from": init_from,
                "resume": False,
                "metadata": spec.metadata,
                # Reinforcement: the grader object as given (the trainer reads it; judges resolve
                # their models through this profile's config).
                "grader": spec.grader,
                "profile": self.profile,
            }
            manager.submit(jd, record, notes=[note])
        except BaseException:
            shutil.rmtree(jd.path, ignore_errors=True)
            raise
        manager.schedule()
        return manager.to_job(jd)

    async def create_job(self, spec: JobSpec) -> Job:
        return await asyncio.to_thread(self._create, spec)

    def _list(self, limit: int, cursor: str | None) -> Page[Job]:
        manager = self.manager
        manager.schedule()
        dirs = page_after(manager.all_dirs(), limit, cursor, key=lambda d: d.job_id)
        return Page[Job](
            items=[manager.to_job(d) for d in dirs.items],
            next_cursor=dirs.next_cursor,
            has_more=dirs.has_more,
        )

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        return await asyncio.to_thread(self._list, limit, cursor)

    def _job(self, job_id: str) -> Job:
        manager = self.manager
        jd = manager.dir(job_id)
        manager.schedule()
        return manager.to_job(jd)

    async def job(self, job_id: str) -> Job:
        return await asyncio.to_thread(self._job, job_id)

    async def _steer(self, act: Callable[[JobManager, str], JobDir], job_id: str) -> Job:
        def call() -> Job:
            manager = self.manager
            return manager.to_job(act(manager, job_id))

        return await asyncio.to_thread(call)

    async def cancel(self, job_id: str) -> Job:
        return await self._steer(JobManager.cancel, job_id)

    async def pause(self, job_id: str) -> Job:
        return await self._steer(JobManager.pause, job_id)

    async def resume(self, job_id: str) -> Job:
        return await self._steer(JobManager.resume, job_id)

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        found = await asyncio.to_thread(self.manager.events, job_id, cursor)
        return Page[JobEvent](items=found, next_cursor=found[-1].id if found else cursor)

    async def checkpoints(self, job_id: str) -> list[Checkpoint]:
        return await asyncio.to_thread(self.manager.checkpoints, job_id)

    # -- cost -------------------------------------------------------------------------------
    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        if isinstance(spec, DeploySpec):
            return CostEstimate(total=0.0, basis="no deployment needed: models are served on this machine")
        return CostEstimate(
            total=0.0,
            billed_tokens=None,
            basis=f"trains on this machine ({self.settings.device}): nothing is billed",
        )

    # -- inference --------------------------------------------------------------------------
    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        from ftui_local.generate import Request, submit

        params = params or ChatParams()
        base, adapter = await asyncio.to_thread(self.resolve_model, model)
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[Any] = asyncio.Queue()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(pieces.put_nowait, item)

        # The generation thread batches this request with others that wait beside it; its pieces
        # come back through the loop, so no worker thread sits blocked per open chat.
        request = Request(
            base,
            adapter,
            [m.model_dump() for m in messages],
            emit,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=list(params.stop),
            seed=params.seed,
            device=self.settings.device,
        )
        submit(request)
        try:
            while True:
                item = await pieces.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise _generation_error(item) from None
                if item:
                    yield item
        finally:
            request.cancel()

    def tokenizer(self, model: str) -> Any:
        ref = parse_fine_tuned(model)
        base = ref.base if ref else model
        if base not in self._tokenizers:
            try:
                from ftui_local.hf_tokenizer import HFTokenizer
            except ImportError:  # a partial install: validation falls back to name-based counts
                return None
            self._tokenizers[base] = HFTokenizer(base)
        return self._tokenizers[base]

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "device": self.settings.device,
            "max_concurrent_jobs": self.settings.max_concurrent_jobs,
        }
