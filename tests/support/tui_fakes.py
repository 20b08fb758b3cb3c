"""A canned provider for layout and snapshot tests: fixed jobs, events and replies, no clock.

Real training times and dates are not deterministic, so snapshots use this; the main-path tests
use the real local provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from ftui.errors import NotFound
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    Checkpoint,
    CostEstimate,
    Deployment,
    DeploySpec,
    Hyperparameters,
    Job,
    JobError,
    JobEvent,
    JobSpec,
    MetricPoint,
    Page,
    RemoteFile,
)
from ftui.provider import Capability, ProfileSettings, Provider, page_after
from ftui.session import Session
from support.eventually import eventually

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)


def canned_jobs(n: int = 4) -> list[Job]:
    statuses = ["running", "succeeded", "failed", "queued", "cancelled", "paused"]
    jobs = []
    for i in range(n):
        status = statuses[i % len(statuses)]
        created = T0 + timedelta(minutes=n - i)
        jobs.append(
            Job(
                id=f"ftjob-{i:05d}",
                provider="canned",
                status=status,  # type: ignore[arg-type]
                base_model="tiny-llama" if i % 2 == 0 else "smollm2-135m-instruct",
                fine_tuned_model=f"ft:tiny-llama:demo-{i}" if status == "succeeded" else None,
                created_at=created,
                started_at=created + timedelta(seconds=30),
                finished_at=created + timedelta(minutes=7)
                if status in {"succeeded", "failed", "cancelled"}
                else None,
                trained_tokens=12_345 * (i + 1) if status == "succeeded" else None,
                error=JobError(code="oom", message="out of memory at step 12")
                if status == "failed"
                else None,
                hyperparameters=Hyperparameters(n_epochs=3, batch_size=4, learning_rate_multiplier=1.0),
                training_file="train.jsonl",
                suffix="demo",
                seed=7,
                result_files=["file-result-1"] if status == "succeeded" else [],
            )
        )
    return jobs


def canned_events(job_id: str, steps: int = 40) -> list[JobEvent]:
    events = [JobEvent(id=f"ev-{job_id}-0000", created_at=T0, message="Training started")]
    for step in range(1, steps + 1):
        loss = 2.5 / (1 + step * 0.15) + (0.05 if step % 3 == 0 else 0.0)
        point = MetricPoint(
            step=step,
            total_steps=steps,
            train_loss=loss,
            train_mean_token_accuracy=min(0.99, 0.3 + step * 0.015),
            valid_loss=loss + 0.1 if step % 10 == 0 else None,
            valid_mean_token_accuracy=min(0.95, 0.28 + step * 0.014) if step % 10 == 0 else None,
        )
        events.append(
            JobEvent(
                id=f"ev-{job_id}-{step:04d}",
                created_at=T0 + timedelta(seconds=step),
                message=f"Step {step}/{steps}: training loss={loss:.4f}",
                type="metrics",
                metrics=point,
            )
        )
    return events


class CannedProvider(Provider[ProfileSettings]):
    name = "canned"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"supervised", "pause", "checkpoints", "chat", "upload", "no_deploy_needed"}
    )
    replies: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        settings: ProfileSettings | None = None,
        profile: str = "default",
        jobs: list[Job] | None = None,
        events: dict[str, list[JobEvent]] | None = None,
    ) -> None:
        super().__init__(settings or ProfileSettings(provider="local"), profile)
        self._jobs = canned_jobs() if jobs is None else jobs
        self._events = events if events is not None else {j.id: canned_events(j.id) for j in self._jobs[:2]}
        self.uploads: list[Path] = []
        self.remote_files: list[RemoteFile] = []
        self.created: list[JobSpec] = []

    async def base_models(self) -> list[BaseModelInfo]:
        return [
            BaseModelInfo(id="tiny-llama", provider=self.name, training_price_per_1m_tokens=None),
            BaseModelInfo(id="gpt-4o-mini-2024-07-18", provider=self.name, training_price_per_1m_tokens=3.0),
        ]

    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        # The canned models carry their training price, as a provider's price file would.
        from ftui.costs import per_token

        if isinstance(spec, DeploySpec):
            return CostEstimate(basis="no deployment needed")
        prices = {m.id: m.training_price_per_1m_tokens for m in await self.base_models()}
        return per_token(spec, tokens, price_per_1m=prices.get(spec.base_model), source="canned prices")

    async def fine_tuned_models(self) -> list[BaseModelInfo]:
        return [
            BaseModelInfo(id=j.fine_tuned_model, provider=self.name, fine_tuned=True)
            for j in self._jobs
            if j.fine_tuned_model
        ]

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        return page_after(self._jobs, limit, cursor, key=lambda j: j.id)

    async def job(self, job_id: str) -> Job:
        for job in self._jobs:
            if job.id == job_id:
                return job
        raise NotFound("job", job_id)

    async def create_job(self, spec: JobSpec) -> Job:
        self.created.append(spec)
        job = Job(
            id=f"ftjob-new{len(self.created)}",
            provider=self.name,
            status="queued",
            base_model=spec.base_model,
            created_at=NOW,
            hyperparameters=spec.hyperparameters,
            training_file=spec.training_file,
            suffix=spec.suffix,
            seed=spec.seed,
            method=spec.method,
        )
        self._jobs.insert(0, job)
        return job

    def _set_status(self, job_id: str, status: str) -> Job:
        for i, job in enumerate(self._jobs):
            if job.id == job_id:
                self._jobs[i] = job.model_copy(update={"status": status})
                return self._jobs[i]
        raise NotFound("job", job_id)

    async def cancel(self, job_id: str) -> Job:
        return self._set_status(job_id, "cancelled")

    async def pause(self, job_id: str) -> Job:
        return self._set_status(job_id, "paused")

    async def resume(self, job_id: str) -> Job:
        return self._set_status(job_id, "running")

    def finish(self, job_id: str, status: str = "succeeded") -> None:
        self._set_status(job_id, status)

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        new = page_after(self._events.get(job_id, []), 10_000, cursor, key=lambda e: e.id).items
        return Page[JobEvent](items=new, next_cursor=new[-1].id if new else cursor)

    async def checkpoints(self, job_id: str) -> list[Checkpoint]:
        events = self._events.get(job_id, [])
        points = [e.metrics for e in events if e.metrics and e.metrics.step % 20 == 0]
        return [
            Checkpoint(
                id=f"ckpt-{p.step}",
                job_id=job_id,
                step=p.step,
                created_at=T0,
                fine_tuned_model_checkpoint=f"ft:tiny-llama:demo:ckpt-step-{p.step}",
                metrics=p,
            )
            for p in points
        ]

    async def upload(
        self, path: Path, purpose: str = "fine-tune", progress: Any = None, *, sha256: str | None = None
    ) -> RemoteFile:
        size = path.stat().st_size
        if progress:
            progress(size, size)
        self.uploads.append(path)
        remote = RemoteFile(
            id=f"file-{len(self.uploads)}", provider=self.name, filename=path.name, bytes=size, created_at=NOW
        )
        self.remote_files.insert(0, remote)
        return remote

    async def files(self, limit: int = 100, cursor: str | None = None) -> Page[RemoteFile]:
        return page_after(self.remote_files, limit, cursor, key=lambda f: f.id)

    async def chat(
        self,
        model: str,
        messages: list[ChatMessage],
        params: ChatParams | None = None,
    ) -> AsyncIterator[str]:
        reply = self.replies.get(model, f"[{model}] you said: {messages[-1].content}")
        for word in reply.split(" "):
            await asyncio.sleep(0)
            yield word + " "


class CannedDeployingProvider(CannedProvider):
    """A backend whose models need billed deployments (as Azure OpenAI and SageMaker do)."""

    name = "canned-deploying"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"supervised", "pause", "checkpoints", "chat", "upload", "deploy"}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deployments = [
            Deployment(
                id="dep-pirate",
                provider=self.name,
                model="ft:tiny-llama:demo-1",
                status="ready",
                endpoint="https://example.invalid/dep-pirate",
                created_at=T0,
                instance_type="ml.g5.xlarge",
                capacity=1,
                hourly_cost=1.41,
            ),
            Deployment(
                id="dep-second-opinion",
                provider=self.name,
                model="ft:tiny-llama:demo-1:ckpt-step-20",
                status="creating",
                created_at=NOW - timedelta(minutes=4),
                instance_type="ml.g5.2xlarge",
                capacity=2,
                hourly_cost=3.03,
            ),
        ]

    async def deploy(self, spec: DeploySpec) -> Deployment:
        d = Deployment(
            id=spec.name or f"dep-{len(self._deployments)}",
            provider=self.name,
            model=spec.model,
            status="creating",
            created_at=NOW,
            instance_type=spec.instance_type,
            capacity=spec.capacity,
            hourly_cost=1.41 * spec.capacity,
        )
        self._deployments.insert(0, d)
        return d

    async def deployments(self, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        return page_after(self._deployments, limit, cursor, key=lambda d: d.id)

    async def deployment(self, deployment_id: str) -> Deployment:
        for d in self._deployments:
            if d.id == deployment_id:
                return d
        raise NotFound("deployment", deployment_id)

    async def undeploy(self, deployment_id: str) -> Deployment:
        d = await self.deployment(deployment_id)
        self._deployments.remove(d)
        return d.model_copy(update={"status": "deleting"})


class CannedSession(Session):
    """A session whose providers are canned, one per profile (built-in `local` profile by default)."""

    def __init__(self, providers: dict[str, CannedProvider] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.providers = providers or {}

    def provider(self) -> Provider[Any]:
        name = self.profile.name
        if name not in self.providers:
            self.providers[name] = CannedProvider(profile=name)
        provider = self.providers[name]
        provider.profile, provider._store = name, self.store  # as Session hands its store over
        return provider


def write_config(home: Path, *profiles: str) -> Path:
    path = home / "config.toml"
    body = "".join(f'[profiles.{p}]\nprovider = "local"\n\n' for p in profiles)
    path.write_text(body, encoding="utf-8")
    return path


def screen_text(app: Any) -> str:
    """The current screen as plain text, for asserting on what a user would read."""
    import io

    from rich.console import Console

    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        record=True,
        color_system=None,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def wait_for(pilot: Any, condition: Any, timeout: float = 30) -> None:
    """Let the app run until `condition()` holds (bounded; never a timing assertion)."""
    await eventually(condition, pause=pilot.pause, interval=0.02, timeout=timeout)


async def ready(pilot: Any, rows: int | None = None) -> None:
    """Wait until the first jobs poll has landed, so the app is settled before keys are pressed."""
    app = pilot.app
    table = app.query_one("#jobs-table")
    await wait_for(
        pilot,
        lambda: (
            app.query_one("#jobs-status").render().plain != "loading jobs…"
            and (rows is None or table.row_count == rows)
        ),
    )
    await pilot.pause(0.05)
