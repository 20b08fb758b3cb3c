"""Deployments: billed capacity that makes a model callable. State, age, hourly cost, what each has
cost so far; deploy a model (the hourly cost is shown and asked about first) and delete one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Static

from ftui.tui.messages import OpenPlayground
from ftui.tui.screens.base import Pane
from ftui.tui.widgets.row_table import RowTable

if TYPE_CHECKING:
    from datetime import datetime

    from ftui.model import CostEstimate, Deployment, DeploySpec
    from ftui.provider import Provider

COLUMNS = ("id", "status", "age", "per hour", "so far", "model")  # the model name is longest: last
STATUS_STYLE = {"creating": "yellow", "ready": "bold green", "failed": "bold red", "deleting": "magenta"}
MOVING_EVERY = 2.0  # while one is creating or deleting
SETTLED_EVERY = 30.0  # otherwise: the cost-so-far column still moves

Kind = Literal["deploy", "no_deploy_needed", "unsupported"]


async def deploy_kind(provider: Provider[Any]) -> Kind:
    if provider.supports("no_deploy_needed"):
        return "no_deploy_needed"
    return "deploy" if provider.supports("deploy") else "unsupported"


async def listing(provider: Provider[Any]) -> tuple[Kind, list[Deployment]]:
    from ftui import deployments as deps

    kind = await deploy_kind(provider)
    return kind, (await deps.listing(provider) if kind == "deploy" else [])


async def quoted(provider: Provider[Any], spec: DeploySpec) -> tuple[CostEstimate, str]:
    from ftui import deployments as deps

    estimate = await deps.quote(provider, spec)
    return estimate, deps.question(provider, spec, estimate)


def deployment_cells(d: Deployment, at: datetime) -> tuple[str | Text, ...]:
    from ftui import deployments as deps

    return (
        d.id,
        Text(d.status, style=STATUS_STYLE.get(d.status, "")),
        deps.lifetime_text(d, at),
        f"${d.hourly_cost:,.2f}" if d.hourly_cost is not None else "-",
        deps.cost_text(d, at),
        d.model,
    )


class DeploymentsPane(Pane):
    FOCUS_TARGET = "#deployments-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "deploy", "Deploy…", id="dep-new"),
        Binding("d", "delete", "Delete", id="dep-delete"),
        Binding("c", "chat", "Chat", id="dep-chat"),
        Binding("g", "refresh", "Refresh", id="dep-refresh"),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {
        "enter": "On a ready deployment: chat with it in the Playground",
        "d on a job (Jobs)": "Deploy its fine-tuned model: the hourly cost is shown, then asked about",
    }

    def __init__(self) -> None:
        super().__init__(id="deployments-pane")
        self.deployments: list[Deployment] = []
        self.by_id: dict[str, Deployment] = {}
        self.kind: Kind | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield RowTable(COLUMNS, id="deployments-table")
        yield Static("loading deployments…", id="deployments-status", classes="status-line")

    @property
    def table(self) -> RowTable:
        return self.query_one("#deployments-table", RowTable)

    def activated(self) -> None:
        self.refresh_list()

    def profile_changed(self) -> None:
        self.kind, self.deployments, self.by_id = None, [], {}
        self.table.sync([])
        self.status("loading deployments…")
        if self.ftui.active_view == "deployments":
            self.refresh_list()

    def status(self, text: str) -> None:
        self.query_one("#deployments-status", Static).update(text)

    def selected(self) -> Deployment | None:
        key = self.table.current_key
        return self.by_id.get(key) if key else None

    # -- listing ------------------------------------------------------------------------------
    @work(group="dep-list", exclusive=True, exit_on_error=False, description="listing deployments")
    async def refresh_list(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        try:
            self.kind, found = await self.ftui.call(listing)
        except Exception:
            self._timer = self.set_timer(SETTLED_EVERY, self.refresh_list)
            raise
        self.show(found)
        if self.kind == "deploy":
            moving = any(d.status in ("creating", "deleting") for d in found)
            self._timer = self.set_timer(MOVING_EVERY if moving else SETTLED_EVERY, self.refresh_list)

    def show(self, found: list[Deployment]) -> None:
        self.deployments = found
        self.by_id = {d.id: d for d in found}
        at = self.ftui.now()
        self.table.sync([(d.id, deployment_cells(d, at)) for d in found])
        if self.kind == "no_deploy_needed":
            self.status("models on this profile are callable at once: nothing to deploy")
        elif self.kind == "unsupported":
            self.status("this profile's provider has no deployments")
        elif not found:
            self.status("no deployments · n deploys a model (or d on a job in Jobs)")
        else:
            billed = [d for d in found if d.status in ("creating", "ready")]
            per_hour = sum(d.hourly_cost or 0 for d in billed)
            plural = "" if len(found) == 1 else "s"
            self.status(
                f"{len(found)} deployment{plural} · {len(billed)} billed · ${per_hour:,.2f}/hour together"
            )

    def action_refresh(self) -> None:
        self.refresh_list()

    # -- deploy -------------------------------------------------------------------------------
    def action_deploy(self, model: str | None = None) -> None:
        self.begin_deploy(model)

    @work(group="dep-begin", exclusive=True, exit_on_error=False, description="preparing the deployment")
    async def begin_deploy(self, model: str | None) -> None:
        kind = await self.ftui.call(deploy_kind)
        if kind == "no_deploy_needed":
            self.app.notify(
                f"{model or 'a fine-tuned model'} is callable at once on this profile: nothing to deploy",
                title="Deploy",
            )
            return
        if kind == "unsupported":
            self.app.notify(
                "this profile's provider cannot deploy models", title="Deploy", severity="warning"
            )
            return

        def after(spec: DeploySpec | None) -> None:
            if spec is not None:
                self.confirm_deploy(spec)

        from ftui.tui.screens.deploy_form import DeployFormScreen

        self.app.push_screen(DeployFormScreen(model), after)

    @work(group="dep-quote", exclusive=True, exit_on_error=False, description="pricing the deployment")
    async def confirm_deploy(self, spec: DeploySpec) -> None:
        _, question = await self.ftui.call(lambda p: quoted(p, spec))

        def after(yes: bool | None) -> None:
            if yes:
                self.create(spec)
            else:
                self.app.notify("not deployed: nothing was created", title="Deploy")

        from ftui.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question), after)

    @work(group="dep-create", exit_on_error=False, description="creating the deployment")
    async def create(self, spec: DeploySpec) -> None:
        from ftui import deployments as deps

        created = await self.ftui.call(lambda p: deps.deploy(p, spec, confirmed=True))
        self.app.notify(
            f"{created.id} is {created.status}; billed every hour until you delete it (d)", title="Deployed"
        )
        self.show([created, *[d for d in self.deployments if d.id != created.id]])
        self.refresh_list()

    # -- delete, chat -------------------------------------------------------------------------
    def action_delete(self) -> None:
        d = self.selected()
        if d is None or d.status in ("deleting", "deleted"):
            self.app.notify("select a deployment that is not being deleted", severity="warning")
            return

        def after(yes: bool | None) -> None:
            if yes:
                self.delete(d.id)

        from ftui.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(
                f"Delete deployment {d.id} ({d.model})? Billing stops once it is gone. It cannot be undone."
            ),
            after,
        )

    @work(group="dep-delete", exit_on_error=False, description="deleting the deployment")
    async def delete(self, deployment_id: str) -> None:
        from ftui import deployments as deps

        gone = await self.ftui.call(lambda p: deps.undeploy(p, deployment_id, confirmed=True))
        self.app.notify(f"{gone.id} is {gone.status}", title="Delete")
        self.show([gone if d.id == gone.id else d for d in self.deployments])
        self.refresh_list()

    def action_chat(self) -> None:
        d = self.selected()
        if d is None:
            return
        if d.status != "ready":
            self.app.notify(f"{d.id} is {d.status}: chat with it once it is ready", severity="warning")
            return
        self.post_message(OpenPlayground(d.id))

    @on(RowTable.Selected, "#deployments-table")
    def _open(self) -> None:
        self.action_chat()
