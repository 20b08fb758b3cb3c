"""Opt-in smoke run against a real Azure subscription: what the offline tests cannot prove (real
routes, spellings, roles, quotas, regions, timings). It costs money and time; CI never runs it,
and pytest never collects it (it lives outside tests/ and its name does not start with test_).

    python scripts/smoke_azure.py --profile azure              # Azure OpenAI: train, deploy, chat
    python scripts/smoke_azure.py --profile azureml --model Phi-4-mini-instruct
    python scripts/smoke_azure.py --profile azure --quick       # no training: auth, files, models

It asks before anything is billed (pass --yes to skip the question), and tears down what it made:
the deployment it created, the job it started if it stops early (cancelled), the files it uploaded.
A fine-tuned model is kept (storing one is free on Azure OpenAI); its id is printed so you can
delete it. Each step prints what it did and how long it took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from ftui.model import ChatMessage, DeploySpec, JobSpec
from ftui.provider import collect
from ftui.session import Session
from ftui.uploads import upload_once

SAMPLE = Path(__file__).resolve().parents[1] / "ftui" / "data" / "samples" / "pirate_chat.jsonl"


def step(name: str, started: float) -> None:
    print(f"  ok  {name} ({time.monotonic() - started:.1f} s)", flush=True)


def confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        sys.exit("stopped: nothing was billed")


async def wait(probe: Any, done: Any, what: str, timeout: float, interval: float = 15) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > end:
            raise SystemExit(f"{what}: still {getattr(value, 'status', value)} after {timeout:.0f} s")
        print(f"      {what}: {getattr(value, 'status', value)}", flush=True)
        await asyncio.sleep(interval)


async def run(args: argparse.Namespace) -> None:
    session = Session(args.config, args.profile)
    provider = session.provider()
    print(f"profile {session.profile.name}: {provider.describe()}")
    made: dict[str, Any] = {"files": [], "job": None, "deployment": None}
    try:
        t = time.monotonic()
        models = [m.id for m in await provider.base_models()]
        step(f"signed in; {len(models)} base models", t)
        model = args.model or next((m for m in models if m.startswith("gpt-4.1-mini")), None)
        if not model:
            raise SystemExit("no base model to train: pass --model")

        t = time.monotonic()
        up = await upload_once(provider, Path(args.data), force=True)
        made["files"].append(up.file.id)
        step(f"uploaded {up.file.filename} as {up.file.id} ({up.file.status})", t)
        if args.quick:
            return

        spec = JobSpec(base_model=model, training_file=up.file.id, suffix="ftui-smoke")
        if args.training_type:
            spec = spec.model_copy(update={"options": {"training_type": args.training_type}})
        estimate = await provider.estimate_cost(spec)
        confirm(f"train {model} ({estimate.basis})?", args.yes)
        t = time.monotonic()
        job = await provider.create_job(spec)
        made["job"] = job.id
        step(f"created {job.id} ({job.status}, {job.status_detail or ''})", t)
        job = await wait(lambda: provider.job(job.id), lambda j: j.done, "training", args.train_timeout)
        made["job"] = None
        if job.status != "succeeded":
            raise SystemExit(f"job {job.id} {job.status}: {job.error}")
        events = await collect(lambda c: provider.events(job.id, c))
        metrics = [e for e in events if e.metrics]
        step(f"trained {job.fine_tuned_model}: {len(events)} events, {len(metrics)} with metrics", t)
        if provider.supports("checkpoints"):
            print(f"      checkpoints: {[c.id for c in await provider.checkpoints(job.id)]}")

        deploy = DeploySpec(model=job.fine_tuned_model or "", sku=args.sku)
        estimate = await provider.estimate_cost(deploy)
        confirm(f"deploy it ({estimate.basis})?", args.yes)
        t = time.monotonic()
        d = await provider.deploy(deploy)
        made["deployment"] = d.id
        d = await wait(lambda: provider.deployment(d.id), lambda x: x.status != "creating", "deploying", 3600)
        if d.status != "ready":
            raise SystemExit(f"deployment {d.id} {d.status}: {d.error}")
        step(f"deployed {d.id} ({d.sku}, expires {d.expires_at})", t)

        t = time.monotonic()
        reply = "".join([p async for p in provider.chat(d.id, [ChatMessage(role="user", content="Ahoy?")])])
        step(f"chat answered: {reply[:80]!r}", t)
    finally:
        await teardown(provider, made)
        await provider.aclose()


async def teardown(provider: Any, made: dict[str, Any]) -> None:
    from ftui.errors import NotFound

    if made["deployment"]:
        name = made["deployment"]
        try:
            await provider.undeploy(name)
            end = time.monotonic() + 1800
            while time.monotonic() < end:  # billing stops when it is gone: see that it is
                try:
                    await provider.deployment(name)
                except NotFound:
                    print(f"  deleted deployment {name}")
                    break
                await asyncio.sleep(5)
            else:
                print(f"  DEPLOYMENT {name} IS STILL THERE: delete it in the portal, it is billed hourly")
        except Exception as exc:
            print(
                f"  COULD NOT DELETE DEPLOYMENT {name}: {exc}; delete it in the portal, it is billed hourly"
            )
    if made["job"]:
        with contextlib.suppress(Exception):
            await provider.cancel(made["job"])
            print(f"  cancelled job {made['job']}")
    for file_id in made["files"]:
        try:
            await provider.delete_file(file_id)
            print(f"  deleted file {file_id}")
        except Exception as exc:
            print(f"  left file {file_id}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", required=True, help="an azure or azureml profile of your config")
    parser.add_argument("--config", help="the config file (default: ftui's own lookup)")
    parser.add_argument("--model", help="the base model (default: gpt-4.1-mini-*)")
    parser.add_argument("--data", default=str(SAMPLE), help="a chat JSONL (default: the pirate sample)")
    parser.add_argument("--training-type", help="Standard, GlobalStandard or Developer (azure)")
    parser.add_argument("--sku", help="deployment sku (default: the profile's deploy_sku)")
    parser.add_argument("--train-timeout", type=float, default=4 * 3600)
    parser.add_argument("--quick", action="store_true", help="sign in and upload only: nothing billed")
    parser.add_argument("--yes", action="store_true", help="do not ask before billed steps")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
