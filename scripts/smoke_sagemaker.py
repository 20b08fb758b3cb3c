"""Opt-in smoke run on a real AWS account: what the offline tests cannot prove. It costs money and
time; CI never runs it, and pytest never collects it (it lives outside tests/).

    python scripts/smoke_sagemaker.py --profile NAME [--model smollm2-135m-instruct] [--yes]

It trains a tiny job on the profile's role and bucket (one small GPU instance, a short runtime cap),
deploys the merged model to a real-time endpoint, streams one chat reply, then tears everything down:
the endpoint, its config and model, a job still running, and every S3 object it wrote (it works
under its own prefix, `PREFIX/smoke-STAMP/`, and its own upload records). It prints the estimated
cost and asks first; `--yes` answers for you. A JSON report of what happened is written at the end.
CloudWatch log streams stay (AWS keeps them per the log group's retention).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SMOKE_ROWS = 12


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
            ]
        }
        for i in range(SMOKE_ROWS)
    ]


def _say(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S}  {text}", flush=True)


async def _follow(provider: Any, job_id: str, timeout_s: float) -> Any:
    from ftui.model import TERMINAL_STATUSES

    cursor = None
    end = time.monotonic() + timeout_s
    while True:
        page = await provider.events(job_id, cursor)
        for event in page.items:
            if event.type == "message":
                _say(f"  {event.message}")
        cursor = page.next_cursor
        job = await provider.job(job_id)
        if job.status in TERMINAL_STATUSES:
            return job
        if time.monotonic() > end:
            raise TimeoutError(f"job {job_id} still {job.status_detail} after {timeout_s:.0f} s")
        await asyncio.sleep(15)


async def _empty_prefix(provider: Any) -> int:
    s3, bucket, prefix = provider.aws("s3"), provider.settings.bucket, provider.settings.prefix + "/"

    def delete() -> int:
        count = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
                count += len(keys)
        return count

    return await asyncio.to_thread(delete)


async def run(args: argparse.Namespace) -> int:
    from ftui_sagemaker.provider import SageMakerProvider
    from ftui_sagemaker.settings import SageMakerSettings

    from ftui.model import ChatMessage, ChatParams, DeploySpec, Hyperparameters, JobSpec
    from ftui.session import Session
    from ftui.store import Store

    session = Session(args.config, args.profile)
    profile = session.profile
    if not isinstance(profile.settings, SageMakerSettings):
        print(f"error: profile {profile.name!r} is {profile.provider}, not sagemaker", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    settings = profile.settings.model_copy(
        update={
            "prefix": f"{profile.settings.prefix}/smoke-{stamp}",
            "instance_type": args.instance_type,
            "instance_count": 1,
            "spot": False,
            "max_wait_hours": None,
            "max_runtime_hours": args.max_minutes / 60,
            "endpoint_instance_type": args.instance_type,
        }
    )
    work = Path(tempfile.mkdtemp(prefix="ftui-smoke-"))
    provider = SageMakerProvider(settings, profile=f"{profile.name}-smoke", store=Store(work / "state.db"))
    data = work / "smoke.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows()), encoding="utf-8")
    spec = JobSpec(
        base_model=args.model,
        training_file=str(data),
        hyperparameters=Hyperparameters(n_epochs=1, batch_size=2),
        suffix="smoke",
    )
    train_cost = await provider.estimate_cost(spec, tokens=SMOKE_ROWS * 40)
    host_cost = await provider.estimate_cost(DeploySpec(model="m", instance_type=args.instance_type))
    print(
        f"Smoke run on profile {profile.name!r}: region {settings.region}, s3://{settings.bucket}/{settings.prefix}/"
    )
    print(f"  training: 1 x {args.instance_type}, at most {args.max_minutes} min; {train_cost.basis}")
    print(f"  endpoint: {host_cost.basis} It is deleted at the end, and on Ctrl-C.")
    if not args.yes and input("Start it (this bills your AWS account)? [yes/N] ").strip().lower() != "yes":
        print("Nothing was started.")
        return 1

    report: dict[str, Any] = {
        "profile": profile.name,
        "region": settings.region,
        "model": args.model,
        "started": stamp,
    }
    job_id = endpoint = None
    t0 = time.monotonic()
    try:
        job = await provider.create_job(spec)
        job_id = report["job"] = job.id
        _say(f"created training job {job.id}")
        job = await _follow(provider, job.id, args.max_minutes * 60 + 900)
        raw = job.raw
        report.update(
            job_status=job.status,
            job_seconds=round(time.monotonic() - t0),
            billable_seconds=raw.get("BillableTimeInSeconds"),
            failure=job.error.message if job.error else None,
        )
        if job.status != "succeeded":
            _say(f"job {job.id} {job.status}: {job.error.message if job.error else job.status_detail}")
            return 1
        deployed = await provider.deploy(DeploySpec(model=job.fine_tuned_model or job.id))
        endpoint = report["endpoint"] = deployed.id
        _say(f"created endpoint {deployed.id}; waiting for it to serve (often 5-15 minutes)")
        t1 = time.monotonic()
        await provider.wait_deployed(deployed.id, timeout_s=args.max_minutes * 60 + 1800)
        report["endpoint_seconds"] = round(time.monotonic() - t1)
        reply = ""
        messages = [ChatMessage(role="user", content="What is 3 plus 3?")]
        async for piece in provider.chat(deployed.id, messages, ChatParams(max_tokens=32, temperature=0.1)):
            reply += piece
        report["reply"] = reply
        _say(f"reply: {reply!r}")
        return 0 if reply else 1
    except (Exception, KeyboardInterrupt) as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
        _say(f"stopped: {report['error']}")
        return 1
    finally:
        if endpoint:
            gone = await provider.undeploy(endpoint)
            _say(f"endpoint {endpoint}: {gone.status}")
        if job_id:
            job = await provider.job(job_id)
            if not job.done:
                await provider.cancel(job_id)
                _say(f"stopped job {job_id}")
        report["s3_objects_deleted"] = await _empty_prefix(provider)
        _say(
            f"deleted {report['s3_objects_deleted']} objects under s3://{settings.bucket}/{settings.prefix}/"
        )
        out = Path(args.report or f"sagemaker-smoke-{stamp}.json")
        out.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
        print(f"Report: {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/smoke_sagemaker.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--profile", required=True, help="a sagemaker profile of your config")
    parser.add_argument("--config", help="config file (default: FTUI_CONFIG, then the user config dir)")
    parser.add_argument(
        "--model", default="smollm2-135m-instruct", help="base model (staged from this machine)"
    )
    parser.add_argument("--instance-type", default="ml.g5.xlarge", help="training and endpoint instance type")
    parser.add_argument("--max-minutes", type=int, default=20, help="training runtime cap")
    parser.add_argument("--report", help="where to write the JSON report")
    parser.add_argument("--yes", action="store_true", help="start without asking")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
