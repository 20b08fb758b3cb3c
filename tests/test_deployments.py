"""ftui.deployments: the yes before anything billed, waiting, and what the store remembers for the
start-up warning. Against the example plugin's fake backend (a real provider, in this process)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ftui import deployments as deps
from ftui.errors import NotFound
from ftui.model import DeploySpec, now
from ftui.store import MIGRATIONS, SCHEMA_VERSION, Store


@pytest.fixture
def provider(echo: Path, tmp_path: Path) -> Any:
    from ftui_echo import EchoProvider, EchoSettings

    return EchoProvider(EchoSettings(deploy_seconds=0.3), profile="echo", store=Store(tmp_path / "s.db"))


async def test_nothing_is_deployed_without_a_yes(provider: Any) -> None:
    with pytest.raises(deps.NotConfirmed, match="billed by the hour"):
        await deps.deploy(provider, DeploySpec(model="echo-1"), confirmed=False)
    assert (await provider.deployments()).items == []
    assert provider.store.remembered_deployments() == []


async def test_a_deployment_is_remembered_waited_on_and_warned_about_until_it_is_deleted(
    provider: Any,
) -> None:
    spec = DeploySpec(model="echo-1", instance_type="echo.large", capacity=2)
    estimate = await deps.quote(provider, spec)
    assert estimate.per_hour == 2.0
    assert "$2.00/hour" in deps.question(provider, spec, estimate)

    created = await deps.deploy(provider, spec, confirmed=True)
    assert created.status == "creating"
    [running] = deps.still_running(provider.store)
    assert running.profile == "echo" and running.deployment.id == created.id

    seen: list[str] = []
    ready = await deps.wait(provider, created.id, progress=lambda d: seen.append(d.status), interval=0.05)
    assert ready.status == "ready" and seen[0] == "creating" and seen[-1] == "ready"

    later = now() + timedelta(hours=3)
    [line] = deps.warnings(deps.still_running(provider.store), at=later)
    assert f"deployment {created.id} (echo-1, profile echo) has been ready for 3 h" in line
    assert "about $6.00 so far at $2.00/hour" in line

    await deps.undeploy(provider, created.id, confirmed=True)
    gone = await deps.wait(provider, created.id, until=frozenset({"deleted"}), interval=0.05)
    assert gone.status == "deleted"
    assert deps.still_running(provider.store) == []


async def test_refresh_forgets_a_deployment_the_backend_no_longer_has(provider: Any) -> None:
    created = await deps.deploy(provider, DeploySpec(model="echo-1"), confirmed=True)
    await provider.undeploy(created.id)  # deleted behind ftui's back (another tool, the console)
    await deps.wait(provider, created.id, until=frozenset({"deleted"}), interval=0.05)
    provider.store.remember_deployment("echo", "echo", created.id, "ready", created.model_dump(mode="json"))
    assert await deps.refresh(provider) == []
    assert deps.still_running(provider.store) == []


async def test_listing_marks_what_the_backend_lost_as_deleted(provider: Any) -> None:
    created = await deps.deploy(provider, DeploySpec(model="echo-1"), confirmed=True)
    await provider.undeploy(created.id)
    await deps.wait(provider, created.id, until=frozenset({"deleted"}), interval=0.05)
    provider.store.remember_deployment("echo", "echo", created.id, "ready", created.model_dump(mode="json"))
    assert await deps.listing(provider) == []
    assert [r["status"] for r in provider.store.remembered_deployments("echo")] == ["deleted"]


async def test_a_provider_that_needs_no_deployment_says_so(local_provider: Any) -> None:
    with pytest.raises(deps.NoDeployNeeded, match="callable as soon as their job succeeds"):
        await deps.deploy(local_provider, DeploySpec(model="smollm2-135m-instruct"), confirmed=True)
    assert await deps.refresh(local_provider) == []


async def test_waiting_on_a_deployment_that_never_existed_is_not_found(provider: Any) -> None:
    with pytest.raises(NotFound):
        await deps.wait(provider, "echo-dep-nope", interval=0.05)


def test_a_version_1_database_gains_the_deployments_table_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO uploads VALUES ('local','p','abc','file-1','a.jsonl',1,0)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION >= 2
    assert store.uploaded("p", "abc")["file_id"] == "file-1"
    store.remember_deployment("echo", "p", "d1", "ready", {"id": "d1"})
    store.remember_deployment("echo", "p", "d1", "deleting", {"id": "d1", "status": "deleting"})
    [row] = store.remembered_deployments("p")
    assert row["status"] == "deleting" and row["body"]["status"] == "deleting"
    assert store.remembered_deployments("p", frozenset({"ready"})) == []
    assert store.remembered_deployments("other") == []
