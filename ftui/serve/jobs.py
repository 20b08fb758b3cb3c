"""/v1/fine_tuning/jobs: create, list, retrieve, cancel, pause, resume, events, checkpoints.

A training file OpenAI would accept at create time but fail during validation (too few examples,
lines the provider's validator rejects) gives a job in status `failed` with `error.code`, as
OpenAI's does; the server keeps such jobs itself, since the provider never made them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

# FastAPI resolves route annotations from module globals; this module is only imported by
# create_app, never on the `ftui --help` path.
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ftui.errors import NotFound, ProviderError
from ftui.model import EventLevel, Hyperparameters, Job, JobError, JobEvent, JobSpec
from ftui.provider import collect
from ftui.serve.errors import DATA_ERROR_CODES, bad_request, no_such
from ftui.serve.files import all_files
from ftui.serve.objects import checkpoint_object, event_object, job_object, list_object, page

if TYPE_CHECKING:
    from ftui.serve.context import ServeContext

# Files bigger than this are left to the provider's validator rather than counted here.
COUNT_LIMIT_BYTES = 64 * 1024 * 1024
_ALNUM = string.ascii_letters + string.digits
HP_RULES: dict[str, tuple[type, float, float, bool]] = {
    # name: (type, low, high, low is exclusive)
    "n_epochs": (int, 1, 50, False),
    "batch_size": (int, 1, 256, False),
    "learning_rate_multiplier": (float, 0, float("inf"), True),
    "beta": (float, 0, 2, True),
}


class CreateJob(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    training_file: str
    validation_file: str | None = None
    hyperparameters: dict[str, Any] | None = None
    method: dict[str, Any] | None = None
    suffix: str | None = Field(default=None, min_length=1, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2147483647)
    integrations: list[dict[str, Any]] | None = None
    metadata: dict[str, str] | None = None


def _hyperparameters(values: dict[str, Any], where: str) -> Hyperparameters:
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in values.items():
        if key not in HP_RULES:
            extra[key] = value
            continue
        kind, low, high, exclusive = HP_RULES[key]
        if value == "auto":
            known[key] = value
            continue
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and kind is int:
            ok = float(value).is_integer()
        if ok:
            ok = (value > low if exclusive else value >= low) and value <= high
        if not ok:
            raise bad_request(
                f"Invalid value for '{where}.{key}': {value!r}.", param=f"{where}.{key}", code="invalid_value"
            )
        known[key] = kind(value)
    return Hyperparameters(**known, extra=extra)


def _spec(body: CreateJob) -> JobSpec:
    method = body.method or {}
    kind = method.get("type", "supervised")
    if kind not in ("supervised", "dpo", "reinforcement"):
        raise bad_request(
            f"Invalid value for 'method.type': {kind!r}.", param="method.type", code="invalid_value"
        )
    settings = method.get(kind) or {}
    if not isinstance(settings, dict):
        raise bad_request(f"'method.{kind}' must be an object.", param=f"method.{kind}")
    hp = settings.get("hyperparameters") or body.hyperparameters or {}
    if not isinstance(hp, dict):
        raise bad_request("hyperparameters must be an object.", param="hyperparameters")
    grader = settings.get("grader")
    if kind == "reinforcement" and not isinstance(grader, dict):
        raise bad_request(
            "Missing required parameter: 'method.reinforcement.grader'.",
            param="method.reinforcement.grader",
            code="missing_required_parameter",
        )
    if kind == "reinforcement" and body.validation_file is None:
        raise bad_request("Reinforcement fine-tuning needs a validation_file.", param="validation_file")
    metadata = body.metadata or {}
    if len(metadata) > 16 or any(len(k) > 64 or len(v) > 512 for k, v in metadata.items()):
        raise bad_request(
            "metadata holds at most 16 pairs; keys up to 64 and values up to 512 characters.",
            param="metadata",
            code="invalid_value",
        )
    if grader is not None and settings.get("response_format") is not None:
        grader = {**grader, "response_format": settings["response_format"]}
    return JobSpec(
        base_model=body.model,
        training_file=body.training_file,
        validation_file=body.validation_file,
        method=kind,
        hyperparameters=_hyperparameters(hp, f"method.{kind}.hyperparameters"),
        suffix=body.suffix,
        seed=body.seed,
        metadata=metadata,
        integrations=body.integrations or [],
        grader=grader,
    )


def _event(message: str, at: datetime, n: int, level: EventLevel = "info") -> JobEvent:
    return JobEvent(
        id=f"ftevent-{int(at.timestamp() * 1e9) + n:020d}{secrets.token_hex(2)}",
        created_at=at,
        level=level,
        message=message,
    )


def _count_examples(content: bytes) -> int:
    from ftui.data.jsonl import count_lines

    return count_lines(content)


def _metadata_filter(query: Any) -> tuple[bool, dict[str, str]]:
    """`metadata=null` (jobs without metadata) and `metadata[k]=v` pairs."""
    wants_null = query.get("metadata") == "null"
    pairs = {
        k[len("metadata[") : -1]: v for k, v in query.items() if k.startswith("metadata[") and k.endswith("]")
    }
    return wants_null, pairs


def router(ctx: ServeContext) -> APIRouter:

    api = APIRouter()
    provider, state = ctx.provider, ctx.state

    async def result_files(job: Job) -> list[str]:
        if job.status != "succeeded":
            return []
        # Provider file ids pass through; anything else (a local provider's path) is served here.
        ids = [f for f in job.result_files if f.startswith("file-")]
        if ids:
            return ids
        row = state.result_for_job(job.id)
        if row is None:
            csv = await provider.result_csv(job.id)
            if csv is None:
                return []
            file_id = "file-" + "".join(
                _ALNUM[b % len(_ALNUM)] for b in hashlib.sha256(job.id.encode()).digest()[:24]
            )
            state.add_result_file(file_id, job.id, "step_metrics.csv", base64.b64encode(csv))
            return [file_id]
        return [row["file_id"]]

    async def render(job: Job) -> dict[str, Any]:
        return job_object(job, ctx.organization, await result_files(job))

    async def get_job(job_id: str) -> Job:
        held = state.failed_job(job_id)
        if held:
            return held[0]
        try:
            return await provider.job(job_id)
        except NotFound:
            raise no_such("fine_tuning.job", job_id, "fine_tuning_job_id") from None

    async def fail_job(body: CreateJob, spec: JobSpec, code: str, message: str, param: str) -> Job:
        at = datetime.now(UTC)
        job = Job(
            id="ftjob-" + "".join(secrets.choice(_ALNUM) for _ in range(24)),
            provider=provider.name,
            status="failed",
            base_model=body.model,
            method=spec.method,
            created_at=at,
            finished_at=at,
            error=JobError(code=code, message=message, param=param),
            hyperparameters=spec.hyperparameters,
            training_file=spec.training_file,
            validation_file=spec.validation_file,
            suffix=spec.suffix,
            seed=spec.seed,
            metadata=spec.metadata,
            raw={"integrations": spec.integrations},
        )
        validating = f"Validating training file: {spec.training_file}"
        if spec.validation_file:
            validating += f" and validation file: {spec.validation_file}"
        events = [
            _event(f"Created fine-tuning job: {job.id}", at, 0),
            _event(validating, at, 1),
            _event(message, at, 2, "error"),
        ]
        state.add_failed_job(job, events)
        return job

    @api.post("/fine_tuning/jobs")
    async def create_job(body: CreateJob) -> dict[str, Any]:
        spec = _spec(body)
        files = {f.id: f for f, _ in await all_files(ctx)}
        for param in ("training_file", "validation_file"):
            file_id = getattr(spec, param)
            if file_id is None:
                continue
            if file_id not in files:
                raise bad_request(f"invalid {param}: {file_id}", param=param)
            if files[file_id].purpose != "fine-tune":
                raise bad_request(
                    f"File {file_id} has purpose {files[file_id].purpose!r}; fine-tuning "
                    "needs a file uploaded with purpose 'fine-tune'.",
                    param=param,
                )
        training = files[spec.training_file]
        if training.bytes <= COUNT_LIMIT_BYTES:
            n = _count_examples(await provider.file_content(training.id))
            if n < ctx.min_examples:
                message = (
                    f"Training file has {n} example(s), but must have at least {ctx.min_examples} examples"
                )
                return await render(
                    await fail_job(body, spec, "invalid_n_examples", message, "training_file")
                )
        try:
            job = await provider.create_job(spec)
        except NotFound as exc:
            raise bad_request(str(exc), param="model", code="model_not_available") from None
        except ProviderError as exc:
            if exc.code not in DATA_ERROR_CODES:
                raise
            param = "validation_file" if exc.code == "invalid_validation_file" else "training_file"
            return await render(
                await fail_job(body, spec, exc.code or "invalid_training_file", str(exc), param)
            )
        return await render(job)

    @api.get("/fine_tuning/jobs")
    async def list_jobs(request: Request, after: str | None = None, limit: int = 20) -> dict[str, Any]:
        if not 1 <= limit <= 10000:
            raise bad_request("limit must be between 1 and 10000", param="limit", code="invalid_value")
        jobs = [*await collect(lambda c: provider.jobs(limit=1000, cursor=c)), *state.failed_jobs()]
        wants_null, pairs = _metadata_filter(request.query_params)
        if wants_null:
            jobs = [j for j in jobs if not j.metadata]
        if pairs:
            jobs = [j for j in jobs if all(j.metadata.get(k) == v for k, v in pairs.items())]
        jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        # Cursor over ids first, then render only the page: rendering may build result files.
        ids, more = page([{"id": j.id} for j in jobs], after, limit)
        by_id = {j.id: j for j in jobs}
        return list_object([await render(by_id[i["id"]]) for i in ids], more)

    @api.get("/fine_tuning/jobs/{fine_tuning_job_id}")
    async def retrieve_job(fine_tuning_job_id: str) -> dict[str, Any]:
        return await render(await get_job(fine_tuning_job_id))

    async def act(job_id: str, verb: str) -> dict[str, Any]:
        job = await get_job(job_id)
        if state.failed_job(job_id) or (job.done and verb != "resume"):
            raise bad_request(
                f"Job {job_id} has already {'finished' if job.done else 'stopped'} "
                f"(status {job.status}); it cannot be {verb}ed.",
                param="fine_tuning_job_id",
            )
        steer = {"cancel": provider.cancel, "pause": provider.pause, "resume": provider.resume}[verb]
        return await render(await steer(job_id))

    @api.post("/fine_tuning/jobs/{fine_tuning_job_id}/cancel")
    async def cancel(fine_tuning_job_id: str) -> dict[str, Any]:
        return await act(fine_tuning_job_id, "cancel")

    @api.post("/fine_tuning/jobs/{fine_tuning_job_id}/pause")
    async def pause(fine_tuning_job_id: str) -> dict[str, Any]:
        return await act(fine_tuning_job_id, "pause")

    @api.post("/fine_tuning/jobs/{fine_tuning_job_id}/resume")
    async def resume(fine_tuning_job_id: str) -> dict[str, Any]:
        return await act(fine_tuning_job_id, "resume")

    @api.get("/fine_tuning/jobs/{fine_tuning_job_id}/events")
    async def events(fine_tuning_job_id: str, after: str | None = None, limit: int = 20) -> dict[str, Any]:
        held = state.failed_job(fine_tuning_job_id)
        if held:
            found = held[1]
        else:
            await get_job(fine_tuning_job_id)
            found = await collect(lambda c: provider.events(fine_tuning_job_id, c))
        newest_first = [event_object(e) for e in reversed(found)]
        items, more = page(newest_first, after, max(1, limit))
        return list_object(items, more)

    @api.get("/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints")
    async def checkpoints(
        fine_tuning_job_id: str, after: str | None = None, limit: int = 10
    ) -> dict[str, Any]:
        if state.failed_job(fine_tuning_job_id):
            return list_object([], False, ids=True)
        await get_job(fine_tuning_job_id)
        found = sorted(await provider.checkpoints(fine_tuning_job_id), key=lambda c: c.step, reverse=True)
        items, more = page([checkpoint_object(c) for c in found], after, max(1, limit))
        return list_object(items, more, ids=True)

    return api
