"""`ftui deploy`, `ftui deployments`, `ftui undeploy`: billed capacity that makes a model callable.

Nothing billed is created without a yes: on a terminal the command shows the hourly cost and asks;
with no terminal to ask on it needs `--yes`, or it refuses. The rules live in `ftui.deployments`.
"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from ftui import deployments as deps
from ftui.cli.confirm import confirmed
from ftui.cli.context import pass_session, run
from ftui.cli.output import emit_json, table, warn
from ftui.errors import FtuiError
from ftui.model import Deployment, DeploySpec, now
from ftui.session import Session

STATUS_COLOURS = {"ready": "green", "failed": "red", "creating": "cyan", "deleting": "yellow"}


def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status)
    return click.style(status, fg=colour) if colour else status


def rows(found: list[Deployment], at: datetime) -> list[list[str]]:
    return [
        [
            d.id,
            d.model,
            d.status,  # plain: the table pads by length, and colour codes would count
            deps.lifetime_text(d, at),
            f"${d.hourly_cost:,.2f}" if d.hourly_cost is not None else "-",
            deps.cost_text(d, at),
            d.endpoint or "-",
        ]
        for d in found
    ]


HEADERS = ["id", "model", "status", "age", "per hour", "so far", "endpoint"]


class Progress:
    """A live status line on a terminal, one line per change otherwise (both on stderr)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.live = sys.stderr.isatty() and not quiet
        self.started = now()
        self.last: str | None = None

    def __call__(self, d: Deployment) -> None:
        if self.quiet:
            return
        seconds = (now() - self.started).total_seconds()
        waited = f"{seconds:.0f} s" if seconds < 120 else deps.age_text(seconds)
        text = f"{d.id}: {d.status}" + (f" ({d.status_detail})" if d.status_detail else "")
        if self.live:
            click.echo(f"\r\x1b[K{_status(d.status)}  {text}, waited {waited}", nl=False, err=True)
        elif text != self.last:
            click.echo(text, err=True)
        self.last = text

    def done(self) -> None:
        if self.live and self.last is not None:
            click.echo("\r\x1b[K", nl=False, err=True)


@click.command("deploy")
@click.argument("model")
@click.option("--sku", help="Azure OpenAI deployment type, e.g. standard, globalstandard, developertier.")
@click.option("--instance-type", help="SageMaker or Azure ML instance type, e.g. ml.g5.xlarge.")
@click.option(
    "--capacity", type=click.IntRange(1, 1000), default=1, show_default=True, help="Instances or units."
)
@click.option("--name", help="The deployment's name (default: the backend picks one).")
@click.option("--yes", "-y", is_flag=True, help="Confirm the hourly cost without being asked.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until it is ready (or failed).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0), help="Stop waiting after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the deployment as JSON.")
@pass_session
def deploy(
    session: Session,
    model: str,
    sku: str | None,
    instance_type: str | None,
    capacity: int,
    name: str | None,
    yes: bool,
    wait: bool,
    interval: float,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Make MODEL callable on billed capacity (asks first: it bills every hour until undeployed)."""
    provider = session.provider()
    try:
        deps.needs_deploy(provider)
    except deps.NoDeployNeeded:
        if as_json:
            emit_json({"model": model, "deployment": None, "callable": True})
        else:
            click.echo(
                f"{model} is callable at once on {provider.name} (profile {provider.profile}): nothing to "
                f"deploy, nothing billed by the hour. Try: ftui chat --model {model} 'Hello'"
            )
        return
    spec = DeploySpec(model=model, sku=sku, instance_type=instance_type, capacity=capacity, name=name)
    estimate = run(deps.quote(provider, spec))
    question = deps.question(provider, spec, estimate)
    if not confirmed(question, yes, f"deploying {model} bills {deps.hourly_text(estimate)} until deleted"):
        click.echo("Not deployed: nothing was created.", err=True)
        sys.exit(1)
    created = run(deps.deploy(provider, spec, confirmed=True))
    if not wait:
        if as_json:
            emit_json(created)
        else:
            click.echo(
                f"Deployment {created.id} is {created.status}; billed until deleted. Follow it with "
                f"`ftui deployments`, delete it with `ftui undeploy {created.id}`"
            )
        return
    progress = Progress(quiet=False)  # on stderr: --json output stays one document
    try:
        final = run(deps.wait(provider, created.id, progress=progress, interval=interval, timeout=timeout))
    except KeyboardInterrupt:
        progress.done()
        click.echo(
            f"\nStopped waiting: {created.id} keeps {created.status} (and billing). "
            f"`ftui deployments` shows it; `ftui undeploy {created.id}` deletes it.",
            err=True,
        )
        sys.exit(130)
    progress.done()
    if as_json:
        emit_json(final)
    elif final.status == "ready":
        click.echo(
            click.style(f"Deployment {final.id} is ready", fg="green")
            + f": chat with it with `ftui chat --model {final.id}`; it bills until `ftui undeploy {final.id}`"
        )
    elif final.status == "failed":
        click.echo(
            click.style(f"Deployment {final.id} failed: {final.error or final.status_detail}", fg="red")
        )
    else:
        click.echo(
            f"Deployment {final.id} is still {final.status} after {timeout:g} s; it keeps going (and billing)"
        )
    sys.exit(0 if final.status in ("ready", "creating") else 1)


@click.command("deployments")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_session
def deployments(session: Session, as_json: bool) -> None:
    """Deployments on the active profile: state, age, hourly cost and what each has cost so far."""
    provider = session.provider()
    try:
        found = run(deps.listing(provider))
    except deps.NoDeployNeeded as exc:
        if as_json:
            emit_json([])
        else:
            click.echo(f"No deployments: {exc}.")
        return
    if as_json:
        at = now()
        emit_json([{**d.model_dump(mode="json"), "cost_so_far": d.cost_so_far(at)} for d in found])
        return
    if not found:
        click.echo(f"No deployments on profile {provider.profile}. Make one with: ftui deploy MODEL")
        return
    table(rows(found, now()), HEADERS)
    billed = [d for d in found if d.status in deps.BILLED and d.hourly_cost]
    if billed:
        total = sum(d.hourly_cost or 0 for d in billed)
        click.echo(f"{len(billed)} billed: ${total:,.2f}/hour together", err=True)


@click.command("undeploy")
@click.argument("deployment_id")
@click.option("--yes", "-y", is_flag=True, help="Delete without being asked.")
@click.option("--wait/--no-wait", default=False, show_default=True, help="Wait until it is gone.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the deployment as JSON.")
@pass_session
def undeploy(
    session: Session, deployment_id: str, yes: bool, wait: bool, interval: float, as_json: bool
) -> None:
    """Delete a deployment (billing stops once it is gone). Asks first: it cannot be undone."""
    provider = session.provider()
    deps.needs_deploy(provider)
    current = run(provider.deployment(deployment_id))
    question = f"Delete deployment {current.id} ({current.model}, {current.status})? It cannot be undone."
    if not confirmed(question, yes, f"deleting deployment {current.id} cannot be undone"):
        click.echo("Not deleted.", err=True)
        sys.exit(1)
    gone = run(deps.undeploy(provider, current.id, confirmed=True))
    if wait:
        progress = Progress(quiet=False)  # on stderr: --json output stays one document
        gone = run(
            deps.wait(provider, gone.id, until=frozenset({"deleted"}), progress=progress, interval=interval)
        )
        progress.done()
    if as_json:
        emit_json(gone)
    else:
        after = "nothing more is billed" if gone.status == "deleted" else "billing stops once it is gone"
        click.echo(f"Deployment {gone.id} is {gone.status}: {after}.")


def warn_running(session: Session) -> None:
    """On start-up of a command: deployments ftui created that were still billed when last seen
    (from the store: no backend is asked, so this costs a few milliseconds)."""
    import sqlite3

    try:
        lines = deps.warnings(deps.still_running(session.store))
    except (FtuiError, OSError, ValueError, sqlite3.Error) as exc:  # a warning must never fail the command
        from ftui import disk
        from ftui.paths import data_dir

        warn(f"could not read the deployments ftui created: {disk.describe(exc, data_dir()) or exc}")
        return
    for line in lines:
        warn(line)
