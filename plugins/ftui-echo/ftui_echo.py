"""An example provider plugin. Copy this file to start your own.

Install it (`pip install ./plugins/ftui-echo`), then use it from a profile:

    [profiles.echo]
    provider = "echo"
    prefix = "you said: "
    deploy_seconds = 2.0     # how long a deployment stays "creating"

It implements the whole contract against a fake backend kept in one JSON file under ftui's data
folder (so separate `ftui` processes see the same jobs and deployments):

- fine-tuning ("supervised"): a job succeeds at once, with a model named `ft:echo-1:SUFFIX:ID`;
- deployments ("deploy"): `creating` for `deploy_seconds`, then `ready`, billed by the hour at the
  instance type's price (instance type `echo.broken` fails, to try the failure path); deleting
  takes `deploy_seconds` too;
- chat: echoes the last user message, from a model or from a ready deployment's id;
- cost: made-up prices below, so estimates have something to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from ftui import hookimpl
from ftui.errors import NotFound, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    CostEstimate,
    Deployment,
    DeploymentStatus,
    DeploySpec,
    Job,
    JobEvent,
    JobSpec,
    Page,
)
from ftui.paths import data_dir, ensure
from ftui.provider import Capability, ProfileSettings, Provider, page_after

BASE_MODEL = "echo-1"
# Made-up prices, in the shape a real provider reads them from its price file.
PRICE_SOURCE = "ftui-echo example plugin: made-up prices"
PRICE_AS_OF = "2026-12-01"
TRAINING_PER_1M = 0.50
HOURLY = {"echo.small": 0.25, "echo.large": 1.00, "echo.broken": 0.25}
DEFAULT_INSTANCE = "echo.small"


class EchoSettings(ProfileSettings):
    provider: str = "echo"
    prefix: str = ""
    deploy_seconds: float = 2.0


@contextlib.contextmanager
def _backend() -> Iterator[dict[str, Any]]:
    """The fake backend's state, read and written under an exclusive lock: `ftui` processes
    started one after another (or at once) see one another's jobs and deployments."""
    folder = ensure(data_dir() / "echo")
    with open(folder / "backend.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = folder / "backend.json"
        state = json.loads(path.read_text()) if path.exists() else {}
        state.setdefault("jobs", [])
        state.setdefault("deployments", [])
        yield state
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class EchoProvider(Provider[EchoSettings]):
    name = "echo"
    description = "Example plugin: echoes the last user message; fake jobs and deployments"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"supervised", "chat", "deploy"})
    settings_model = EchoSettings

    async def base_models(self) -> list[BaseModelInfo]:
        return [
            BaseModelInfo(
                id=BASE_MODEL,
                provider=self.name,
                description="repeats you",
                training_price_per_1m_tokens=TRAINING_PER_1M,
            )
        ]

    async def fine_tuned_models(self) -> list[BaseModelInfo]:
        return [
            BaseModelInfo(id=j.fine_tuned_model, provider=self.name, fine_tuned=True)
            for j in (await self.jobs(limit=1000)).items
            if j.fine_tuned_model
        ]

    # -- jobs: done as soon as they are made --------------------------------------------------
    def _job(self, raw: dict[str, Any]) -> Job:
        return Job.model_validate({**raw, "provider": self.name})

    async def create_job(self, spec: JobSpec) -> Job:
        if spec.base_model != BASE_MODEL:
            raise ProviderError(
                f"base model: echo trains only {BASE_MODEL}", code="invalid_model", status=400
            )
        ident = f"ftjob-echo{secrets.token_hex(4)}"
        at = datetime.now(UTC)
        raw = {
            "id": ident,
            "status": "succeeded",
            "base_model": spec.base_model,
            "method": spec.method,
            "fine_tuned_model": f"ft:{BASE_MODEL}:{spec.suffix or 'echo'}:{ident.removeprefix('ftjob-')}",
            "created_at": at.isoformat(),
            "finished_at": at.isoformat(),
            "training_file": spec.training_file,
            "suffix": spec.suffix,
            "hyperparameters": spec.hyperparameters.model_dump(mode="json"),
        }
        with _backend() as state:
            state["jobs"].insert(0, raw)
        return self._job(raw)

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        with _backend() as state:
            found = [self._job(raw) for raw in state["jobs"]]
        return page_after(found, limit, cursor, key=lambda j: j.id)

    async def job(self, job_id: str) -> Job:
        for job in (await self.jobs(limit=10_000)).items:
            if job.id == job_id:
                return job
        raise NotFound("job", job_id)

    async def cancel(self, job_id: str) -> Job:
        return await self.job(job_id)  # every echo job has already finished

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        job = await self.job(job_id)
        events = [
            JobEvent(id=f"{job_id}-1", created_at=job.created_at, message="Echo job created"),
            JobEvent(id=f"{job_id}-2", created_at=job.created_at, message=f"Model {job.fine_tuned_model}"),
        ]
        new = page_after(events, 100, cursor, key=lambda e: e.id).items
        return Page[JobEvent](items=new, next_cursor=new[-1].id if new else cursor)

    # -- deployments: creating for `deploy_seconds`, then ready; billed per hour ---------------
    def _deployment(self, raw: dict[str, Any], at: datetime) -> Deployment | None:
        """The record as the backend would report it at `at`; None once a deletion has finished."""
        delay = timedelta(seconds=self.settings.deploy_seconds)
        created, deleting = _at(raw["created_at"]), _at(raw.get("deleting_at"))
        assert created is not None
        status: DeploymentStatus
        error = None
        if deleting is not None:
            if at >= deleting + delay:
                return None
            status = "deleting"
        elif at < created + delay:
            status = "creating"
        elif raw["instance_type"] == "echo.broken":
            status, error = "failed", "no capacity for echo.broken (this instance type always fails)"
        else:
            status = "ready"
        return Deployment(
            id=raw["id"],
            provider=self.name,
            model=raw["model"],
            status=status,
            endpoint=f"echo://{raw['id']}" if status == "ready" else None,
            created_at=created,
            instance_type=raw["instance_type"],
            capacity=raw["capacity"],
            hourly_cost=HOURLY[raw["instance_type"]] * raw["capacity"],
            error=error,
        )

    def _all(self) -> list[Deployment]:
        at = datetime.now(UTC)
        with _backend() as state:
            kept, found = [], []
            for raw in state["deployments"]:
                deployment = self._deployment(raw, at)
                if deployment is not None:
                    kept.append(raw)
                    found.append(deployment)
            state["deployments"] = kept
        return found

    async def deploy(self, spec: DeploySpec) -> Deployment:
        instance = spec.instance_type or DEFAULT_INSTANCE
        if instance not in HOURLY:
            raise ProviderError(
                f"instance type {instance!r}: echo has {', '.join(sorted(HOURLY))}",
                code="invalid_instance_type",
                status=400,
            )
        if spec.model != BASE_MODEL and spec.model not in {m.id for m in await self.fine_tuned_models()}:
            raise NotFound("model", spec.model)
        raw = {
            "id": spec.name or f"echo-dep-{secrets.token_hex(4)}",
            "model": spec.model,
            "instance_type": instance,
            "capacity": spec.capacity,
            "created_at": datetime.now(UTC).isoformat(),
        }
        with _backend() as state:
            if any(d["id"] == raw["id"] for d in state["deployments"]):
                raise ProviderError(f"a deployment named {raw['id']} exists", code="conflict", status=409)
            state["deployments"].append(raw)
        found = self._deployment(raw, datetime.now(UTC))
        assert found is not None
        return found

    async def deployments(self, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        return page_after(self._all(), limit, cursor, key=lambda d: d.id)

    async def deployment(self, deployment_id: str) -> Deployment:
        for deployment in self._all():
            if deployment.id == deployment_id:
                return deployment
        raise NotFound("deployment", deployment_id)

    async def undeploy(self, deployment_id: str) -> Deployment:
        with _backend() as state:
            for raw in state["deployments"]:
                if raw["id"] == deployment_id:
                    raw.setdefault("deleting_at", datetime.now(UTC).isoformat())
                    break
            else:
                raise NotFound("deployment", deployment_id)
        return await self.deployment(deployment_id)

    # -- cost ---------------------------------------------------------------------------------
    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        if isinstance(spec, DeploySpec):
            instance = spec.instance_type or DEFAULT_INSTANCE
            rate = HOURLY.get(instance)
            if rate is None:
                return CostEstimate(basis=f"no price for instance type {instance!r}", source=PRICE_SOURCE)
            return CostEstimate(
                per_hour=rate * spec.capacity,
                basis=f"{spec.capacity} × {instance} at ${rate:.2f}/hour",
                source=PRICE_SOURCE,
                as_of=PRICE_AS_OF,
            )
        epochs = spec.hyperparameters.n_epochs
        n = epochs if isinstance(epochs, int) else 3
        if tokens is None:
            return CostEstimate(price_per_1m_tokens=TRAINING_PER_1M, basis="needs the dataset's token count")
        return CostEstimate(
            total=tokens * n * TRAINING_PER_1M / 1e6,
            hours=0.0,
            billed_tokens=tokens * n,
            price_per_1m_tokens=TRAINING_PER_1M,
            basis=f"{n} epochs × {tokens:,} tokens × ${TRAINING_PER_1M:.2f} / 1M"
            + ("" if isinstance(epochs, int) else " (auto epochs taken as 3)"),
            source=PRICE_SOURCE,
            as_of=PRICE_AS_OF,
        )

    # -- chat ---------------------------------------------------------------------------------
    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        if model.startswith("echo-dep-") or model in {d.id for d in self._all()}:
            deployment = await self.deployment(model)
            if deployment.status != "ready":
                raise ProviderError(
                    f"deployment {model} is {deployment.status}: chat with it once it is ready",
                    code="deployment_not_ready",
                    status=409,
                )
            yield f"[{deployment.id}: {deployment.model}] "
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        yield self.settings.prefix
        for word in last.split(" "):
            await asyncio.sleep(0)
            yield word + " "


@hookimpl
def ftui_register_providers(register: Callable[[type[Provider[Any]]], None]) -> None:
    register(EchoProvider)
