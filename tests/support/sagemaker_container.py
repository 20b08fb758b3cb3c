"""SageMaker's training container, as far as a script can tell, on this machine.

`Host` lays out a temporary /opt/ml for one instance: the channels, hyperparameters.json and
resourceconfig.json, the code unpacked from the real sourcedir.tar.gz ftui uploads, and the
environment the sagemaker-training toolkit exports (SM_CHANNEL_*, SM_HPS, SM_HP_*, SM_MODEL_DIR,
SM_OUTPUT_DATA_DIR, SM_NUM_GPUS, SM_HOSTS, SM_CURRENT_HOST, ...). `toolkit_command` starts the entry
point the way the toolkit does: `python ftui_train.py --key value ...` (sorted user hyperparameters),
or, with the DLC's torch_distributed switch, `torchrun --nnodes N --nproc_per_node P [--master_addr
algo-1 --master_port 7777 --node_rank R] ftui_train.py ...` (sagemaker-training
`torch_distributed.py`, `TorchDistributedRunner._create_command`). Hosts here share one machine, so
the master address is 127.0.0.1 and the port a free one instead of algo-1:7777.

What it cannot be: the DLC's own library versions, GPUs, S3 sync of /opt/ml/checkpoints.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENTRY = "ftui_train.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def decode(hyperparameters: dict[str, str]) -> dict[str, Any]:
    """The toolkit's read: json.loads each value, else keep the string."""
    out = {}
    for k, v in hyperparameters.items():
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def user_hps(hyperparameters: dict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in decode(hyperparameters).items() if not k.startswith("sagemaker_")}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@dataclass
class Host:
    root: Path  # stands in for /opt/ml
    hyperparameters: dict[str, str]  # as sent in CreateTrainingJob (JSON strings)
    sourcedir: Path
    name: str = "algo-1"
    hosts: tuple[str, ...] = ("algo-1",)
    job_name: str = "ftui-test-job"
    num_gpus: int = 0
    checkpoints: Path | None = None  # a spot restart finds the same folder again
    channels: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        code = self.root / "code"
        if not code.exists():
            with tarfile.open(self.sourcedir) as tar:
                tar.extractall(code, filter="data")
        config = self.root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(self.hyperparameters))
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": self.name, "hosts": list(self.hosts), "network_interface_name": "lo"})
        )
        for sub in ("model", "output/data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def channel(self, name: str, rows: list[dict[str, Any]], filename: str = "data.jsonl") -> Path:
        path = write_jsonl(self.root / "input" / "data" / name / filename, rows)
        self.channels[name] = path.parent
        return path

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def checkpoint_dir(self) -> Path:
        return self.checkpoints or self.root / "checkpoints"

    def env(self) -> dict[str, str]:
        hps = user_hps(self.hyperparameters)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SM_", "RANK", "LOCAL_RANK", "WORLD_SIZE"))
        }
        env.update(
            SM_MODEL_DIR=str(self.model_dir),
            SM_OUTPUT_DIR=str(self.root / "output"),
            SM_OUTPUT_DATA_DIR=str(self.output_data),
            SM_CHECKPOINT_DIR=str(self.checkpoint_dir),
            SM_INPUT_DIR=str(self.root / "input"),
            SM_INPUT_CONFIG_DIR=str(self.root / "input" / "config"),
            SM_RESOURCE_CONFIG=(self.root / "input" / "config" / "resourceconfig.json").read_text(),
            SM_MODULE_DIR=str(self.root / "code"),
            SM_CHANNELS=json.dumps(sorted(self.channels)),
            SM_HPS=json.dumps(hps),
            SM_NUM_GPUS=str(self.num_gpus),
            SM_NUM_CPUS=str(os.cpu_count() or 1),
            SM_HOSTS=json.dumps(list(self.hosts)),
            SM_CURRENT_HOST=self.name,
            SM_NETWORK_INTERFACE_NAME="lo",
            TRAINING_JOB_NAME=self.job_name,
            PYTHONUNBUFFERED="1",
            GLOO_SOCKET_IFNAME="lo",
        )
        for name, folder in self.channels.items():
            env[f"SM_CHANNEL_{name.upper()}"] = str(folder)
        for key, value in hps.items():
            env[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        return env

    def command(self, *, master_port: int | None = None) -> list[str]:
        return toolkit_command(self.hyperparameters, self.hosts, self.name, self.num_gpus, master_port)

    def start(self, *, master_port: int | None = None, **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(master_port=master_port),
            cwd=self.root / "code",
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            **kwargs,
        )

    def run(
        self, *, master_port: int | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        proc = self.start(master_port=master_port)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def toolkit_command(
    hyperparameters: dict[str, str],
    hosts: tuple[str, ...],
    current: str,
    num_gpus: int,
    master_port: int | None,
) -> list[str]:
    decoded = decode(hyperparameters)
    args: list[str] = []
    for key, value in sorted(user_hps(hyperparameters).items()):
        args += [f"--{key}", value if isinstance(value, str) else json.dumps(value)]
    if not decoded.get("sagemaker_torch_distributed_enabled"):
        return [sys.executable, decoded["sagemaker_program"], *args]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",  # the toolkit calls it `torchrun`; the same launcher
        "--nnodes",
        str(len(hosts)),
        "--nproc_per_node",
        str(num_gpus if num_gpus > 0 else 1),
    ]
    if len(hosts) > 1:
        cmd += ["--master_addr", "127.0.0.1", "--master_port", str(master_port or free_port())]
        cmd += ["--node_rank", str(hosts.index(current))]
    return [*cmd, decoded["sagemaker_program"], *args]


def lines_with(text: str, tag: str) -> list[str]:
    return [line for line in text.splitlines() if tag in line]


def chat_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": str(2 * i)},
            ]
        }
        for i in range(n)
    ]


def tiny_request(
    *, n_epochs: int = 1, batch_size: int = 2, merge: bool = True, **overrides: Any
) -> dict[str, Any]:
    """The CreateTrainingJob request ftui sends for a tiny-llama job (no client involved)."""
    from ftui_sagemaker import payloads
    from ftui_sagemaker.settings import SageMakerSettings

    from ftui.model import Hyperparameters, JobSpec
    from support.moto_aws import BUCKET, ROLE

    extra = {"lora_r": 4, "device": "cpu", **overrides.pop("extra", {})}
    spec = JobSpec(
        base_model="tiny-llama",
        training_file="train.jsonl",
        hyperparameters=Hyperparameters(n_epochs=n_epochs, batch_size=batch_size, extra=extra),
        seed=7,
    )
    settings = SageMakerSettings(role_arn=ROLE, bucket=BUCKET, **overrides)
    hps = payloads.job_hyperparameters(spec, fine_tuned_model="ft:tiny-llama:ftui-test-job", merge=merge)
    plan = payloads.TrainingPlan("ftui-test-job", "s3://b/t", "s3://b/code/sourcedir.tar.gz", hps)
    return payloads.training_job_request(plan, settings)
