"""AzureMLProvider: fine-tuning open models (Phi, Llama, Mistral) on Azure ML / Foundry through
azure-ai-ml, behind the small adapter in `ftui_azure.azureml_backend`.

Training runs serverless (pay as you go) unless the profile names a compute cluster (`compute`) or
a VM size for managed compute (`instance_type` x `instance_count`). Validation data is always
passed (azure-ai-ml needs it); when none is given, ftui's own split takes a fraction of the
training file and the job says so in its first event. The result is a registered model,
served by a serverless endpoint with an OpenAI-style chat route.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    CostEstimate,
    Deployment,
    DeploymentStatus,
    DeploySpec,
    Hyperparameters,
    Job,
    JobEvent,
    JobSpec,
    JobStatus,
    MetricPoint,
    Page,
    RemoteFile,
)
from ftui.provider import Capability, Progress, Provider, page_after
from ftui_azure.settings import AzureMLSettings

if TYPE_CHECKING:
    from ftui.store import Store
    from ftui_azure.azureml_backend import AzureMLBackend

T = TypeVar("T")

# azure-ai-ml's JobStatus into ftui's; the word itself stays in status_detail where it differs.
AML_STATUS: dict[str, JobStatus] = {
    "NotStarted": "queued",
    "Starting": "queued",
    "Provisioning": "queued",
    "Preparing": "queued",
    "Queued": "queued",
    "Running": "running",
    "Finalizing": "running",
    "CancelRequested": "running",
    "NotResponding": "running",
    "Paused": "paused",
    "Completed": "succeeded",
    "Failed": "failed",
    "Canceled": "cancelled",
}
ENDPOINT_STATUS: dict[str, DeploymentStatus] = {
    "Creating": "creating",
    "Updating": "creating",
    "Provisioning": "creating",
    "Succeeded": "ready",
    "Failed": "failed",
    "Canceled": "failed",
    "Deleting": "deleting",
}
# MLflow metric keys the fine-tuning pipeline logs, into MetricPoint fields.
METRIC_KEYS = {
    "loss": "train_loss",
    "train_loss": "train_loss",
    "eval_loss": "valid_loss",
    "valid_loss": "valid_loss",
    "learning_rate": "learning_rate",
    "epoch": "epoch",
}
ENDPOINT_NOTICE = (
    "A serverless endpoint for a fine-tuned model is billed for hosting every hour it exists, "
    "plus tokens; one unused for 15 days is deleted (the model is kept)"
)


def _name(text: str, limit: int) -> str:
    """An Azure ML resource name: letters, digits and '-', starting with a letter."""
    clean = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")
    clean = clean if clean[:1].isalpha() else f"ftui-{clean}"
    return clean[:limit].rstrip("-")


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


class AzureMLProvider(Provider[AzureMLSettings]):
    name = "azureml"
    description = "Azure ML / Foundry fine-tuning of open models (Phi, Llama, Mistral) through azure-ai-ml"
    # No "upload": data assets are made from local files as jobs need them (uploaded once, by
    # content), and live on in the workspace's storage, where Azure ML studio lists and archives them.
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"supervised", "chat", "deploy"})
    settings_model = AzureMLSettings
    requires: ClassVar[tuple[str, ...]] = ("azure.ai.ml", "azure.identity", "openai")
    extra = "azure"

    def __init__(
        self,
        settings: AzureMLSettings,
        profile: str = "default",
        store: Store | None = None,
        *,
        backend: AzureMLBackend | None = None,
        credential: Any = None,
    ) -> None:
        super().__init__(settings, profile, store)
        self._backend = backend
        self._credential = credential
        self._chat_clients: dict[str, Any] = {}

    @property
    def backend(self) -> AzureMLBackend:
        if self._backend is None:
            from ftui_azure.azureml_backend import SdkBackend

            if self._credential is None:
                from ftui_azure.auth import default_credential

                self._credential = default_credential()
            self._backend = SdkBackend(self.settings, self._credential)
        return self._backend

    async def _run(self, fn: Callable[[AzureMLBackend], T]) -> T:
        """A blocking backend call in a thread, its Azure errors as messages."""
        from azure.core.exceptions import AzureError, ClientAuthenticationError

        def call() -> T:
            return fn(self.backend)

        try:
            return await asyncio.to_thread(call)
        except ClientAuthenticationError as exc:
            from ftui_azure.auth import credential_error

            raise credential_error(exc, "Azure ML") from None
        except AzureError as exc:
            from ftui_azure.errors import management_error

            raise management_error(exc) from None

    async def aclose(self) -> None:
        for client in self._chat_clients.values():
            await client.close()
        self._chat_clients.clear()

    # -- models -----------------------------------------------------------------------------
    async def base_models(self) -> list[BaseModelInfo]:
        names = await self._run(lambda b: b.base_models())
        return [
            BaseModelInfo(id=n, provider=self.name, description=f"registry {self.settings.registry}")
            for n in names
        ]

    # -- files ------------------------------------------------------------------------------
    def _file(self, asset: dict[str, Any]) -> RemoteFile:
        return RemoteFile(
            id=asset["id"],
            provider=self.name,
            filename=asset.get("name") or asset["id"],
            bytes=int(asset.get("bytes") or 0),
            created_at=_when(asset.get("created_at")),
        )

    async def upload(
        self,
        path: Path,
        purpose: str = "fine-tune",
        progress: Progress | None = None,
        *,
        sha256: str | None = None,
    ) -> RemoteFile:
        path = Path(path)
        if not path.is_file():
            raise FtuiError(f"{path}: not a file")
        size = path.stat().st_size
        # The content names the asset, so the same bytes map to the same asset everywhere.
        name = f"ftui-{sha256[:24]}" if sha256 else _name(f"ftui-{path.stem}-{secrets.token_hex(4)}", 60)
        if progress:
            progress(0, size)
        asset = await self._run(lambda b: b.upload_data(path, name))
        if progress:
            progress(size, size)
        return self._file({**asset, "name": path.name, "bytes": asset.get("bytes") or size})

    async def file(self, file_id: str) -> RemoteFile:
        if not file_id.startswith("azureml:"):
            raise NotFound("data asset", file_id)
        asset = await self._run(lambda b: b.data_asset(file_id))
        if asset is None:
            raise NotFound("data asset", file_id)
        return self._file(asset)

    # -- jobs -------------------------------------------------------------------------------
    async def _data_ref(self, ref: str) -> str:
        from ftui.uploads import upload_once

        path = Path(ref).expanduser()
        if path.is_file():
            return (await upload_once(self, path)).file.id
        if ref.startswith(("azureml:", "azureml://", "https://")):
            return ref
        raise FtuiError(f"{ref}: not a local file, nor a data asset id (azureml:NAME:VERSION)")

    def _hyperparameters(self, hp: Hyperparameters) -> dict[str, str]:
        if hp.learning_rate_multiplier != "auto":
            raise ProviderError(
                "Azure ML takes an absolute learning rate, not a multiplier: pass it as "
                "--hp learning_rate=0.00002",
                code="invalid_hyperparameter",
            )
        values: dict[str, Any] = {}
        if hp.n_epochs != "auto":
            values["num_train_epochs"] = hp.n_epochs
        if hp.batch_size != "auto":
            values["per_device_train_batch_size"] = hp.batch_size
        values.update(hp.extra)
        return {k: str(v) for k, v in values.items()}

    async def create_job(self, spec: JobSpec) -> Job:
        if spec.method != "supervised":
            raise ProviderError(
                f"Azure ML fine-tuning of open models takes supervised (chat-completion) jobs; "
                f"{spec.method} is not offered there",
                code="method_not_supported",
            )
        self.check_options(spec)
        hyperparameters = self._hyperparameters(spec.hyperparameters)
        note = None
        if spec.validation_file:
            training = await self._data_ref(spec.training_file)
            validation = await self._data_ref(spec.validation_file)
        else:
            source = Path(spec.training_file).expanduser()
            if not source.is_file():
                raise ProviderError(
                    "Azure ML needs validation data: give a validation file, or a local training file "
                    "for ftui to split one off",
                    code="validation_required",
                )
            training, validation, note = await self._split(source, spec.seed or 0)
        model_id = await self._run(lambda b: b.model_id(spec.base_model))
        name = _name(f"ftui-{secrets.token_hex(6)}", 60)
        base = model_id.rstrip("/").split("/models/")[-1].split("/")[0]
        output = _name(f"{base}-{spec.suffix or 'ftui'}-{secrets.token_hex(3)}", 60)
        tags = {**spec.metadata, "ftui": "1", "ftui_request_id": secrets.token_hex(12)}
        if note:
            tags["ftui_validation"] = note
        job = await self._run(
            lambda b: b.submit(
                name=name,
                model_id=model_id,
                training=training,
                validation=validation,
                hyperparameters=hyperparameters,
                output_name=output,
                tags=tags,
            )
        )
        return self._job(job)

    async def _split(self, source: Path, seed: int) -> tuple[str, str, str]:
        from ftui.data.split import split_file

        fraction = self.settings.validation_fraction
        with tempfile.TemporaryDirectory(prefix="ftui-split-") as tmp:
            stem = source.name.removesuffix(".jsonl")
            train_out, valid_out = Path(tmp) / f"{stem}.train.jsonl", Path(tmp) / f"{stem}.valid.jsonl"
            await asyncio.to_thread(split_file, source, fraction, seed, train_out, valid_out)
            with valid_out.open("rb") as fh:
                held = sum(1 for line in fh if line.strip())
            training = await self._data_ref(str(train_out))
            validation = await self._data_ref(str(valid_out))
        note = (
            f"no validation file was given: ftui split {held} example(s) ({fraction:.0%}) off "
            f"{source.name} with seed {seed}; they are not trained on"
        )
        return training, validation, note

    def _job(self, raw: dict[str, Any]) -> Job:
        word = str(raw.get("status") or "NotStarted")
        status = AML_STATUS.get(word, "running")
        hp = raw.get("hyperparameters") or {}
        epochs = str(hp.get("num_train_epochs") or "")
        return Job(
            id=raw["name"],
            provider=self.name,
            status=status,
            status_detail=None if word in ("Running", "Completed", "Failed", "Canceled") else word,
            base_model=raw.get("base_model") or "",
            fine_tuned_model=raw.get("output_model") if status == "succeeded" else None,
            created_at=_when(raw.get("created_at")),
            hyperparameters=Hyperparameters(
                n_epochs=int(epochs) if epochs.isdigit() else "auto",
                extra={k: v for k, v in hp.items() if k != "num_train_epochs"},
            ),
            training_file=raw.get("training_data") or None,
            validation_file=raw.get("validation_data") or None,
            metadata={k: str(v) for k, v in (raw.get("tags") or {}).items()},
            raw={k: v for k, v in raw.items() if k != "created_at"},
        )

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        items = [self._job(j) for j in await self._run(lambda b: b.jobs())]
        items.sort(key=lambda j: j.created_at, reverse=True)
        return page_after(items, limit, cursor, key=lambda j: j.id)

    async def job(self, job_id: str) -> Job:
        from azure.core.exceptions import ResourceNotFoundError

        def get(b: AzureMLBackend) -> dict[str, Any] | None:
            try:
                return b.job(job_id)
            except ResourceNotFoundError:
                return None

        raw = await self._run(get)
        if raw is None:
            raise NotFound("job", job_id)
        return self._job(raw)

    async def cancel(self, job_id: str) -> Job:
        await self._run(lambda b: b.cancel(job_id))
        return await self.job(job_id)

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        """Azure ML has no event feed: ftui's own note (a validation split), each status the job is
        seen in, and the MLflow metrics logged so far. The cursor is `STATUS|LAST_STEP`."""
        job = await self.job(job_id)
        word = job.status_detail or job.raw.get("status") or job.status
        last_status, _, last_step = (cursor or "|-1").partition("|")
        step_seen = int(last_step) if last_step.lstrip("-").isdigit() else -1
        now = datetime.now(UTC)
        items: list[JobEvent] = []
        if cursor is None and job.metadata.get("ftui_validation"):
            items.append(
                JobEvent(
                    id="ftui-validation", created_at=job.created_at, message=job.metadata["ftui_validation"]
                )
            )
        if word != last_status:
            items.append(
                JobEvent(
                    id=f"status-{word}",
                    created_at=now,
                    level="error" if job.status == "failed" else "info",
                    message=f"status: {word}",
                )
            )
        if job.status in ("running", "succeeded", "failed", "cancelled"):
            try:
                histories = await self._run(lambda b: b.metrics(job_id))
            except Exception as exc:  # metrics are a view; the job goes on without them
                histories = {}
                if cursor is None:
                    items.append(
                        JobEvent(
                            id="ftui-metrics",
                            created_at=now,
                            level="warn",
                            message=f"metrics not reachable from the workspace's MLflow tracking: {exc}",
                        )
                    )
            for point in _points(histories):
                if point.step > step_seen:
                    items.append(
                        JobEvent(
                            id=f"step-{point.step}",
                            created_at=now,
                            type="metrics",
                            message=f"step {point.step}",
                            metrics=point,
                        )
                    )
                    step_seen = point.step
        return Page[JobEvent](items=items, next_cursor=f"{word}|{step_seen}")

    # -- cost -------------------------------------------------------------------------------
    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        where = (
            f"compute cluster {self.settings.compute}"
            if self.settings.compute
            else f"managed compute {self.settings.instance_type} × {self.settings.instance_count}"
            if self.settings.instance_type
            else "serverless"
        )
        if isinstance(spec, DeploySpec):
            return CostEstimate(
                basis=f"serverless endpoint for {spec.model}: hourly hosting plus tokens at the model's "
                f"Marketplace rate, which ftui does not record. {ENDPOINT_NOTICE}"
            )
        return CostEstimate(
            basis=f"{where} training of {spec.base_model}: priced by the model's offer (serverless) or "
            "the VM hours (managed compute), which ftui does not record; see the model card in Foundry",
        )

    # -- deployments (serverless endpoints) -------------------------------------------------
    def _deployment(self, raw: dict[str, Any]) -> Deployment:
        word = str(raw.get("status") or "Creating")
        return Deployment(
            id=raw["name"],
            provider=self.name,
            model=str(raw.get("model") or ""),
            status=ENDPOINT_STATUS.get(word, "creating"),
            status_detail=None if word in ("Succeeded", "Creating") else word,
            endpoint=raw.get("url"),
            created_at=_when(raw["created_at"]) if raw.get("created_at") else None,
            sku="serverless",
            raw={k: v for k, v in raw.items() if k != "created_at"},
        )

    async def deploy(self, spec: DeploySpec) -> Deployment:
        name = spec.name or _name(f"{spec.model.split(':')[0]}-ep", 32)
        return self._deployment(await self._run(lambda b: b.create_endpoint(name, spec.model)))

    async def deployments(self, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        items = [self._deployment(e) for e in await self._run(lambda b: b.endpoints())]
        return page_after(items, limit, cursor, key=lambda d: d.id)

    async def deployment(self, deployment_id: str) -> Deployment:
        raw = await self._run(lambda b: b.endpoint(deployment_id))
        if raw is None:
            raise NotFound("deployment", deployment_id)
        return self._deployment(raw)

    async def undeploy(self, deployment_id: str) -> Deployment:
        current = await self.deployment(deployment_id)
        await self._run(lambda b: b.delete_endpoint(deployment_id))
        return current.model_copy(update={"status": "deleting", "status_detail": "Deleting"})

    # -- inference --------------------------------------------------------------------------
    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        """`model` is a serverless endpoint (a deployment id); its OpenAI-style route answers."""
        import openai

        client = self._chat_clients.get(model)
        if client is None:
            d = await self.deployment(model)
            if d.status != "ready" or not d.endpoint:
                raise ProviderError(f"endpoint {model} is {d.status}, not ready for chat", code="not_ready")
            key = await self._run(lambda b: b.endpoint_key(model))
            base = d.endpoint.rstrip("/")
            client = openai.AsyncOpenAI(base_url=base if base.endswith("/v1") else f"{base}/v1", api_key=key)
            self._chat_clients[model] = client
        params = params or ChatParams()
        # Open models' routes take max_tokens (max_completion_tokens is OpenAI's newer name).
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [m.model_dump() for m in messages],
            "stream": True,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            kwargs["stop"] = params.stop
        try:
            stream = await client.chat.completions.create(**kwargs)
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except openai.OpenAIError as exc:
            raise ProviderError(
                f"endpoint {model}: {type(exc).__name__}: {exc}", code="chat_failed"
            ) from None

    def describe(self) -> dict[str, Any]:
        s = self.settings
        where = (
            f"compute cluster {s.compute}"
            if s.compute
            else f"managed compute {s.instance_type} × {s.instance_count}"
            if s.instance_type
            else "serverless (pay as you go)"
        )
        return {
            **super().describe(),
            "workspace": f"{s.subscription_id}/{s.resource_group}/{s.workspace}",
            "registry": s.registry,
            "training runs on": where,
            "notice": ENDPOINT_NOTICE,
        }


def _points(histories: dict[str, list[tuple[int, float]]]) -> list[MetricPoint]:
    by_step: dict[int, dict[str, Any]] = {}
    for key, history in histories.items():
        field = METRIC_KEYS.get(key)
        for step, value in history:
            row = by_step.setdefault(step, {"extra": {}})
            if field:
                row[field] = value
            else:
                row["extra"][key] = value
    return [MetricPoint.model_validate({"step": s, **row}) for s, row in sorted(by_step.items())]
