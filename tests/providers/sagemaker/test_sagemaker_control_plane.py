"""The provider's boto3 calls against moto in server mode on 127.0.0.1 (retries at 1), with job status
driven through moto's backend, log lines fed into moto's CloudWatch Logs, and the streaming invoke
served by a loopback event-stream endpoint."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.moto_aws import BUCKET, MotoAWS
from support.sagemaker_container import chat_rows, lines_with, write_jsonl

from ftui.errors import FtuiError, NotFound, ProviderError
from ftui.model import ChatMessage, ChatParams, DeploySpec, Hyperparameters, JobSpec
from ftui.provider import collect
from ftui.uploads import upload_once

pytestmark = pytest.mark.slow


def _count_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        f"provide-client-params.*.{operation}", lambda params, **_: calls.append(params)
    )
    return calls


def _keys(aws: MotoAWS, prefix: str = "") -> list[str]:
    page = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in page.get("Contents", []))


def _spec(tmp_path: Path, **overrides: Any) -> JobSpec:
    train = write_jsonl(tmp_path / "train.jsonl", chat_rows(10))
    values: dict[str, Any] = {
        "base_model": "tiny-llama",
        "training_file": str(train),
        "hyperparameters": Hyperparameters(n_epochs=1, batch_size=2, extra={"lora_r": 4}),
        "suffix": "demo",
        "metadata": {"team": "nlp"},
    }
    values.update(overrides)
    return JobSpec(**values)


# ---- uploads ------------------------------------------------------------------------------------


async def test_uploads_are_content_addressed_and_the_same_bytes_go_once(make_provider, aws, tmp_path):
    data = write_jsonl(tmp_path / "train.jsonl", chat_rows(3))
    provider = make_provider()
    puts = _count_calls(provider.aws("s3"), "PutObject")
    first = await upload_once(provider, data)
    again = await upload_once(provider, data)
    sha = hashlib.sha256(data.read_bytes()).hexdigest()
    assert first.file.id == f"s3://{BUCKET}/ftui-tests/files/{sha}/train.jsonl" == again.file.id
    assert not first.deduplicated and again.deduplicated and len(puts) == 1
    # Another machine (its own store) with the same bytes finds them under their content key.
    other = make_provider()
    other_puts = _count_calls(other.aws("s3"), "PutObject")
    copy = write_jsonl(tmp_path / "copy.jsonl", chat_rows(3))
    found = await upload_once(other, copy)
    assert not other_puts and found.file.id == first.file.id and found.file.sha256 == sha
    assert (await provider.file_content(first.file.id)) == data.read_bytes()
    listed = await collect(lambda c: provider.files(limit=1, cursor=c))
    assert [f.filename for f in listed] == ["train.jsonl"]
    await provider.delete_file(first.file.id)
    with pytest.raises(NotFound):
        await provider.file(first.file.id)


async def test_a_large_upload_goes_in_parts_and_an_interrupted_one_resumes_at_the_next_part(
    make_provider, tmp_path
):
    provider = make_provider()
    provider.multipart_threshold = provider.part_size = 5 * 1024 * 1024
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"".join(json.dumps({"i": i, "pad": "x" * 90}).encode() + b"\n" for i in range(130_000)))
    size = big.stat().st_size
    assert size > 2 * provider.part_size
    parts = _count_calls(provider.aws("s3"), "UploadPart")

    def fail_third(params: dict[str, Any], **_: Any) -> None:
        if params["PartNumber"] == 3 and not getattr(fail_third, "done", False):
            fail_third.done = True  # type: ignore[attr-defined]
            raise ConnectionResetError("link dropped")

    provider.aws("s3").meta.events.register("provide-client-params.s3.UploadPart", fail_third)
    seen: list[tuple[int, int]] = []
    with pytest.raises(ProviderError, match="ConnectionResetError: link dropped"):
        await upload_once(provider, big, progress=lambda done, total: seen.append((done, total)))
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    assert len(provider.store.upload_session("sm-test", sha)["parts"]) == 2
    sent_before = len(parts)
    result = await upload_once(provider, big, progress=lambda done, total: seen.append((done, total)))
    assert [p["PartNumber"] for p in parts[sent_before:]] == [3]  # parts 1 and 2 were not sent again
    assert provider.store.upload_session("sm-test", sha) is None
    assert result.file.bytes == size and seen[-1] == (size, size)
    assert hashlib.sha256(await provider.file_content(result.file.id)).hexdigest() == sha


# ---- training jobs ------------------------------------------------------------------------------


async def test_create_job_uploads_data_and_code_once_and_sends_a_script_mode_request(provider, aws, tmp_path):
    creates = _count_calls(provider.aws("sagemaker"), "CreateTrainingJob")
    job = await provider.create_job(_spec(tmp_path))
    assert job.id.startswith("ftui-demo-") and len(job.id) <= 63
    assert job.status == "succeeded"  # moto's instant Completed, mapped
    request = creates[0]
    hps = request["HyperParameters"]
    assert json.loads(hps["sagemaker_program"]) == "ftui_train.py"
    code_uri = json.loads(hps["sagemaker_submit_directory"])
    assert code_uri.endswith("/sourcedir.tar.gz")
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train"]
    assert request["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "train:loss"
    assert {"Key": "ftui:meta:team", "Value": "nlp"} in request["Tags"]
    # What moto kept of it (it rewrites MetricDefinitions, so those are checked on the request).
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=job.id)
    assert described["HyperParameters"] == hps
    assert described["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert described["OutputDataConfig"]["CompressionType"] == "NONE"
    keys = _keys(aws, "ftui-tests/files/")
    assert len(keys) == 2 and any(k.endswith("/sourcedir.tar.gz") for k in keys)
    assert job.training_file and job.training_file.startswith("s3://")
    assert job.metadata == {"team": "nlp"} and job.suffix == "demo" and job.hyperparameters.n_epochs == 1

    # A second job with the same data and code uploads nothing new.
    puts = _count_calls(provider.aws("s3"), "PutObject")
    second = await provider.create_job(_spec(tmp_path, suffix="again"))
    assert not puts and second.id != job.id and len(_keys(aws, "ftui-tests/files/")) == 2


async def test_a_profile_moved_to_another_prefix_uploads_its_inputs_there(make_provider, aws, tmp_path):
    from ftui.store import Store

    store = Store(tmp_path / "shared.db")
    await make_provider(store=store).create_job(_spec(tmp_path))
    moved = make_provider(store=store, prefix="elsewhere")
    creates = _count_calls(moved.aws("sagemaker"), "CreateTrainingJob")
    await moved.create_job(_spec(tmp_path))
    channel = creates[0]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel.startswith(f"s3://{BUCKET}/elsewhere/files/")
    assert len(_keys(aws, "elsewhere/files/")) == 2


async def test_create_job_refuses_bad_input_before_anything_is_uploaded(make_provider, aws, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"msgs": []}\n')
    provider = make_provider()
    with pytest.raises(ProviderError, match=r"bad\.jsonl") as err:
        await provider.create_job(_spec(tmp_path, training_file=str(bad)))
    assert "line 2" in str(err.value)
    with pytest.raises(ProviderError, match="no such file"):
        await provider.create_job(_spec(tmp_path, training_file=str(tmp_path / "missing.jsonl")))
    with pytest.raises(FtuiError, match="ftui never downloads weights"):
        await provider.create_job(_spec(tmp_path, base_model="someone/not-cached-7B"))
    with pytest.raises(FtuiError, match="no role_arn"):
        await make_provider(role_arn=None).create_job(_spec(tmp_path))
    with pytest.raises(FtuiError, match="no bucket"):
        await make_provider(bucket=None).create_job(_spec(tmp_path))
    assert _keys(aws) == []


async def test_a_local_model_folder_is_staged_once_as_the_model_channel(provider, aws, tmp_path):
    folder = tmp_path / "my-model-1B"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    creates = _count_calls(provider.aws("sagemaker"), "CreateTrainingJob")
    await provider.create_job(_spec(tmp_path, base_model=str(folder)))
    await provider.create_job(_spec(tmp_path, base_model=str(folder), suffix="two"))
    channels = [{c["ChannelName"]: c for c in r["InputDataConfig"]} for r in creates]
    model_uris = {ch["model"]["DataSource"]["S3DataSource"]["S3Uri"] for ch in channels}
    assert len(model_uris) == 1 and next(iter(model_uris)).endswith("/my-model-1B.tar")
    assert len([k for k in _keys(aws) if k.endswith(".tar")]) == 1


async def test_job_status_follows_sagemakers_timeline_and_failures_carry_advice(provider, aws, tmp_path):
    job = await provider.create_job(_spec(tmp_path))
    aws.begin(job.id)
    seen = [(await provider.job(job.id)).status]
    for secondary, message in (
        ("Downloading", "Downloading input data"),
        ("Training", "Training image download completed. Training in progress."),
    ):
        aws.set_status(job.id, "InProgress", secondary, message)
        current = await provider.job(job.id)
        seen.append(current.status)
        assert current.status_detail == secondary
    aws.set_status(job.id, "InProgress", "SomethingNew", "a status SageMaker added later")
    assert (await provider.job(job.id)).status_detail == "SomethingNew"
    reason = "AlgorithmError: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    aws.set_status(job.id, "Failed", "Failed", "Training job failed", failure=reason)
    failed = await provider.job(job.id)
    assert seen == ["queued", "running", "running"]
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.error is not None and failed.error.code == "AlgorithmError"
    assert failed.error.message.startswith(reason) and "Lower batch_size" in failed.error.message

    listed = await collect(lambda c: provider.jobs(limit=1, cursor=c))
    assert [j.id for j in listed] == [job.id] and listed[0].status == "failed"


async def test_cancel_stops_the_job_and_stopped_is_cancelled_not_success(provider, aws, tmp_path):
    job = await provider.create_job(_spec(tmp_path))
    aws.begin(job.id)
    aws.set_status(job.id, "InProgress", "Training")
    stopping = await provider.cancel(job.id)
    assert stopping.status == "running" and stopping.status_detail == "Stopping"
    aws.set_status(job.id, "Stopped", "Stopped", "Stopped the training job")
    stopped = await provider.job(job.id)
    assert stopped.status == "cancelled" and stopped.fine_tuned_model is None and stopped.error is None
    with pytest.raises(ProviderError, match="already cancelled") as err:
        await provider.cancel(job.id)
    assert err.value.code == "invalid_state"
    aws.begin(job.id)
    aws.set_status(job.id, "Stopped", "MaxRuntimeExceeded")
    timed_out = await provider.job(job.id)
    assert timed_out.status == "failed" and "max_runtime_hours" in timed_out.error.message
    with pytest.raises(NotFound):
        await provider.job("ftui-no-such-job")


async def test_events_tail_cloudwatch_logs_incrementally_with_the_metric_regexes(
    provider, aws, tmp_path, entry_run
):
    _, run = entry_run
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    metric_lines = lines_with(run.stdout, "FTUI_METRICS ")
    job = await provider.create_job(_spec(tmp_path))
    aws.begin(job.id)

    page = await provider.events(job.id)  # the container has not logged yet: no log group
    assert [e.message for e in page.items] == ["Starting: Preparing the instances for training"]
    assert page.next_cursor

    aws.set_status(job.id, "InProgress", "Training", "Training in progress.")
    half = len(lines) // 2
    start = int(datetime.now(UTC).timestamp() * 1000) + 1000  # after the transition
    aws.put_logs(job.id, lines[:half], start_ms=start)
    first = await provider.events(job.id, page.next_cursor)
    aws.put_logs(job.id, lines[half:], start_ms=start + 100_000)
    second = await provider.events(job.id, first.next_cursor)
    nothing = await provider.events(job.id, second.next_cursor)
    assert nothing.items == [] and nothing.next_cursor

    events = first.items + second.items
    assert events[0].message == "Training: Training in progress."
    points = [e.metrics for e in events if e.type == "metrics"]
    assert len(points) == len(metric_lines)
    for point, line in zip(points, metric_lines, strict=True):
        values = json.loads(line.split("FTUI_METRICS ", 1)[1])
        assert point.step == values["step"]
        for field in ("train_loss", "valid_loss", "learning_rate", "epoch"):
            if values[field] is None:
                assert getattr(point, field) is None
            else:
                assert getattr(point, field) == pytest.approx(values[field])
    messages = [e.message for e in events if e.type == "message"]
    assert "Fine-tuning job started" in messages and "The job has successfully completed" in messages
    assert not any(m.startswith("Step") and m.endswith("metrics") for m in messages)  # no doubles
    assert len({e.id for e in events}) == len(events)

    aws.set_status(
        job.id, "Failed", "Failed", failure="CapacityError: Unable to provision requested ML compute capacity"
    )
    last = await provider.events(job.id, nothing.next_cursor)
    assert [e.level for e in last.items][-1] == "error" and "no free ml.g5.2xlarge" in last.items[-1].message
    assert (await provider.events(job.id, last.next_cursor)).items == []
    with pytest.raises(FtuiError, match="not an events cursor"):
        await provider.events(job.id, "garbage")


async def test_events_fall_back_to_cloudwatch_metrics_when_no_log_can_be_read(provider, aws, tmp_path):
    job = await provider.create_job(_spec(tmp_path))
    start = datetime.now(UTC).replace(second=0)
    aws.put_metrics(
        job.id, [{"step": 1, "train:loss": 2.5}, {"step": 2, "train:loss": 2.0, "total_steps": 2}], start
    )
    events = await collect(lambda c: provider.events(job.id, c))
    points = [e.metrics for e in events if e.type == "metrics"]
    assert [(p.step, p.train_loss) for p in points] == [(1, 2.5), (2, 2.0)]
    assert points[1].total_steps == 2


async def test_logs_the_credentials_may_not_read_give_a_warning_and_the_metrics_instead(
    provider, aws, tmp_path
):
    from botocore.exceptions import ClientError

    def deny(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeLogStreams"
        )

    provider.aws("logs").meta.events.register("provide-client-params.logs.DescribeLogStreams", deny)
    job = await provider.create_job(_spec(tmp_path))
    aws.begin(job.id)
    aws.put_metrics(job.id, [{"step": 1, "train:loss": 2.5}], datetime.now(UTC).replace(second=0))
    first = await provider.events(job.id)
    warnings = [e for e in first.items if e.level == "warn"]
    assert len(warnings) == 1 and "may not read CloudWatch Logs" in warnings[0].message
    assert [e.metrics.step for e in first.items if e.type == "metrics"] == [1]
    again = await provider.events(job.id, first.next_cursor)
    assert again.items == []  # neither the warning nor the point twice


async def test_cost_before_a_run_uses_the_price_table_and_the_training_file(make_provider, tmp_path):
    provider = make_provider(instance_type="ml.g5.12xlarge", instance_count=2, spot=True)
    spec = _spec(tmp_path, base_model="Qwen/Qwen2.5-0.5B-Instruct", hyperparameters=Hyperparameters())
    estimate = await provider.estimate_cost(spec, tokens=2_000_000)
    assert estimate.per_hour == pytest.approx(2 * 7.09)
    assert estimate.hours and estimate.total == pytest.approx(estimate.per_hour * estimate.hours, rel=1e-3)
    assert "10 epochs" in estimate.basis  # "auto" on 10 examples, as the trainer will pick
    assert "Spot bills less" in estimate.basis and estimate.as_of
    endpoint = await provider.estimate_cost(DeploySpec(model="m", instance_type="ml.g5.2xlarge", capacity=2))
    assert endpoint.per_hour == pytest.approx(3.03) and endpoint.total is None


# ---- endpoints ----------------------------------------------------------------------------------


async def _finished_job_with_model(provider: Any, aws: MotoAWS, tmp_path: Path, model_dir: Path) -> Any:
    job = await provider.create_job(_spec(tmp_path))
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=job.id)
    prefix = f"{described['OutputDataConfig']['S3OutputPath']}/{job.id}/output/model/".removeprefix(
        f"s3://{BUCKET}/"
    )
    for file in model_dir.iterdir():  # what SageMaker uploads from SM_MODEL_DIR at the end
        aws.client("s3").put_object(Bucket=BUCKET, Key=prefix + file.name, Body=file.read_bytes())
    return await provider.job(job.id)


async def test_deploy_chat_and_undeploy_a_fine_tuned_model(
    provider, aws, tmp_path, entry_run, runtime_server
):
    host, _ = entry_run
    job = await _finished_job_with_model(provider, aws, tmp_path, host.model_dir)
    assert job.fine_tuned_model == f"ft:tiny-llama:{job.id}"
    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName="not-ours",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": "i"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="not-ours",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "not-ours",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="not-ours", EndpointConfigName="not-ours")

    deployed = await provider.deploy(DeploySpec(model=job.fine_tuned_model, capacity=1))
    assert deployed.id.startswith("ftui-") and deployed.status == "ready"  # moto: InService at once
    assert deployed.instance_type == "ml.g5.2xlarge" and deployed.hourly_cost == pytest.approx(1.515)
    model = sm.describe_model(ModelName=deployed.id)
    container = model["PrimaryContainer"]
    assert "huggingface-pytorch-tgi-inference" in container["Image"]
    assert container["ModelDataSource"]["S3DataSource"]["S3Uri"].endswith(f"/{job.id}/output/model/")
    assert container["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"

    listed = (await provider.deployments()).items
    assert [d.id for d in listed] == [deployed.id] and listed[0].model == job.fine_tuned_model
    assert (await provider.deployment(deployed.id)).status == "ready"
    assert (await provider.wait_deployed(deployed.id, delay_s=1, timeout_s=5)).status == "ready"

    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="grüß dich ✓"),
    ]
    pieces = [
        p async for p in provider.chat(deployed.id, messages, ChatParams(max_tokens=32, temperature=0.2))
    ]
    assert "".join(pieces) == "Echo: grüß dich ✓" and len(pieces) == 4
    sent = runtime_server.requests[-1]
    assert sent["endpoint"] == deployed.id and sent["body"]["stream"] is True
    assert sent["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["body"]["max_tokens"] == 32
    by_model = "".join([p async for p in provider.chat(job.fine_tuned_model, messages[1:])])
    assert by_model == "Echo: grüß dich ✓"  # a deployed model's name finds its endpoint

    with pytest.raises(ProviderError, match="not made by ftui"):
        await provider.undeploy("not-ours")
    gone = await provider.undeploy(deployed.id)
    assert gone.status == "deleted"
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["not-ours"]
    assert deployed.id not in [m["ModelName"] for m in sm.list_models()["Models"]]
    assert deployed.id not in [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    with pytest.raises(NotFound):
        await provider.deployment(deployed.id)
    with pytest.raises(NotFound):
        await provider.undeploy(deployed.id)
    with pytest.raises(ProviderError, match="is not deployed"):
        [p async for p in provider.chat(job.fine_tuned_model, messages)]


async def test_deploy_refuses_what_tgi_cannot_serve(make_provider, aws, tmp_path):
    provider = make_provider()
    job = await provider.create_job(_spec(tmp_path))
    with pytest.raises(ProviderError, match="no servable model") as err:
        await provider.deploy(DeploySpec(model=job.fine_tuned_model))
    assert err.value.code == "no_model_files"
    aws.begin(job.id)
    aws.set_status(job.id, "InProgress", "Training")
    with pytest.raises(ProviderError, match="only a completed job's model"):
        await provider.deploy(DeploySpec(model=job.id))
    adapter_only = make_provider(merge_adapter=False)
    job2 = await adapter_only.create_job(_spec(tmp_path, suffix="adapter"))
    with pytest.raises(ProviderError, match="LoRA adapter only"):
        await adapter_only.deploy(DeploySpec(model=job2.fine_tuned_model))
    with pytest.raises(NotFound):
        await provider.deploy(DeploySpec(model="ft:tiny-llama:ftui-nope"))
    with pytest.raises(FtuiError, match="up to 63 letters"):
        await provider.deploy(DeploySpec(model=job.id, name="bad_name!"))
    assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []


async def test_a_stream_error_mid_reply_is_a_clear_error(provider, aws, runtime_server):
    runtime_server.fail_with = "CUDA out of memory while generating"
    try:
        with pytest.raises(
            ProviderError, match="ModelStreamError: CUDA out of memory while generating"
        ) as err:
            [p async for p in provider.chat("ftui-some-endpoint", [ChatMessage(role="user", content="hi")])]
        assert "Lower batch_size" in str(err.value) or "GPU ran out of memory" in str(err.value)
    finally:
        runtime_server.fail_with = None


async def test_no_credentials_and_an_unknown_aws_profile_are_explained(make_provider, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(FtuiError, match="no AWS credentials found") as err:
        await make_provider().job("ftui-x")
    assert "aws configure" in str(err.value)
    with pytest.raises(FtuiError, match="AWS profile 'nope'"):
        await make_provider(aws_profile="nope").job("ftui-x")
