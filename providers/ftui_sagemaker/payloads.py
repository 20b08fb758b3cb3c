"""The requests ftui sends to SageMaker, built by pure functions (no client, no network).

`training_job_request` is script mode as the Hugging Face estimator does it: the toolkit reads
`sagemaker_program` and `sagemaker_submit_directory`, drops every `sagemaker_*` key from SM_HPS, and
json-decodes each value, so ours go as JSON strings. For several instances or several GPUs it sets
the DLC's torch_distributed switch (`sagemaker_torch_distributed_enabled`), which makes the toolkit
launch `torchrun --nnodes N --nproc_per_node GPUS ...`: the launcher the local provider uses on one box.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ftui.errors import FtuiError
from ftui.model import Hyperparameters, JobSpec
from ftui_sagemaker import catalog, metrics
from ftui_sagemaker.bundle import ENTRY
from ftui_sagemaker.settings import SageMakerSettings

# Our own keys in HyperParameters; everything else is hyperparameters.extra.
KNOWN = (
    "base_model",
    "method",
    "n_epochs",
    "batch_size",
    "learning_rate_multiplier",
    "beta",
    "seed",
    "suffix",
)
MAX_HP_VALUE = 256  # the API text's limit (the shape allows more, the service does not)
CHECKPOINT_LOCAL = "/opt/ml/checkpoints"
TAG_CREATED_BY = ("ftui:created-by", "ftui")
_HP_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
_TAG_BAD = re.compile(r"[^\w\s.:/=+\-@]", re.UNICODE)


def tag(key: str, value: str) -> dict[str, str]:
    return {"Key": _TAG_BAD.sub("_", key)[:128], "Value": _TAG_BAD.sub("_", value)[:256]}


def tags_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def job_hyperparameters(spec: JobSpec, *, fine_tuned_model: str, merge: bool) -> dict[str, Any]:
    """Our hyperparameters, decoded (what SM_HPS will hold)."""
    hp = spec.hyperparameters
    out: dict[str, Any] = {"base_model": spec.base_model, "method": spec.method}
    for key in ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"):
        value = getattr(hp, key)
        if value is not None and value != "auto":
            out[key] = value
    if spec.seed is not None:
        out["seed"] = spec.seed
    if spec.suffix:
        out["suffix"] = spec.suffix
    out["fine_tuned_model"] = fine_tuned_model
    out["merge"] = merge
    for key, value in hp.extra.items():
        if key in out or key in KNOWN or key.startswith("sagemaker_"):
            raise FtuiError(f"hyperparameters.extra.{key}: that name is reserved; set it outside extra")
        if not _HP_KEY.fullmatch(key):
            raise FtuiError(f"hyperparameters.extra.{key}: SageMaker needs names of letters, digits and _")
        if not isinstance(value, str | int | float | bool):
            raise FtuiError(f"hyperparameters.extra.{key}: SageMaker takes strings and numbers only")
        out[key] = value
    return out


def encode_hyperparameters(hps: dict[str, Any]) -> dict[str, str]:
    encoded = {}
    for key, value in hps.items():
        text = json.dumps(value)
        if len(text) > MAX_HP_VALUE:
            raise FtuiError(f"hyperparameter {key}: {len(text)} characters; SageMaker allows {MAX_HP_VALUE}")
        encoded[key] = text
    return encoded


def decode_hyperparameters(raw: dict[str, str]) -> dict[str, Any]:
    out = {}
    for key, value in raw.items():
        try:
            out[key] = json.loads(value)
        except (json.JSONDecodeError, TypeError):
            out[key] = value
    return out


def hyperparameters_of(hps: dict[str, Any]) -> Hyperparameters:
    """The common model's view of what a job was started with (sagemaker_* and our own keys left out)."""
    skip = {*KNOWN, "fine_tuned_model", "merge"}
    return Hyperparameters(
        n_epochs=hps.get("n_epochs", "auto"),
        batch_size=hps.get("batch_size", "auto"),
        learning_rate_multiplier=hps.get("learning_rate_multiplier", "auto"),
        beta=hps.get("beta"),
        extra={k: v for k, v in hps.items() if k not in skip and not k.startswith("sagemaker_")},
    )


def distributed(settings: SageMakerSettings) -> bool:
    return settings.instance_count > 1 or catalog.gpus_per_instance(settings.instance_type) > 1


@dataclass
class TrainingPlan:
    job_name: str
    training_uri: str
    sourcedir_uri: str
    hyperparameters: dict[str, Any]
    validation_uri: str | None = None
    model_uri: str | None = None  # base weights staged in S3: the `model` channel
    tags: list[dict[str, str]] = field(default_factory=list)


def s3_root(settings: SageMakerSettings) -> str:
    if not settings.bucket:
        raise FtuiError("the profile has no bucket: set bucket (and prefix) to an S3 bucket the role can use")
    return f"s3://{settings.bucket}/{settings.prefix}"


def _channel(name: str, uri: str, content_type: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": content_type,
        "CompressionType": "None",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def training_job_request(plan: TrainingPlan, settings: SageMakerSettings) -> dict[str, Any]:
    if not settings.role_arn:
        raise FtuiError("the profile has no role_arn: set it to the SageMaker execution role's ARN")
    root = s3_root(settings)
    image = settings.training_image or catalog.image_uri(settings.region, "training")
    hps: dict[str, Any] = {
        "sagemaker_program": ENTRY,
        "sagemaker_submit_directory": plan.sourcedir_uri,
        "sagemaker_region": settings.region,
        "sagemaker_container_log_level": 20,
        "sagemaker_job_name": plan.job_name,
    }
    if distributed(settings):
        hps["sagemaker_torch_distributed_enabled"] = True
        hps["sagemaker_instance_type"] = settings.instance_type
    channels = [_channel("train", plan.training_uri, "application/jsonlines")]
    if plan.validation_uri:
        channels.append(_channel("validation", plan.validation_uri, "application/jsonlines"))
    if plan.model_uri:
        channels.append(_channel("model", plan.model_uri, "application/x-tar"))
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": int(settings.max_runtime_hours * 3600)}
    wait = settings.wait_hours
    if wait is not None:
        stopping["MaxWaitTimeInSeconds"] = int(wait * 3600)
    return {
        "TrainingJobName": plan.job_name,
        "RoleArn": settings.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": "File",
            "MetricDefinitions": metrics.metric_definitions(),
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "HyperParameters": encode_hyperparameters({**hps, **plan.hyperparameters}),
        "InputDataConfig": channels,
        # Uncompressed: the endpoint loads the model folder straight from this prefix.
        "OutputDataConfig": {"S3OutputPath": f"{root}/output", "CompressionType": "NONE"},
        "ResourceConfig": {
            "InstanceType": settings.instance_type,
            "InstanceCount": settings.instance_count,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": stopping,
        "CheckpointConfig": {"S3Uri": f"{root}/checkpoints/{plan.job_name}/", "LocalPath": CHECKPOINT_LOCAL},
        "EnableManagedSpotTraining": settings.spot,
        # Base weights come through the model channel: nothing is fetched from the Hub at run time.
        "Environment": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        "Tags": [tag(*TAG_CREATED_BY), *plan.tags],
    }


def model_prefix(job: dict[str, Any]) -> str:
    """Where an uncompressed job's SM_MODEL_DIR lands: <S3OutputPath>/<job>/output/model/."""
    out = job["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    return f"{out}/{job['TrainingJobName']}/output/model/"


SERVING_DEFAULTS: dict[str, dict[str, str]] = {
    # TGI's SageMaker entrypoint maps HF_MODEL_ID -> --model-id, SM_NUM_GPUS -> --num-shard.
    "tgi": {"MAX_INPUT_TOKENS": "2048", "MAX_TOTAL_TOKENS": "4096", "MAX_BATCH_PREFILL_TOKENS": "4096"},
    # The vLLM DLC's entrypoint turns every SM_VLLM_X into --x.
    "vllm": {"SM_VLLM_MAX_MODEL_LEN": "4096"},
}


def model_request(
    *,
    name: str,
    settings: SageMakerSettings,
    model_uri: str,
    instance_type: str,
    environment: dict[str, str] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    if not settings.role_arn:
        raise FtuiError("the profile has no role_arn: set it to the SageMaker execution role's ARN")
    engine = settings.serving
    gpus = str(catalog.gpus_per_instance(instance_type))
    env = dict(SERVING_DEFAULTS[engine])
    if engine == "tgi":
        env.update(HF_MODEL_ID="/opt/ml/model", SM_NUM_GPUS=gpus)
    else:
        env.update(
            SM_VLLM_MODEL="/opt/ml/model", SM_VLLM_TENSOR_PARALLEL_SIZE=gpus, SM_VLLM_SERVED_MODEL_NAME=name
        )
    env.update(environment or {})
    return {
        "ModelName": name,
        "ExecutionRoleArn": settings.role_arn,
        "PrimaryContainer": {
            "Image": settings.serving_image or catalog.image_uri(settings.region, engine),
            "ModelDataSource": {
                "S3DataSource": {"S3Uri": model_uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
            },
            "Environment": env,
        },
        "Tags": [tag(*TAG_CREATED_BY), *(tags or [])],
    }


def endpoint_config_request(
    *, name: str, model_name: str, instance_type: str, count: int, tags: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
                # Large models take minutes to download and load; the defaults fail their health check.
                "ContainerStartupHealthCheckTimeoutInSeconds": 900,
                "ModelDataDownloadTimeoutInSeconds": 1800,
            }
        ],
        "Tags": [tag(*TAG_CREATED_BY), *(tags or [])],
    }


def chat_body(
    messages: list[dict[str, str]],
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    stop: list[str],
    seed: int | None,
) -> dict[str, Any]:
    """The Messages API body TGI (2.4+) and vLLM accept on /invocations, streamed."""
    body: dict[str, Any] = {
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "stream": True,
    }
    if stop:
        body["stop"] = stop
    if seed is not None:
        body["seed"] = seed
    return body
