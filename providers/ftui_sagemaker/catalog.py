"""The shipped tables: container image URIs per region, and instance types (GPUs, prices, speed).

Both are JSON files in `data/` that name their source and date; a profile overrides any image
(`training_image`, `serving_image`) and the price (`price_per_hour`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ftui.errors import FtuiError

DATA = Path(__file__).parent / "data"
Image = Literal["training", "tgi", "vllm"]


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def images() -> dict[str, Any]:
    return _load("images.json")


def instances() -> dict[str, Any]:
    return _load("instances.json")


def image_uri(region: str, kind: Image) -> str:
    table = images()
    account = table["registries"].get(region)
    if account is None:
        raise FtuiError(
            f"no Hugging Face container is listed for region {region!r} (known: "
            f"{', '.join(sorted(table['registries']))}); set training_image / serving_image in the profile"
        )
    image = table["images"][kind]
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return table["uri"].format(
        account=account, region=region, domain=domain, repository=image["repository"], tag=image["tag"]
    )


@dataclass(frozen=True)
class Instance:
    name: str
    gpu: str | None
    gpus: int | None  # None: not in the table
    usd_per_hour: float | None
    peak_tflops: float | None
    memory_gb: float | None


def instance(name: str) -> Instance:
    table = instances()
    row = table["instances"].get(name)
    if row is None:
        return Instance(name, None, None, None, None, None)
    gpu = table["gpus"][row["gpu"]]
    return Instance(name, row["gpu"], row["gpus"], row["usd_per_hour"], gpu["peak_tflops"], gpu["memory_gb"])


def gpus_per_instance(name: str) -> int:
    """GPUs on one instance: from the table, else 1 (a type we do not know trains as one process)."""
    return instance(name).gpus or 1


_SIZE = re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)\s*([bBmM])(?![a-zA-Z])")


def params_from_name(name: str) -> float | None:
    """Parameter count read from a model name: Qwen2.5-0.5B -> 5e8, SmolLM2-135M -> 1.35e8."""
    found = _SIZE.findall(name.replace("_", "-"))
    if not found:
        return None
    number, unit = found[-1]
    return float(number) * (1e9 if unit in "bB" else 1e6)
