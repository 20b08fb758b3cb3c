"""Deployments: billed capacity that makes a fine-tuned model callable (Azure OpenAI, SageMaker,
Azure ML). No UI here: the CLI and the TUI ask the questions, this module keeps the rules.

- Nothing billed without a yes: `deploy` and `undeploy` take `confirmed`, and refuse without it.
  A front end shows `question()` (the hourly cost, from `quote()`) and passes the answer.
- Every deployment ftui creates is remembered in the store, so a later start can warn about the
  ones still running and what they have cost so far (`still_running`, `warnings`), in any profile,
  without asking a backend; `refresh` asks the provider and updates what the store remembers.
- Creating takes minutes: `wait` polls with progress until the deployment is ready or failed; a
  caller that stops waiting leaves it running (and billing), and says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ftui.errors import FtuiError, NotFound, NotSupported, UsageError
from ftui.model import CostEstimate, Deployment, DeploymentStatus, DeploySpec, now
from ftui.provider import Provider, collect
from ftui.store import Store

# Billed while in these: creating (capacity is being held) and ready.
BILLED: frozenset[str] = frozenset({"creating", "ready"})
SETTLED: frozenset[DeploymentStatus] = frozenset({"ready", "failed", "deleted"})


class NotConfirmed(UsageError):
    """A billed (or irreversible) change asked for without a yes."""


class NoDeployNeeded(FtuiError):
    """The provider's models are callable as soon as their job succeeds."""


def needs_deploy(provider: Provider[Any]) -> bool:
    """True when the provider's models must be deployed to be called; raises NoDeployNeeded when
    they need none, NotSupported when the provider cannot deploy at all."""
    if provider.supports("no_deploy_needed"):
        raise NoDeployNeeded(
            f"provider {provider.name!r} (profile {provider.profile!r}) needs no deployment: its models "
            "are callable as soon as their job succeeds"
        )
    if not provider.supports("deploy"):
        raise NotSupported(provider.name, "deployments")
    return True


async def quote(provider: Provider[Any], spec: DeploySpec) -> CostEstimate:
    return await provider.estimate_cost(spec)


def hourly_text(estimate: CostEstimate, capacity: int = 1) -> str:
    if estimate.per_hour is None:
        return f"an hourly cost ftui cannot price ({estimate.basis or 'no price data'})"
    return f"${estimate.per_hour:,.2f}/hour" + (f" ({estimate.basis})" if estimate.basis else "")


def question(provider: Provider[Any], spec: DeploySpec, estimate: CostEstimate) -> str:
    """The one line a user answers yes to before anything is billed."""
    on = spec.instance_type or spec.sku or "the default capacity"
    return (
        f"Deploy {spec.model} on {provider.name} (profile {provider.profile}), {on} × {spec.capacity}: "
        f"{hourly_text(estimate)}, billed every hour until it is deleted (ftui undeploy). Create it?"
    )


def remember(store: Store, provider: Provider[Any], deployment: Deployment) -> None:
    store.remember_deployment(
        provider.name,
        provider.profile,
        deployment.id,
        deployment.status,
        deployment.model_dump(mode="json", exclude={"raw"}),
    )


async def deploy(provider: Provider[Any], spec: DeploySpec, *, confirmed: bool) -> Deployment:
    """Start the deployment (returns at once, usually `creating`) and remember it. `confirmed` is
    the user's yes to the hourly cost; without it nothing is created."""
    needs_deploy(provider)
    if not confirmed:
        raise NotConfirmed(f"deploying {spec.model} is billed by the hour: it needs a yes first")
    deployment = await provider.deploy(spec)
    remember(provider.store, provider, deployment)
    return deployment


async def undeploy(provider: Provider[Any], deployment_id: str, *, confirmed: bool) -> Deployment:
    """Start deleting (billing stops once it is gone). Irreversible, so it needs a yes too."""
    needs_deploy(provider)
    if not confirmed:
        raise NotConfirmed(f"deleting deployment {deployment_id} cannot be undone: it needs a yes first")
    deployment = await provider.undeploy(deployment_id)
    remember(provider.store, provider, deployment)
    return deployment


async def wait(
    provider: Provider[Any],
    deployment_id: str,
    *,
    until: frozenset[DeploymentStatus] = SETTLED,
    progress: Callable[[Deployment], None] | None = None,
    interval: float = 2.0,
    timeout: float | None = None,
) -> Deployment:
    """Poll until the deployment reaches one of `until` (ready, failed or deleted by default), or
    `timeout` seconds pass; the last state seen is returned either way. A deployment that is gone
    while deleting comes back as `deleted`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last: Deployment | None = None
    while True:
        try:
            current = await provider.deployment(deployment_id)
        except NotFound:
            if last is None:
                raise
            current = last.model_copy(update={"status": "deleted"})
        remember(provider.store, provider, current)
        if progress is not None:
            progress(current)
        if current.status in until or (deadline is not None and time.monotonic() >= deadline):
            return current
        last = current
        await asyncio.sleep(interval)


async def listing(provider: Provider[Any]) -> list[Deployment]:
    """Every deployment the provider has on this profile; the store's records are brought up to
    date (those ftui created and the backend no longer has are marked deleted)."""
    needs_deploy(provider)
    found = await collect(lambda cursor: provider.deployments(cursor=cursor))
    store, seen = provider.store, {d.id for d in found}
    mine = {r["body"]["id"]: r for r in store.remembered_deployments(provider.profile)}
    for deployment in found:
        if deployment.id in mine:
            remember(store, provider, deployment)
    for ident, record in mine.items():
        if ident not in seen and record["status"] != "deleted":
            gone = Deployment.model_validate({**record["body"], "status": "deleted"})
            remember(store, provider, gone)
    return found


async def refresh(provider: Provider[Any]) -> list[Deployment]:
    """Ask the provider about each deployment ftui created on this profile and still thinks billed;
    return those that are. A provider that needs no deployments has none."""
    if not provider.supports("deploy"):
        return []
    live: list[Deployment] = []
    for record in provider.store.remembered_deployments(provider.profile, BILLED):
        ident = record["body"]["id"]
        try:
            current = await provider.deployment(ident)
        except NotFound:
            current = Deployment.model_validate({**record["body"], "status": "deleted"})
        remember(provider.store, provider, current)
        if current.status in BILLED:
            live.append(current)
    return live


@dataclass(frozen=True)
class Running:
    """A deployment ftui created that was still billed when last seen."""

    profile: str
    deployment: Deployment
    seen_at: datetime


def still_running(store: Store, profile: str | None = None) -> list[Running]:
    """From the store alone (no backend call, so it is cheap enough for every start)."""
    out = []
    for record in store.remembered_deployments(profile, BILLED):
        try:
            deployment = Deployment.model_validate(record["body"])
        except ValueError:
            continue  # written by another version: not ours to judge
        out.append(Running(record["profile"], deployment, datetime.fromtimestamp(record["updated_at"], UTC)))
    return out


def age_text(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def lifetime_text(deployment: Deployment, at: datetime) -> str:
    """Its age, and when the backend removes it by itself (an Azure Developer deployment: 24 h)."""
    age = age_text((at - deployment.created_at).total_seconds()) if deployment.created_at else "-"
    if deployment.expires_at is None:
        return age
    left = (deployment.expires_at - at).total_seconds()
    return f"{age}, gone in {age_text(left)}" if left > 0 else f"{age}, expired"


def cost_text(deployment: Deployment, at: datetime | None = None) -> str:
    so_far = deployment.cost_so_far(at)
    return "-" if so_far is None else f"${so_far:,.2f}"


def warnings(running: list[Running], at: datetime | None = None) -> list[str]:
    """One line per deployment still billed: what it is, for how long, what it has cost."""
    at = at or now()
    lines = []
    for r in running:
        d = r.deployment
        age = f" for {age_text((at - d.created_at).total_seconds())}" if d.created_at else ""
        cost = ""
        if d.hourly_cost is not None:
            cost = f", about {cost_text(d, at)} so far at ${d.hourly_cost:,.2f}/hour"
        lines.append(
            f"deployment {d.id} ({d.model}, profile {r.profile}) has been {d.status}{age}{cost}; "
            f"`ftui -p {r.profile} undeploy {d.id}` deletes it"
        )
    return lines
