"""What a SageMaker run or endpoint will cost, before it exists: an estimate, and it says so.

Training: instance-hour price x instances x estimated hours, where the hours come from the tokens to
train (tokens per epoch x epochs), the model's size and the instances' GPU speed (`data/instances.json`
says where each figure comes from and when), plus a fixed start-up overhead. An endpoint: the price
per hour, for as long as it exists.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ftui.model import CostEstimate
from ftui_sagemaker import catalog
from ftui_sagemaker.settings import SageMakerSettings

# Models whose size their name does not tell.
KNOWN_PARAMS = {"tiny-llama": 9.1e4}


def params_of_folder(folder: Path) -> float | None:
    """Parameters in a model folder, from its safetensors headers (no weights are read)."""
    total = 0
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with open(file, "rb") as fh:
                (size,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(size))
        except (OSError, ValueError, struct.error):
            return None
        for name, tensor in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for dim in tensor.get("shape", []):
                count *= int(dim)
            total += count
    return float(total) or None


def model_params(base_model: str) -> float | None:
    if base_model in KNOWN_PARAMS:
        return KNOWN_PARAMS[base_model]
    folder = Path(base_model).expanduser()
    if folder.is_dir():
        found = params_of_folder(folder)
        if found:
            return found
    return catalog.params_from_name(base_model)


def _size(params: float) -> str:
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if params >= scale:
            return f"{params / scale:.3g}{unit}"
    return f"{params:.0f}"


def _money(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.01 else f"${x:.4f}"


def training(
    settings: SageMakerSettings, *, base_model: str, tokens: int | None, epochs: int, spot: bool
) -> CostEstimate:
    table = catalog.instances()
    it = catalog.instance(settings.instance_type)
    rate = settings.price_per_hour or it.usd_per_hour
    source = "price_per_hour in the profile" if settings.price_per_hour else table["prices"]["source"]
    as_of = None if settings.price_per_hour else table["prices"]["as_of"]
    count = settings.instance_count
    if rate is None:
        return CostEstimate(
            basis=f"no price for {settings.instance_type} in ftui's table: set price_per_hour in the profile",
            source=table["prices"]["source"],
            as_of=table["prices"]["as_of"],
        )
    per_hour = rate * count
    params = model_params(base_model)
    speed = table["throughput"]
    why_no_hours = None
    if tokens is None:
        why_no_hours = "the token count is unknown"
    elif params is None:
        why_no_hours = f"the size of {base_model!r} is unknown"
    elif it.gpus is None or it.peak_tflops is None:
        why_no_hours = f"{settings.instance_type}'s GPU speed is not in ftui's table"
    spot_note = (
        " Spot bills less (often 60-90%) but may wait and restart; this is the on-demand figure."
        if spot
        else ""
    )
    if why_no_hours is not None:
        return CostEstimate(
            per_hour=per_hour,
            billed_tokens=tokens,
            basis=f"Estimate: {count} x {settings.instance_type} at {_money(rate)}/h = "
            f"{_money(per_hour)} per hour; run time not estimated ({why_no_hours}).{spot_note}",
            source=source,
            as_of=as_of,
        )
    assert tokens is not None and params is not None and it.gpus is not None and it.peak_tflops is not None
    flops = speed["flops_per_token_per_param"] * params * tokens * epochs
    rate_flops = it.gpus * count * it.peak_tflops * 1e12 * speed["mfu"]
    hours = speed["overhead_hours"] + flops / rate_flops / 3600
    total = per_hour * hours
    basis = (
        f"Estimate: {tokens:,} tokens x {epochs} epoch{'s' if epochs != 1 else ''} on a "
        f"{_size(params)}-parameter model at {speed['mfu']:.0%} of {count} x {it.gpus} {it.gpu} peak "
        f"= {hours:.2f} h (with {speed['overhead_hours']:g} h start-up) x {_money(per_hour)}/h "
        f"({count} x {settings.instance_type} at {_money(rate)}) = {_money(total)}.{spot_note}"
    )
    return CostEstimate(
        total=round(total, 4),
        per_hour=per_hour,
        hours=round(hours, 4),
        billed_tokens=tokens * epochs,
        basis=basis,
        source=f"{source}; speed: {speed['source']}",
        as_of=as_of or speed["as_of"],
    )


def endpoint(settings: SageMakerSettings, instance_type: str, count: int) -> CostEstimate:
    table = catalog.instances()
    rate = settings.price_per_hour or catalog.instance(instance_type).usd_per_hour
    if rate is None:
        return CostEstimate(
            basis=f"no price for {instance_type} in ftui's table: set price_per_hour in the profile",
            source=table["prices"]["source"],
            as_of=table["prices"]["as_of"],
        )
    per_hour = rate * count
    return CostEstimate(
        per_hour=per_hour,
        basis=f"Estimate: {count} x {instance_type} at {_money(rate)}/h = {_money(per_hour)} every hour "
        "the endpoint exists, serving or idle, until it is deleted.",
        source="price_per_hour in the profile" if settings.price_per_hour else table["prices"]["source"],
        as_of=None if settings.price_per_hour else table["prices"]["as_of"],
    )
