"""AzureOpenAIProvider: Azure OpenAI fine-tuning on the OpenAI data plane (shared with the OpenAI
provider through `ftui_openai.core`), deployments on the management plane (`ftui_azure.arm`).

What differs from OpenAI, and lives here:
- the client: the v1 endpoint through plain `openai.AsyncOpenAI(base_url=.../openai/v1/)` by
  default; `openai.AsyncAzureOpenAI` only with a dated `api_version`, on `/openai/...` routes
  (pointed at /openai/v1/ it would send chat to a route v1 does not have);
- auth: an `api-key` from the environment or keyring, or a Microsoft Entra ID token;
- every job carries `trainingType` (Azure requires it; without it Azure answers with a misleading
  "base model does not support fine-tuning"), and a file must reach `processed` first;
- Azure's statuses (`pending`, `pausing`, `canceled`, ...) and model ids (`BASE.ft-HEX`);
- a fine-tuned model answers only through a deployment, billed per hour.
"""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ftui_openai.core import OpenAICompatibleProvider

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
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
from ftui.provider import Capability, Progress, collect, page_after
from ftui.secrets import MASK, looks_like_secret, mask_url, mask_value
from ftui_azure.convert import AZURE_STATUS, csv_points, decode_result_file, to_deployment
from ftui_azure.settings import TRAINING_TYPES, AzureSettings, deploy_sku, training_type

if TYPE_CHECKING:
    from ftui.store import Store

PRICES_FILE = Path(__file__).with_name("prices.toml")
CSV_CURSOR = "ftui-csv:"  # an events cursor after the metrics read from results.csv

TRAINING_HELP = "Standard: in region · GlobalStandard: cheaper, any region · Developer: cheapest, may pause"
DEPLOY_NOTICE = (
    "Azure bills a fine-tuned deployment for every hour it exists, called or not; a Developer "
    "(developertier) deployment has no hourly fee but is removed after 24 hours; any fine-tuned "
    "deployment left unused for 15 days is deleted (the model is kept and can be deployed again)"
)


@cache
def prices() -> dict[str, Any]:
    with PRICES_FILE.open("rb") as fh:
        return tomllib.load(fh)


def is_custom_model(model: str) -> bool:
    """A fine-tuned model (`BASE.ft-HEX`) or a checkpoint (`ftchkpt-HEX`): never a base model."""
    return ".ft-" in model or model.startswith("ftchkpt-")


def deployment_name(model: str) -> str:
    """A deployment name for `model`: Azure allows letters, digits, `-`, `_`, `.`, up to 64."""
    import re

    base, _, tail = model.partition(".ft-")
    name = f"{base}-ft-{tail[:12]}" if tail else model
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)[:64].strip("-.")


class AzureOpenAIProvider(OpenAICompatibleProvider[AzureSettings]):
    name = "azure"
    description = "Azure OpenAI fine-tuning (v1 or dated API), deployments through Azure Resource Manager"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"supervised", "dpo", "reinforcement", "pause", "checkpoints", "chat", "upload", "deploy"}
    )
    settings_model = AzureSettings
    requires: ClassVar[tuple[str, ...]] = ("openai", "azure.identity", "azure.mgmt.cognitiveservices")
    extra = "azure"
    statuses = AZURE_STATUS

    def __init__(
        self,
        settings: AzureSettings,
        profile: str = "default",
        store: Store | None = None,
        *,
        credential: Any = None,
    ) -> None:
        super().__init__(settings, profile, store)
        self._credential = credential  # a TokenCredential; None: DefaultAzureCredential when needed
        self._arm: Any = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def credential(self) -> Any:
        if self._credential is None:
            from ftui_azure.auth import default_credential

            self._credential = default_credential()
        return self._credential

    def _make_client(self) -> Any:
        import openai

        s = self.settings
        common: dict[str, Any] = {"timeout": s.timeout, "max_retries": s.max_retries}
        if s.auth == "entra":
            from ftui_azure.auth import token_provider

            key: Any = token_provider(self.credential)
        else:
            from ftui.secrets import get_secret

            if looks_like_secret(s.api_key_env):
                # The key itself was pasted where the variable's name goes: never print it.
                raise FtuiError(
                    f"profile {self.profile!r} (azure): api_key_env holds what looks like an API key, "
                    "not the name of an environment variable. Put the key in a variable (export "
                    "AZURE_OPENAI_API_KEY=...), set api_key_env to that name, and rotate the key."
                )
            key = get_secret(s.api_key_env, self.profile)
            if not key:
                raise FtuiError(
                    f"profile {self.profile!r} (azure) has no API key: set the environment variable "
                    f"{s.api_key_env}, or store it in the system keyring under service 'ftui', name "
                    f'{s.api_key_env!r}; or set auth = "entra" to sign in with Microsoft Entra ID'
                )
            self._secret = key
        if s.v1:
            # Plain OpenAI on the v1 routes: a key goes out as a bearer token, as Microsoft's own
            # v1 samples send it, and so does an Entra ID token (a callable key).
            return openai.AsyncOpenAI(api_key=key, base_url=f"{s.endpoint}/openai/v1/", **common)
        auth = {"azure_ad_token_provider": key} if s.auth == "entra" else {"api_key": key}
        return openai.AsyncAzureOpenAI(azure_endpoint=s.endpoint, api_version=s.api_version, **auth, **common)

    def _error(self, exc: Exception) -> FtuiError:
        from ftui_azure.errors import data_plane_error

        s = self.settings
        return data_plane_error(
            exc,
            endpoint=s.endpoint,
            auth=s.auth,
            key_env=MASK if looks_like_secret(s.api_key_env) else s.api_key_env,
            training_type=s.training_type,
            secret=self._secret,
            retries=s.max_retries,
        )

    def _is_fine_tuned(self, model_id: str) -> bool:
        return is_custom_model(model_id)

    async def aclose(self) -> None:
        await super().aclose()
        if self._arm is not None:
            await asyncio.to_thread(self._arm.close)
            self._arm = None

    # -- models -----------------------------------------------------------------------------
    async def base_models(self) -> list[BaseModelInfo]:
        """The resource's models that can be fine-tuned (Azure marks them), newest names first."""
        found = []
        for m in await self._models():
            if is_custom_model(m.id):
                continue
            caps = (getattr(m, "model_extra", None) or {}).get("capabilities") or {}
            if isinstance(caps, dict) and "fine_tune" in caps and not caps["fine_tune"]:
                continue
            found.append(BaseModelInfo(id=m.id, provider=self.name))
        return found

    # -- files ------------------------------------------------------------------------------
    async def upload(
        self,
        path: Path,
        purpose: str = "fine-tune",
        progress: Progress | None = None,
        *,
        sha256: str | None = None,
    ) -> RemoteFile:
        remote = await super().upload(path, purpose, progress, sha256=sha256)
        return await self._processed(remote)

    async def _processed(self, remote: RemoteFile) -> RemoteFile:
        """Azure checks an uploaded file before a job may use it: wait for `processed`."""
        from ftui_openai.convert import to_file

        deadline = time.monotonic() + self.settings.file_processing_timeout
        while remote.status != "processed":
            if remote.status in ("error", "deleted", "deleting"):
                raw = await self._call(self.client.files.retrieve, remote.id)
                detail = getattr(raw, "status_details", None)
                raise ProviderError(
                    f"Azure could not process {remote.filename} ({remote.id}): status {remote.status}"
                    + (f": {detail}" if detail else "")
                    + ". Azure wants UTF-8 JSONL (a BOM is fine) with at least 10 examples; check it "
                    "with `ftui data validate`",
                    code="file_error",
                )
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"{remote.filename} ({remote.id}) is still {remote.status} on Azure after "
                    f"{self.settings.file_processing_timeout:.0f} s; create the job again once it is "
                    "processed (the upload is not repeated)",
                    code="file_not_ready",
                )
            await asyncio.sleep(self.settings.poll_interval)
            remote = to_file(await self._call(self.client.files.retrieve, remote.id), self.name)
        return remote

    # -- jobs -------------------------------------------------------------------------------
    def job_options(self) -> list[JobOption]:
        return [
            JobOption(
                key="training_type",
                label="training type",
                choices=list(TRAINING_TYPES),
                default=self.settings.training_type,
                help=TRAINING_HELP,
            )
        ]

    def check_options(self, spec: JobSpec) -> dict[str, str]:
        options = dict(spec.options)
        if "training_type" in options:  # any spelling Azure's docs use
            try:
                options["training_type"] = training_type(options["training_type"])
            except ValueError as exc:
                raise ProviderError(f"option training_type: {exc}", code="invalid_option") from None
        return super().check_options(spec.model_copy(update={"options": options}))

    async def create_job(self, spec: JobSpec) -> Job:
        self.check_options(spec)
        if spec.method == "reinforcement" and not (spec.validation_file and spec.grader):
            raise ProviderError(
                "reinforcement fine-tuning on Azure needs a validation file and a grader as well as the "
                "training file (models: o4-mini-2025-04-16)",
                code="invalid_request",
            )
        # A local file is uploaded once and waited on; a file id given as is is waited on too.
        for ref in (spec.training_file, spec.validation_file):
            if ref and ref.startswith("file-") and not Path(ref).expanduser().is_file():
                await self._processed(await self.file(ref))
        return await super().create_job(spec)

    def _create_params(
        self, spec: JobSpec, training: str, validation: str | None, request_id: str
    ) -> dict[str, Any]:
        params = super()._create_params(spec, training, validation, request_id)
        tier = self.check_options(spec)["training_type"]
        params["extra_body"] = {"trainingType": tier}
        return params

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        """Azure's events, then, once the job has ended without metrics events, one metrics event per
        row of its results.csv (Azure puts the step metrics there, not in its events)."""
        real = cursor
        if cursor is not None and cursor.startswith(CSV_CURSOR):
            # The CSV rows were given; Azure's own events may still trickle in after them.
            real = cursor.removeprefix(CSV_CURSOR) or None
            if real is None:
                return Page[JobEvent](items=[], next_cursor=cursor)
            late = await super().events(job_id, real)
            return Page[JobEvent](items=late.items, next_cursor=CSV_CURSOR + (late.next_cursor or real))
        job = await self.job(job_id)  # first: events read after the job has ended are complete
        page = await super().events(job_id, cursor)
        if not job.done or not job.result_files:
            return page
        seen = (
            page.items
            if cursor is None
            else await collect(lambda c: super(AzureOpenAIProvider, self).events(job_id, c))
        )
        if any(e.metrics is not None for e in seen):
            return page
        text = decode_result_file(await self.file_content(job.result_files[0]))
        when = job.finished_at or job.created_at
        rows = [
            JobEvent(
                id=f"{CSV_CURSOR}{point.step}",
                created_at=when,
                type="metrics",
                message=f"step {point.step} (results.csv)",
                metrics=point,
            )
            for point in csv_points(text)
        ]
        return Page[JobEvent](items=page.items + rows, next_cursor=f"{CSV_CURSOR}{page.next_cursor or ''}")

    async def result_csv(self, job_id: str) -> bytes | None:
        job = await self.job(job_id)
        if job.result_files:
            return decode_result_file(await self.file_content(job.result_files[0])).encode()
        return await super().result_csv(job_id)

    # -- cost -------------------------------------------------------------------------------
    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        table = prices()
        if isinstance(spec, DeploySpec):
            sku = deploy_sku(spec.sku or self.settings.deploy_sku)
            row = table["hosting"].get(sku)
            if row is None:
                return CostEstimate(basis=f"no hosting price recorded for sku {sku}")
            developer = sku == "developertier"
            per_hour = 0.0 if developer else float(row["per_hour"]) * spec.capacity
            basis = (
                "developertier: no hourly hosting fee, tokens at the base model's rate; Azure removes it "
                "24 hours after it is made (no SLA, no data residency)"
                if developer
                else f"{sku} hosting ${row['per_hour']:.2f}/h × {spec.capacity}, billed every hour it "
                "exists, called or not, plus tokens; deleted by Azure after 15 days without calls"
            )
            return CostEstimate(
                per_hour=per_hour, basis=basis, source=str(row["source"]), as_of=str(row["as_of"])
            )
        tier = self.check_options(spec)["training_type"]
        if spec.method == "reinforcement":
            base = spec.base_model.split(".ft-")[0]
            row = next((v for k, v in table["training_hour"].items() if base.startswith(k)), None)
            if row is None:
                return CostEstimate(basis=f"no training-hour price recorded for {spec.base_model}")
            return CostEstimate(
                per_hour=float(row["per_hour"]),
                basis=f"reinforcement: ${row['per_hour']:.0f} per training hour plus grader tokens; "
                "the hours depend on the run (Azure pauses an RFT job at $5,000 until resumed)",
                source=str(row["source"]),
                as_of=str(row["as_of"]),
            )
        from ftui.data.prices import default_epochs

        epochs = spec.hyperparameters.n_epochs
        billed = None
        if tokens is not None:
            billed = tokens * (epochs if isinstance(epochs, int) else default_epochs(0))
        return CostEstimate(
            billed_tokens=billed,
            basis=(f"{billed:,} billed tokens" if billed is not None else "tokens × epochs")
            + f" at Azure's {tier} training rate for {spec.base_model}, which ftui does not record "
            "(by region and tier; Global is 10-30 % below Standard, Developer 50 % below Global): "
            "see the Azure OpenAI pricing page",
            source=str(PRICES_FILE.name),
            as_of="2026-02",
        )

    # -- deployments ------------------------------------------------------------------------
    def _deployments_client(self) -> Any:
        if self._arm is None:
            from ftui_azure.arm import ArmDeployments

            self._arm = ArmDeployments(self.settings, self.credential)
        return self._arm

    async def _management(self, fn: Any, *args: Any, spec: DeploySpec | None = None) -> Any:
        from azure.core.exceptions import AzureError

        from ftui_azure.errors import management_error

        def call() -> Any:
            return fn(self._deployments_client(), *args)

        try:
            return await asyncio.to_thread(call)
        except AzureError as exc:
            raise management_error(
                exc, sku=spec.sku if spec else None, capacity=spec.capacity if spec else None
            ) from None

    def _deployment(self, obj: Any) -> Deployment:
        hourly = {k: float(v["per_hour"]) for k, v in prices()["hosting"].items()}
        d = to_deployment(obj, self.name, self.settings.endpoint, hourly)
        if not is_custom_model(d.model):
            d = d.model_copy(update={"hourly_cost": None})  # base models: per token, no hosting fee
        elif d.hourly_cost is not None and d.capacity and d.sku != "developertier":
            d = d.model_copy(update={"hourly_cost": d.hourly_cost * d.capacity})
        return d

    async def deploy(self, spec: DeploySpec) -> Deployment:
        try:
            sku = deploy_sku(spec.sku or self.settings.deploy_sku)
        except ValueError as exc:
            raise ProviderError(str(exc), code="invalid_sku") from None
        model = await self._deployable(spec.model)
        name = spec.name or deployment_name(model)
        spec = spec.model_copy(update={"sku": sku, "name": name, "model": model})
        obj = await self._management(lambda c: c.create(name, spec.model, sku, spec.capacity), spec=spec)
        return self._deployment(obj)

    async def _deployable(self, model: str) -> str:
        """Azure deploys a checkpoint by its id (ftchkpt-...): a checkpoint's chat name
        (BASE.ft-HEX:ckpt-step-N) is looked up among the jobs that made BASE.ft-HEX."""
        if ":ckpt-step-" not in model:
            return model
        prefix = model.split(":ckpt-step-")[0]
        for job in (await self.jobs(limit=100)).items:
            if job.fine_tuned_model == prefix:
                for checkpoint in await self.checkpoints(job.id):
                    if checkpoint.fine_tuned_model_checkpoint == model:
                        return checkpoint.id
        return model

    async def deployments(self, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        items = [self._deployment(d) for d in await self._management(lambda c: c.list())]
        return page_after(items, limit, cursor, key=lambda d: d.id)

    async def deployment(self, deployment_id: str) -> Deployment:
        from azure.core.exceptions import ResourceNotFoundError

        def get(c: Any) -> Any:
            try:
                return c.get(deployment_id)
            except ResourceNotFoundError:
                return None

        obj = await self._management(get)
        if obj is None:
            raise NotFound("deployment", deployment_id)
        d = self._deployment(obj)
        failure = (
            await self._management(lambda c: c.error_of(deployment_id)) if d.status == "failed" else None
        )
        if failure is not None:
            from ftui_azure.errors import management_error

            d = d.model_copy(update={"error": str(management_error(failure, sku=d.sku, capacity=d.capacity))})
        return d

    async def undeploy(self, deployment_id: str) -> Deployment:
        current = await self.deployment(deployment_id)
        await self._management(lambda c: c.delete(deployment_id))
        return current.model_copy(update={"status": "deleting", "status_detail": "Deleting"})

    # -- inference --------------------------------------------------------------------------
    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        """`model` is a deployment name. A fine-tuned model or checkpoint name is sent through a
        ready deployment of it, where one exists (Azure answers only through deployments)."""
        target = model
        if is_custom_model(model) and self.settings.subscription_id:
            try:
                found = await collect(lambda c: self.deployments(limit=100, cursor=c))
            except FtuiError:
                found = []  # no management access: the name goes as it is, and Azure's answer says why
            ready = [d for d in found if d.model == model and d.status == "ready"]
            if ready:
                target = ready[0].id
        async for piece in super().chat(target, messages, params):
            yield piece

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            **super().describe(),
            "endpoint": mask_url(s.endpoint),
            "api": "v1" if s.v1 else f"api-version {s.api_version}",
            "auth": "Microsoft Entra ID"
            if s.auth == "entra"
            else f"api-key from ${mask_value(s.api_key_env)}",
            "training_type": s.training_type,
            "deploy_sku": s.deploy_sku,
            "notice": DEPLOY_NOTICE,
        }
