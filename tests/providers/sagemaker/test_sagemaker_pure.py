"""The glue ftui owns, as pure functions: request building, status mapping, stream reassembly, cost."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
from ftui_sagemaker import bundle, catalog, cost, metrics, payloads, status, stream, tail
from ftui_sagemaker.settings import SageMakerSettings
from pydantic import ValidationError
from support.eventstream_server import awkward_cuts, sse_reply
from support.moto_aws import BUCKET, ROLE
from support.sagemaker_container import tiny_request

from ftui.errors import FtuiError, ProviderError
from ftui.model import DeploySpec, Hyperparameters, JobSpec

# ---- the request --------------------------------------------------------------------------------


def _validate(operation: str, params: dict) -> None:
    """botocore's own parameter validation against the service model (what boto3 does before sending)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation)
    report = ParamValidator().validate(params, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def test_training_request_is_script_mode_with_channels_checkpoints_spot_and_passes_botocore_validation():
    request = tiny_request(spot=True, max_runtime_hours=2, max_wait_hours=5, volume_size_gb=50)
    _validate("CreateTrainingJob", request)
    hps = request["HyperParameters"]
    assert json.loads(hps["sagemaker_program"]) == "ftui_train.py"
    assert json.loads(hps["sagemaker_submit_directory"]) == "s3://b/code/sourcedir.tar.gz"
    assert all(isinstance(v, str) and len(v) <= 256 for v in hps.values())
    assert json.loads(hps["base_model"]) == "tiny-llama" and json.loads(hps["lora_r"]) == 4
    assert "sagemaker_torch_distributed_enabled" not in hps  # one GPU, one instance: a plain process
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train"]
    assert request["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/ftui/output",
        "CompressionType": "NONE",
    }
    assert request["CheckpointConfig"] == {
        "S3Uri": f"s3://{BUCKET}/ftui/checkpoints/ftui-test-job/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 18000}
    assert request["EnableManagedSpotTraining"] is True
    assert request["ResourceConfig"]["VolumeSizeInGB"] == 50
    assert request["AlgorithmSpecification"]["TrainingImage"].startswith(
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:"
    )
    assert {"Key": "ftui:created-by", "Value": "ftui"} in request["Tags"]


def test_several_instances_or_gpus_turn_on_the_dlcs_torch_distributed_launch():
    for overrides in ({"instance_count": 2}, {"instance_type": "ml.g5.12xlarge"}):
        hps = tiny_request(**overrides)["HyperParameters"]
        assert hps["sagemaker_torch_distributed_enabled"] == "true"
        assert json.loads(hps["sagemaker_instance_type"]) == overrides.get("instance_type", "ml.g5.2xlarge")


def test_hyperparameters_round_trip_and_bad_extras_are_refused_by_name():
    spec = JobSpec(
        base_model="Qwen/Qwen2.5-0.5B-Instruct",
        training_file="t.jsonl",
        hyperparameters=Hyperparameters(n_epochs=3, learning_rate_multiplier=0.5, extra={"lora_r": 8}),
        suffix="bot",
        seed=3,
    )
    hps = payloads.job_hyperparameters(spec, fine_tuned_model="ft:x:y", merge=True)
    decoded = payloads.decode_hyperparameters(payloads.encode_hyperparameters(hps))
    assert decoded == hps
    back = payloads.hyperparameters_of(decoded)
    assert back.n_epochs == 3 and back.batch_size == "auto" and back.extra == {"lora_r": 8}
    for extra, words in (
        ({"n_epochs": 2}, "reserved"),
        ({"bad-key": 1}, "letters, digits and _"),
        ({"nested": {"a": 1}}, "strings and numbers"),
    ):
        bad = spec.model_copy(update={"hyperparameters": Hyperparameters(extra=extra)})
        with pytest.raises(FtuiError, match=words) as err:
            payloads.job_hyperparameters(bad, fine_tuned_model="m", merge=True)
        assert f"hyperparameters.extra.{next(iter(extra))}" in str(err.value)
    with pytest.raises(FtuiError, match="hyperparameter long: 302 characters; SageMaker allows 256"):
        payloads.encode_hyperparameters({"long": "x" * 300})


def test_endpoint_requests_use_tgi_by_default_or_vllm_and_pass_botocore_validation():
    settings = SageMakerSettings(role_arn=ROLE, bucket=BUCKET)
    model = payloads.model_request(
        name="ftui-m",
        settings=settings,
        model_uri="s3://b/out/j/output/model/",
        instance_type="ml.g5.12xlarge",
    )
    _validate("CreateModel", model)
    container = model["PrimaryContainer"]
    assert "huggingface-pytorch-tgi-inference" in container["Image"]
    assert container["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"
    assert container["Environment"]["SM_NUM_GPUS"] == "4"
    assert container["ModelDataSource"]["S3DataSource"]["CompressionType"] == "None"
    vllm = payloads.model_request(
        name="ftui-m",
        settings=settings.model_copy(update={"serving": "vllm"}),
        model_uri="s3://b/m/",
        instance_type="ml.g5.2xlarge",
    )
    assert "huggingface-vllm" in vllm["PrimaryContainer"]["Image"]
    assert vllm["PrimaryContainer"]["Environment"]["SM_VLLM_MODEL"] == "/opt/ml/model"
    config = payloads.endpoint_config_request(
        name="c", model_name="ftui-m", instance_type="ml.g5.2xlarge", count=2
    )
    _validate("CreateEndpointConfig", config)
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2


def test_image_uris_follow_the_region_table_and_unknown_regions_say_what_to_set():
    assert catalog.image_uri("eu-west-1", "tgi").startswith("763104351884.dkr.ecr.eu-west-1.amazonaws.com/")
    assert catalog.image_uri("af-south-1", "training").startswith("626614931356.dkr.ecr.af-south-1.")
    assert ".amazonaws.com.cn/" in catalog.image_uri("cn-north-1", "training")
    with pytest.raises(FtuiError, match="training_image / serving_image"):
        catalog.image_uri("mars-north-1", "training")


def test_profile_settings_refuse_what_sagemaker_would_refuse_later():
    cases = [
        ({"max_wait_hours": 5}, "spot training only"),
        ({"spot": True, "max_runtime_hours": 10, "max_wait_hours": 5}, "at least max_runtime_hours"),
        ({"bucket": "Not_A_Bucket"}, "S3 bucket name"),
        ({"role_arn": "my-role"}, "IAM role ARN"),
        ({"instance_type": "g5.2xlarge"}, "ml.g5.2xlarge"),
        ({"endpoint_urls": {"sqs": "http://x"}}, "unknown service sqs"),
        ({"max_runtime_hours": 1000}, "less than or equal to 672"),
    ]
    for values, words in cases:
        with pytest.raises(ValidationError, match=words):
            SageMakerSettings(**values)
    assert SageMakerSettings(spot=True, max_runtime_hours=3).wait_hours == 6


# ---- metrics ------------------------------------------------------------------------------------

LINE = (
    'FTUI_METRICS {"step": 12, "total_steps": 40, "epoch": 0.3, "train_loss": 1.234e-05, '
    '"train_mean_token_accuracy": 0.875, "valid_loss": null, "valid_mean_token_accuracy": null, '
    '"learning_rate": 0.0002, "tokens_per_second": 431.5}'
)


def test_metric_definitions_read_every_field_of_the_metrics_line_and_nothing_else():
    definitions = metrics.metric_definitions()
    assert len(definitions) <= 40 and all(len(d["Regex"]) <= 500 for d in definitions)
    found = {}
    for d in definitions:
        assert "(?" not in d["Regex"]  # SageMaker's engine is not Python's: plain groups only
        m = re.search(d["Regex"], LINE)
        if m:
            found[d["Name"]] = float(m.group(1))
    assert found == {
        "train:loss": 1.234e-05,
        "train:mean_token_accuracy": 0.875,
        "learning_rate": 0.0002,
        "epoch": 0.3,
        "step": 12,
        "total_steps": 40,
        "tokens_per_second": 431.5,
    }
    point = metrics.point("[rank0]: " + LINE)  # a launcher's prefix does not hide it
    assert point is not None and point.step == 12 and point.total_steps == 40 and point.valid_loss is None
    for other in ("{'loss': 1.2, 'epoch': 0.5}", "FTUI_METRICS not json", 'FTUI_EVENT {"message": "x"}'):
        assert metrics.point(other) is None


def test_event_lines_carry_the_job_events_and_the_error_line_is_read():
    event = tail.line_event(
        'FTUI_EVENT {"id": "e1", "created_at": "2026-12-01T10:00:00+00:00", "level": "warn", '
        '"message": "2 training example(s) skipped", "type": "message", "metrics": null}',
        tail._ts(0),
        "j/algo-1",
        1,
    )
    assert event is not None and event.level == "warn" and event.message == "2 training example(s) skipped"
    assert event.created_at == tail._ts(0)  # CloudWatch's clock, not the container's
    duplicate = tail.line_event(
        'FTUI_EVENT {"message": "Step 1 metrics", "type": "metrics"}', tail._ts(0), "s", 1
    )
    assert duplicate is None  # the FTUI_METRICS line of that step is the one read
    glued = tail.line_event(
        "{'loss': 1.2}" + 'FTUI_EVENT {"message": "Checkpoint created at step 2"}', tail._ts(0), "s", 2
    )
    assert glued is not None and glued.message == "Checkpoint created at step 2"  # another print ran first
    error = tail.line_event("FTUI_ERROR CUDA out of memory", tail._ts(0), "s", 1)
    assert error is not None and error.level == "error" and error.message == "CUDA out of memory"
    assert tail.line_event("Downloading shards: 100%", tail._ts(0), "s", 1) is None


def test_events_cursor_round_trips_and_a_foreign_cursor_is_refused():
    cursor = tail.Cursor(streams={"j/algo-1-1": "f/123"}, transitions=3, failure=True, metrics_after=5.0)
    assert tail.Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(FtuiError, match="not an events cursor"):
        tail.Cursor.decode("ftevent-123")


# ---- status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("primary", "secondary", "expected"),
    [
        ("InProgress", "Starting", ("queued", "Starting")),
        ("InProgress", "LaunchingMLInstances", ("queued", "LaunchingMLInstances")),
        ("InProgress", "Downloading", ("running", "Downloading")),
        ("InProgress", "Training", ("running", "Training")),
        ("InProgress", "Interrupted", ("running", "Interrupted")),
        ("InProgress", "Restarting", ("running", "Restarting")),
        ("InProgress", "Uploading", ("running", "Uploading")),
        ("Stopping", "Stopping", ("running", "Stopping")),
        ("Completed", "Completed", ("succeeded", "Completed")),
        ("Failed", "Failed", ("failed", "Failed")),
        ("Stopped", "Stopped", ("cancelled", "Stopped")),
        ("Stopped", "MaxRuntimeExceeded", ("failed", "MaxRuntimeExceeded")),
        ("Stopped", "MaxWaitTimeExceeded", ("failed", "MaxWaitTimeExceeded")),
        ("InProgress", "WarmingUpGPUs", ("running", "WarmingUpGPUs")),
        ("Paused", None, ("running", "Paused")),
        ("Hibernating", "Dreaming", ("running", "Hibernating (Dreaming)")),
    ],
)
def test_status_and_secondary_status_map_and_unknown_ones_show_as_they_are(primary, secondary, expected):
    assert status.job_status(primary, secondary) == expected


def test_stopped_is_never_success_and_endpoint_statuses_map():
    assert all(
        status.job_status("Stopped", s)[0] != "succeeded" for s in ("Stopped", "MaxRuntimeExceeded", None)
    )
    assert status.endpoint_status("InService") == "ready"
    assert status.endpoint_status("Failed") == "failed"
    assert status.endpoint_status("Deleting") == "deleting"
    assert status.endpoint_status("SomethingNew") == "creating"


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (
            "ResourceLimitExceeded: The account-level service limit 'ml.g5.12xlarge for training job "
            "usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1.",
            "quota for ml.g5.12xlarge",
        ),
        ("CapacityError: Unable to provision requested ML compute capacity. Please retry", "no free"),
        ("InsufficientCapacityError: 'ml.g5.48xlarge' is temporarily unavailable capacity", "ml.g5.48xlarge"),
        (
            "AlgorithmError: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
            "batch_size",
        ),
        (
            "AlgorithmError: OSError: [Errno 28] No space left on device",
            "volume_size_gb in the profile (now 30 GB)",
        ),
        (
            "ClientError: Data download failed:AccessDenied (403): User: arn:aws:sts::1:assumed-role/x "
            "is not authorized to perform: s3:GetObject",
            f"s3://{BUCKET}",
        ),
    ],
)
def test_common_failures_get_advice_and_keep_their_text(reason, words):
    hint = status.advice(reason, instance_type="ml.g5.2xlarge", volume_gb=30, bucket=BUCKET)
    assert hint is not None and words in hint
    assert status.advice("AlgorithmError: KeyError: 'messages'") is None


# ---- the stream ---------------------------------------------------------------------------------


def test_sse_lines_split_anywhere_reassemble_to_the_reply():
    reply = sse_reply(["Grüße ", "aus ", "✓ Köln"])
    for size in (1, 2, 3, 7, 64, len(reply)):
        parts = [reply[i : i + size] for i in range(0, len(reply), size)]
        assert "".join(stream.texts(parts)) == "Grüße aus ✓ Köln", size
    assert "".join(stream.texts(awkward_cuts(reply))) == "Grüße aus ✓ Köln"


def test_sse_stream_ends_at_done_keeps_crlf_lines_and_surfaces_server_errors():
    crlf = (
        b'data: {"choices":[{"delta":{"content":"a"}}]}\r\n\r\ndata: [DONE]\r\n\r\n'
        b'data: {"choices":[{"delta":{"content":"late"}}]}\n'
    )
    assert list(stream.texts([crlf])) == ["a"]
    no_newline = b'data:{"choices":[{"delta":{"content":"x"}}]}'
    assert list(stream.texts([no_newline])) == ["x"]
    tgi = (
        b'data: {"token": {"text": "hi", "special": false}}\n\n'
        b'data: {"token": {"text": "</s>", "special": true}}\n\n'
    )
    assert list(stream.texts([tgi])) == ["hi"]
    with pytest.raises(ProviderError, match="failed mid-reply: Input validation error"):
        list(stream.texts([b'data: {"error": "Input validation error", "error_type": "validation"}\n\n']))
    with pytest.raises(ProviderError, match="not JSON"):
        list(stream.texts([b"data: {oops\n\n"]))


# ---- the bundle ---------------------------------------------------------------------------------


def test_sourcedir_is_reproducible_and_holds_the_entry_point_and_training_code(tmp_path: Path):
    first = bundle.build_sourcedir(tmp_path / "a")
    second = bundle.build_sourcedir(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        names = tar.getnames()
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())
    assert names[:2] == ["ftui_train.py", "requirements.txt"]
    for needed in (
        "ftui_sagemaker/entry.py",
        "ftui_local/train.py",
        "ftui_local/train_callback.py",
        "ftui/model.py",
    ):
        assert needed in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "trl>=" in requirements and "torch" not in requirements  # the DLC's own torch stays


def test_model_folder_tar_is_reused_while_the_folder_is_unchanged(tmp_path: Path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"x" * 100)
    (folder / ".cache").mkdir()
    (folder / ".cache" / "junk").write_text("j")
    tar = bundle.build_model_tar(folder, tmp_path / "cache")
    assert bundle.build_model_tar(folder, tmp_path / "cache") == tar
    with tarfile.open(tar) as t:
        assert t.getnames() == ["config.json", "model.safetensors"]
    (folder / "config.json").write_text('{"changed": 1}')
    assert bundle.build_model_tar(folder, tmp_path / "cache") != tar
    (tmp_path / "empty").mkdir()
    with pytest.raises(FtuiError, match=r"no config\.json"):
        bundle.build_model_tar(tmp_path / "empty")


# ---- cost ---------------------------------------------------------------------------------------


def test_training_cost_is_price_times_estimated_hours_and_says_it_is_an_estimate():
    settings = SageMakerSettings(instance_type="ml.g5.2xlarge", instance_count=2)
    estimate = cost.training(
        settings, base_model="Qwen2.5-0.5B-Instruct", tokens=1_000_000, epochs=3, spot=False
    )
    hours = 0.15 + 6 * 0.5e9 * 1_000_000 * 3 / (2 * 70e12 * 0.3) / 3600
    assert estimate.hours == pytest.approx(hours, rel=1e-3)
    assert estimate.per_hour == pytest.approx(2 * 1.515)
    assert estimate.total == pytest.approx(2 * 1.515 * hours, rel=1e-3)
    assert estimate.basis.startswith("Estimate:") and "500M-parameter" in estimate.basis
    assert estimate.source and "Price List API" in estimate.source and estimate.as_of == "2026-08"
    assert estimate.billed_tokens == 3_000_000


def test_cost_without_a_price_or_a_size_says_what_is_missing():
    unknown = cost.training(
        SageMakerSettings(instance_type="ml.p5.48xlarge"), base_model="x", tokens=1, epochs=1, spot=False
    )
    assert unknown.total is None and "set price_per_hour" in unknown.basis
    no_size = cost.training(SageMakerSettings(), base_model="my-model", tokens=1000, epochs=1, spot=True)
    assert no_size.total is None and no_size.per_hour == 1.515
    assert "size of 'my-model' is unknown" in no_size.basis and "Spot bills less" in no_size.basis
    own = cost.endpoint(SageMakerSettings(price_per_hour=0.9), "ml.p5.48xlarge", 2)
    assert own.per_hour == pytest.approx(1.8) and own.source == "price_per_hour in the profile"
    assert "until it is deleted" in cost.endpoint(SageMakerSettings(), "ml.g5.2xlarge", 1).basis


def test_model_size_comes_from_the_name_or_the_safetensors_header(tmp_path: Path):
    assert catalog.params_from_name("Qwen/Qwen2.5-0.5B-Instruct") == 0.5e9
    assert catalog.params_from_name("HuggingFaceTB/SmolLM2-135M-Instruct") == 135e6
    assert catalog.params_from_name("meta-llama/Llama-3.1-8B") == 8e9
    assert catalog.params_from_name("gpt2") is None
    header = json.dumps({"a": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}, "__metadata__": {}})
    raw = len(header).to_bytes(8, "little") + header.encode() + b"\0" * 48
    (tmp_path / "model.safetensors").write_bytes(raw)
    assert cost.model_params(str(tmp_path)) == 12
    assert DeploySpec(model="m").capacity == 1
