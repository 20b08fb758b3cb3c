"""The provider contract: the same tests against every provider with a test backend (backends.py).

What a screen or command relies on, whatever the backend: typed objects that name their provider,
lists that page with opaque cursors, events that resume from a cursor without repeats, a cost
estimate that never bills, NotSupported for what a provider does not declare, and for each
capability it does declare, its verbs working end to end.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ftui.errors import NotFound, NotSupported, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    CostEstimate,
    DeploySpec,
    Job,
    JobSpec,
    Page,
)
from ftui.provider import collect
from ftui.uploads import upload_once

from .backends import Backend

pytestmark = pytest.mark.slow


def spec(b: Backend, **changes: Any) -> JobSpec:
    return JobSpec(
        base_model=b.base_model,
        training_file=str(b.training_file),
        hyperparameters=b.hyperparameters,
        suffix="contract",
        **changes,
    )


async def settle(b: Backend, job_id: str) -> Job:
    deadline = time.monotonic() + b.timeout
    while True:
        job = await b.provider.job(job_id)
        if job.done or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.2)


async def test_describe_and_base_models_name_the_provider(backend: Backend) -> None:
    p = backend.provider
    described = p.describe()
    assert described["name"] == p.name and described["capabilities"] == sorted(p.capabilities)
    models = await p.base_models()
    assert models and all(isinstance(m, BaseModelInfo) and m.provider == p.name for m in models)
    assert backend.base_model in {m.id for m in models}


async def test_a_cost_estimate_answers_for_a_run_and_for_a_deployment_and_bills_nothing(
    backend: Backend,
) -> None:
    p = backend.provider
    run = await p.estimate_cost(spec(backend), 10_000)
    assert isinstance(run, CostEstimate) and run.currency == "USD"
    assert run.total is not None or run.basis, "an estimate without a figure says why"
    hosting = await p.estimate_cost(backend.deploy_spec or DeploySpec(model=backend.base_model))
    assert isinstance(hosting, CostEstimate) and (hosting.per_hour is not None or hosting.basis)
    if p.supports("supervised"):
        assert (await p.jobs(limit=100)).items == []  # estimating made nothing


async def test_what_a_provider_does_not_declare_it_refuses_as_not_supported(backend: Backend) -> None:
    p = backend.provider
    unsupported = {
        "pause": lambda: p.pause("ftjob-x"),
        "checkpoints": lambda: p.checkpoints("ftjob-x"),
        "upload": lambda: p.files(),
        "supervised": lambda: p.jobs(),
    }
    for capability, call in unsupported.items():
        if not p.supports(capability):
            with pytest.raises(NotSupported):
                await call()
    if p.supports("no_deploy_needed"):
        with pytest.raises(ProviderError) as refused:
            await p.deploy(DeploySpec(model=backend.base_model))
        assert refused.value.code == "no_deploy_needed"
    elif not p.supports("deploy"):
        with pytest.raises(NotSupported):
            await p.deployments()


async def test_chat_streams_text(backend: Backend) -> None:
    p = backend.provider
    if not p.supports("chat"):
        pytest.skip(f"{p.name} does not declare chat")
    pieces = [
        piece
        async for piece in p.chat(
            backend.base_model,
            [ChatMessage(role="user", content="Ahoy?")],
            ChatParams(max_tokens=4, temperature=0),
        )
    ]
    assert pieces and all(isinstance(piece, str) for piece in pieces) and "".join(pieces)


async def test_a_job_is_created_listed_paged_and_followed_by_cursor(backend: Backend) -> None:
    p = backend.provider
    if not p.supports("supervised"):
        pytest.skip(f"{p.name} does not declare supervised")
    first = await p.create_job(spec(backend))
    second = await p.create_job(spec(backend, seed=2))
    assert isinstance(first, Job) and first.provider == p.name and first.base_model
    assert (await p.job(first.id)).id == first.id
    with pytest.raises(NotFound):
        await p.job("ftjob-does-not-exist")

    page = await p.jobs(limit=1)
    assert isinstance(page, Page) and len(page.items) == 1 and page.has_more and page.next_cursor
    rest = await p.jobs(limit=1, cursor=page.next_cursor)
    assert rest.items and rest.items[0].id != page.items[0].id
    everything = await collect(lambda cursor: p.jobs(limit=1, cursor=cursor))
    assert {first.id, second.id} <= {j.id for j in everything} and len(everything) == len(
        {j.id for j in everything}
    )

    for job in (second, first):
        if not (await p.job(job.id)).done:
            await p.cancel(job.id)
        assert (await settle(backend, job.id)).done

    events = await p.events(first.id)
    assert events.items, "a job says what happened to it"
    again = await p.events(first.id, events.next_cursor)
    assert {e.id for e in again.items}.isdisjoint({e.id for e in events.items})
    assert events.next_cursor is not None


async def test_a_file_is_uploaded_once_listed_read_and_deleted(backend: Backend) -> None:
    p = backend.provider
    if not p.supports("upload"):
        pytest.skip(f"{p.name} does not declare upload")
    sent = await upload_once(p, backend.training_file)
    assert not sent.deduplicated and sent.file.provider == p.name
    assert (await upload_once(p, backend.training_file)).deduplicated
    assert sent.file.id in {f.id for f in await collect(lambda cursor: p.files(cursor=cursor))}
    assert (await p.file(sent.file.id)).bytes == backend.training_file.stat().st_size
    assert await p.file_content(sent.file.id) == backend.training_file.read_bytes()
    await p.delete_file(sent.file.id)
    with pytest.raises(NotFound):
        await p.file(sent.file.id)


async def test_a_deployment_becomes_ready_answers_chat_by_its_id_and_is_deleted(backend: Backend) -> None:
    from ftui import deployments as deps

    p = backend.provider
    if not p.supports("deploy"):
        pytest.skip(f"{p.name} does not declare deploy")
    assert backend.deploy_spec is not None, "a deploying backend names a cheap DeploySpec"
    created = await deps.deploy(p, backend.deploy_spec, confirmed=True)
    assert created.status == "creating" and created.provider == p.name
    ready = await deps.wait(p, created.id, interval=0.1, timeout=backend.timeout)
    assert ready.status == "ready", ready.error
    assert created.id in {d.id for d in await collect(lambda cursor: p.deployments(cursor=cursor))}
    reply = "".join([piece async for piece in p.chat(created.id, [ChatMessage(role="user", content="hi")])])
    assert reply
    gone = await p.undeploy(created.id)
    assert gone.status in ("deleting", "deleted")
    final = await deps.wait(
        p, created.id, until=frozenset({"deleted"}), interval=0.1, timeout=backend.timeout
    )
    assert final.status == "deleted"
