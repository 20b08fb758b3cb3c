"""The Textual app: four panes over whichever profile is active, k9s-style keys, live job watch.

Everything the app asks of a provider goes through `FtuiApp.call` / `stream_chat`, which await the
provider on the bridge's own loop, always from inside a Textual worker; the UI loop only renders.

The first frame needs none of the session: config validation (pydantic), the plugin registry
(entry points, pluggy) and the provider are first touched in a thread worker right after it, and the
header fills in when that is done. Keep pydantic, pluggy and click out of this module's imports
(tests/tui/test_tui_startup.py checks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Footer, Header, Log, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from ftui.errors import FtuiError
from ftui.status import TERMINAL_STATUSES
from ftui.tui.bridge import ProviderBridge
from ftui.tui.commands import VIEWS, CommandError, PaletteCommand, parse_command
from ftui.tui.messages import DeployModel, NewJob, OpenPlayground, RefreshJobs, ShowMetrics
from ftui.tui.screens.base import Pane, PaneHost
from ftui.tui.screens.jobs import JobsPane
from ftui.tui.widgets.command_line import CommandLine
from ftui.tui.widgets.lazy_pane import LazyPane

T = TypeVar("T")

if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path

    from textual.notifications import SeverityLevel

    from ftui.model import ChatMessage, ChatParams, Checkpoint, Job
    from ftui.provider import Provider
    from ftui.session import Session
    from ftui.store import Store

POLL_EVERY = 2.0


def ftui_commands() -> type:
    # textual.command is imported only when the palette opens, not before the first frame.
    from ftui.tui.palette import FtuiCommands

    return FtuiCommands


MAX_BACKOFF = 60.0


# Panes not on show at start are imported only when built, right after the first frame.
def _metrics_pane() -> Pane:
    from ftui.tui.screens.metrics import MetricsPane

    return MetricsPane()


def _playground_pane() -> Pane:
    from ftui.tui.screens.playground import PlaygroundPane

    return PlaygroundPane()


def _deployments_pane() -> Pane:
    from ftui.tui.screens.deployments import DeploymentsPane

    return DeploymentsPane()


def _evaluate_pane() -> Pane:
    from ftui.tui.screens.evaluate import EvaluatePane

    return EvaluatePane()


class FtuiApp(App[None]):
    CSS_PATH = "ftui.tcss"
    TITLE = "ftui"
    COMMANDS = App.COMMANDS | {lambda: ftui_commands()}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_view('datasets')", "Datasets", id="view-datasets", show=False),
        Binding("2", "show_view('jobs')", "Jobs", id="view-jobs", show=False),
        Binding("3", "show_view('metrics')", "Metrics", id="view-metrics", show=False),
        Binding("4", "show_view('playground')", "Playground", id="view-playground", show=False),
        Binding("5", "show_view('deployments')", "Deployments", id="view-deployments", show=False),
        Binding("6", "show_view('evaluate')", "Evaluate", id="view-evaluate", show=False),
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("colon", "command_line", "Command", id="command-line"),
        Binding("L", "toggle_log", "Log", id="toggle-log", show=False),
        Binding("ctrl+b", "toggle_bell", "Bell", id="toggle-bell", show=False),
        Binding("q", "quit", "Quit", id="quit", show=False),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {
        "ctrl+p": "Command palette: profiles, views, themes, actions",
        ":": "Command line: :jobs [/filter], :profile NAME, :theme NAME, :bell on|off, :q",
        "tab, shift+tab": "Move focus",
        "ctrl+q": "Quit",
    }

    def __init__(
        self,
        session: Session | None = None,
        *,
        config_path: str | PathLike[str] | None = None,
        profile: str | None = None,
        poll_interval: float = POLL_EVERY,
        jobs_limit: int = 100,
        clock: Callable[[], datetime] | None = None,
        folder: Path | None = None,
        bell: bool = False,
        initial_view: str = "jobs",
    ) -> None:
        super().__init__()
        # Without a session, one is opened from config_path/profile off the UI thread after the
        # first frame (see open_session).
        self._session = session
        self._session_args = (config_path, profile)
        self._session_lock = threading.Lock()
        self._own_store: Store | None = None
        self.bridge = ProviderBridge()
        self.poll_interval = poll_interval
        self.jobs_limit = jobs_limit
        self.bell_on = bell
        self.jobs: list[Job] = []
        self.folder = folder
        self.initial_view = initial_view
        self._clock = clock
        self._provider: Provider | None = None
        self._provider_lock: asyncio.Lock | None = None
        self._generation = 0
        self._statuses: dict[str, str] = {}
        self._statuses_loaded = False
        self._poll_timer: Timer | None = None
        self._poll_failures = 0

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        panes: dict[str, Callable[[], Pane]] = {
            "datasets": self._datasets_pane,
            "jobs": JobsPane,
            "metrics": _metrics_pane,
            "playground": _playground_pane,
            "deployments": _deployments_pane,
            "evaluate": _evaluate_pane,
        }
        with TabbedContent(initial=self.initial_view, id="views"):
            for view, make in panes.items():
                with TabPane(view.title(), id=view):
                    # Only the pane on show is in the first frame; the rest are imported, built and
                    # mounted right after it.
                    yield make() if view == self.initial_view else LazyPane(make)
        yield Log(max_lines=500, id="app-log")
        yield CommandLine()
        yield Footer()

    def _datasets_pane(self) -> Pane:
        from ftui.tui.screens.datasets import DatasetsPane

        return DatasetsPane(self.folder)

    def on_mount(self) -> None:
        self.query_one("#app-log", Log).display = False
        self.query_one(CommandLine).display = False
        self.query_one("#app-log", Log).border_title = "log"
        self.sub_title = "opening profile…"
        self._focus_view(self.initial_view)
        self.call_after_refresh(self.open_session)

    def on_unmount(self) -> None:
        provider, self._provider = self._provider, None
        if provider is not None:
            with contextlib.suppress(Exception):  # best effort: the process is ending
                self.bridge.run_sync(provider.aclose(), timeout=2)
        self.bridge.close()

    # -- session and provider -------------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The session, built here on first use (normally by `open_session`'s worker)."""
        if self._session is None:
            from ftui.session import Session  # outside the lock: the store must not wait for it

            with self._session_lock:
                if self._session is None:
                    session = Session(*self._session_args, warn=self._config_warning)
                    if self._own_store is not None:
                        session.store = self._own_store  # one database connection, not two
                    self._session = session
        return self._session

    @property
    def store(self) -> Store:
        # The store needs no config: panes may read it before the session is open.
        if self._session is None:
            with self._session_lock:
                if self._own_store is None:
                    from ftui.store import Store

                    self._own_store = Store()
                if self._session is None:
                    return self._own_store
        return self._session.store

    def _config_warning(self, text: str) -> None:
        if threading.get_ident() == self._thread_id:
            self.log_line(f"warning: {text}")
        else:
            self.call_from_thread(self.log_line, f"warning: {text}")

    @work(
        thread=True, group="session", exclusive=True, exit_on_error=False, description="opening the profile"
    )
    def open_session(self) -> None:
        """Validate the config and profile and load the plugin registry, off the UI thread."""
        try:
            _ = self.session.profile
        except FtuiError as exc:
            self.call_from_thread(self._session_failed, exc)
        else:
            self.call_from_thread(self._session_opened)

    def _session_opened(self) -> None:
        self._update_header()
        self.poll_jobs()
        self.warn_deployments()

    @work(group="deploy-warn", exclusive=True, exit_on_error=False, description="checking deployments")
    async def warn_deployments(self) -> None:
        """On start: deployments ftui created that still bill by the hour, and what they have cost.
        The active profile's are checked with its provider first; other profiles' come from the store."""
        from ftui import deployments as deps

        with contextlib.suppress(Exception):  # an unreachable backend: what the store says still stands
            await self.call(deps.refresh)
        running = await asyncio.to_thread(deps.still_running, self.store)
        for line in deps.warnings(running, self.now()):
            self.notify(line, title="Still billed by the hour", severity="warning", timeout=30, markup=False)
            self.log_line(f"warning: {line}")

    def _session_failed(self, exc: FtuiError) -> None:
        self.sub_title = "config error: see the log (L)"
        self.report_error("reading the config", exc)
        for status in self.query("#jobs-status").results(Static):
            status.update("no jobs: the config has an error; fix it, or :profile NAME")

    @property
    def profile_name(self) -> str:
        return self.session.profile.name

    def profile_names(self) -> list[str]:
        return self.session.config.profile_names

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def _update_header(self) -> None:
        try:
            profile = self.session.profile
            self.sub_title = f"profile {profile.name} · provider {profile.provider}"
        except FtuiError as exc:
            self.sub_title = "no profile"
            self.report_error("reading the config", exc)

    async def get_provider(self) -> Provider:
        if self._provider is None:
            if self._provider_lock is None:
                self._provider_lock = asyncio.Lock()
            async with self._provider_lock:
                if self._provider is None:
                    generation = self._generation
                    # Building a provider may read credentials or SDK clients: keep it off the loop.
                    provider = await asyncio.to_thread(self.session.provider)
                    if generation != self._generation:
                        raise asyncio.CancelledError  # the profile changed while we waited
                    self._provider = provider
        assert self._provider is not None
        return self._provider

    async def call(self, fn: Callable[[Provider[Any]], Awaitable[T]]) -> T:
        """`await fn(provider)` on the provider loop: `await app.call(lambda p: p.job(job_id))`."""
        provider = await self.get_provider()
        return await self.bridge.call(fn, provider)

    async def stream_chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams
    ) -> AsyncIterator[str]:
        provider = await self.get_provider()
        async for piece in self.bridge.stream(lambda: provider.chat(model, messages, params)):
            yield piece

    def switch_profile(self, name: str) -> None:
        """Re-point every pane at profile `name`; on a bad name the current profile stays."""
        try:
            self.session.switch(name)
        except FtuiError as exc:
            self.report_error(f"switching to profile {name!r}", exc)
            return
        self._generation += 1
        old, self._provider = self._provider, None
        if old is not None:
            self.run_worker(self.bridge.call(old.aclose), group="provider-close", exit_on_error=False)
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self.workers.cancel_group(self, "jobs-poll")
        self.jobs = []
        self._poll_failures = 0
        self._statuses_loaded = False
        self._update_header()
        for pane in self.query(Pane):
            pane.profile_changed()
        self.poll_jobs()
        self.notify(f"profile {name} ({self.session.profile.provider})", title="Profile")

    # -- errors ---------------------------------------------------------------------------------
    def report_error(self, what: str, exc: BaseException) -> None:
        """A failed provider call: a toast and a line in the log pane, never a crash."""
        text = str(exc) if isinstance(exc, FtuiError) else f"{type(exc).__name__}: {exc}"
        self.notify(text, title=f"Error {what}", severity="error", markup=False, timeout=8)
        self.log_line(f"error {what}: {text}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The app's own workers (job watch, recording); panes route theirs the same way.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report_error(event.worker.description or event.worker.name, event.worker.error)

    def log_line(self, text: str) -> None:
        line = f"{datetime.now().strftime('%H:%M:%S')} {text}"
        # Before the log is built, or while the app shuts down, the toast alone must do.
        with contextlib.suppress(NoMatches):
            self.query_one("#app-log", Log).write_line(line)

    # -- job watch (on the app, so notifications arrive whichever pane is showing) --------------
    def _read_statuses(self, profile: str) -> dict[str, str]:
        cached = self.store.cached_jobs(profile)
        return {str(j.get("id")): str(j.get("status")) for j in cached}

    @work(group="jobs-poll", exclusive=True, exit_on_error=False, description="refreshing jobs")
    async def poll_jobs(self) -> None:
        generation = self._generation
        delay = self.poll_interval
        try:
            if not self._statuses_loaded:
                # What the last ftui run saw, so a job that finished while ftui was closed is
                # announced once; read off the loop (opening the store may run migrations).
                self._statuses = await asyncio.to_thread(self._read_statuses, self.profile_name)
                self._statuses_loaded = True
            jobs = (await self.call(lambda p: p.jobs(limit=self.jobs_limit))).items
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if generation != self._generation:
                return
            self._poll_failures += 1
            if self._poll_failures == 1 or self._poll_failures % 10 == 0:
                self.report_error("refreshing jobs", exc)
            delay = min(MAX_BACKOFF, self.poll_interval * 2**self._poll_failures)
        else:
            if generation != self._generation:
                return
            self._poll_failures = 0
            self.jobs = jobs
            self.jobs_seen(jobs)
            self.query_one(JobsPane).show_jobs(jobs)
            for pane in self.query(Pane):
                pane.jobs_changed(jobs)
            if not any(j.status not in TERMINAL_STATUSES for j in jobs):
                delay = self.poll_interval * 3  # nothing is moving: look less often
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(delay, self.poll_jobs)

    def job_seen(self, job: Job) -> None:
        self.jobs_seen([job])

    def jobs_seen(self, jobs: list[Job]) -> None:
        changed = []
        for job in jobs:
            before = self._statuses.get(job.id)
            if before == job.status:
                continue
            self._statuses[job.id] = job.status
            changed.append(job)
            if job.status in TERMINAL_STATUSES and before is not None and before not in TERMINAL_STATUSES:
                self.announce(job)
        if changed:
            self.record_jobs(changed, self.profile_name)

    def announce(self, job: Job) -> None:
        levels: dict[str, SeverityLevel] = {"succeeded": "information", "failed": "error"}
        severity = levels.get(job.status, "warning")
        detail = f" → {job.fine_tuned_model}" if job.fine_tuned_model else ""
        if job.error:
            detail = f": {job.error.message}"
        self.notify(
            f"{job.id} {job.status}{detail}",
            title=f"Job {job.status}",
            severity=severity,
            timeout=10,
            markup=False,
        )
        self.log_line(f"job {job.id} {job.status}{detail}")
        if self.bell_on:
            self.bell()

    @work(thread=True, group="job-record", exit_on_error=False, description="recording jobs")
    def record_jobs(self, jobs: list[Job], profile: str) -> None:
        # The store write and the plugins' ftui_job_finished hooks (webhooks, desktop notices) may
        # block, so they run off the UI thread; notify.job_seen makes the hook fire once per job.
        from ftui.notify import job_seen

        for job in jobs:
            seen = job_seen(self.store, profile, job)
            for error in seen.errors:
                self.call_from_thread(self.log_line, f"warning: {error}")

    # -- navigation -----------------------------------------------------------------------------
    def show_view(self, view: str) -> None:
        self.query_one("#views", TabbedContent).active = view
        self._focus_view(view)

    def _focus_view(self, view: str) -> None:
        if view != self.active_view:
            return  # a late focus request for a tab the user has already left
        # A pane still waiting to be built (a LazyPane) has nothing to focus yet: _pane_built does it.
        for pane in self.query_one(f"TabPane#{view}").query(Pane).results(Pane):
            pane.focus_default()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.call_after_refresh(self._focus_view, event.pane.id)
            for pane in event.pane.query(Pane):
                pane.activated()

    @on(LazyPane.Built)
    def _pane_built(self, event: LazyPane.Built) -> None:
        # A view shown before its pane was built: focus it and tell it, as a tab switch would.
        pane = event.widget
        if isinstance(pane, Pane) and pane.parent is not None and pane.parent.id == self.active_view:
            pane.focus_default()
            pane.activated()

    @property
    def active_view(self) -> str:
        return self.query_one("#views", TabbedContent).active

    def action_show_view(self, view: str) -> None:
        self.show_view(view)

    def show_metrics(self, job_id: str) -> None:
        self.show_view("metrics")
        from ftui.tui.screens.metrics import MetricsPane

        self.query_one(MetricsPane).watch_job(job_id)

    def open_playground(self, model: str) -> None:
        self.show_view("playground")
        from ftui.tui.screens.playground import PlaygroundPane

        self.query_one(PlaygroundPane).use_model(model)

    def open_evaluate(self, model: str) -> None:
        self.show_view("evaluate")
        from ftui.tui.screens.evaluate import EvaluatePane

        self.query_one(EvaluatePane).use_model(model)

    def new_job(self, training_file: str | None = None) -> None:
        self.show_view("jobs")
        self.query_one(JobsPane).action_new_job(training_file)

    def known_checkpoints(self) -> list[Checkpoint]:
        from ftui.tui.screens.metrics import MetricsPane

        return [c for pane in self.query(MetricsPane).results(MetricsPane) for c in pane.checkpoints]

    # The panes' requests (ftui.tui.messages).
    @on(ShowMetrics)
    def _show_metrics(self, message: ShowMetrics) -> None:
        self.show_metrics(message.job_id)

    @on(OpenPlayground)
    def _open_playground(self, message: OpenPlayground) -> None:
        self.open_playground(message.model)

    @on(NewJob)
    def _new_job(self, message: NewJob) -> None:
        self.new_job(message.training_file)

    @on(RefreshJobs)
    def _refresh_jobs(self) -> None:
        self.poll_jobs()

    @on(DeployModel)
    def _deploy_model(self, message: DeployModel) -> None:
        self.show_view("deployments")
        from ftui.tui.screens.deployments import DeploymentsPane

        for pane in self.query(DeploymentsPane).results(DeploymentsPane):
            pane.action_deploy(message.model)

    def action_new_job(self) -> None:
        self.new_job()

    def palette_commands(self) -> list[PaletteCommand]:
        """The ftui entries of the command palette (ctrl+p)."""
        commands = [
            PaletteCommand(
                f"Profile: {name}", "Switch every pane to this profile", partial(self.switch_profile, name)
            )
            for name in self.profile_names()
        ]
        commands += [
            PaletteCommand(f"View: {view.title()}", f"Show the {view} pane", partial(self.show_view, view))
            for view in VIEWS
        ]
        commands += [
            PaletteCommand("New fine-tuning job", "Open the job form", self.action_new_job),
            PaletteCommand(
                "Toggle terminal bell", "Ring the bell when a job finishes", self.action_toggle_bell
            ),
            PaletteCommand("Show key bindings", "Every key, by pane", self.action_help),
            PaletteCommand("Toggle log pane", "Provider errors and app messages", self.action_toggle_log),
        ]
        return commands

    def action_help(self) -> None:
        from ftui.tui.screens.datasets import DatasetsPane
        from ftui.tui.screens.deployments import DeploymentsPane
        from ftui.tui.screens.evaluate import EvaluatePane
        from ftui.tui.screens.help import HelpScreen
        from ftui.tui.screens.job_detail import JobDetailScreen
        from ftui.tui.screens.job_form import JobFormScreen
        from ftui.tui.screens.metrics import MetricsPane
        from ftui.tui.screens.playground import PlaygroundPane

        sections = [
            ("Everywhere", list(self.BINDINGS), self.KEY_HELP),
            ("Datasets", list(DatasetsPane.BINDINGS), DatasetsPane.KEY_HELP),
            ("Jobs", list(JobsPane.BINDINGS), JobsPane.KEY_HELP),
            ("Job detail", list(JobDetailScreen.BINDINGS), {}),
            ("Job form", list(JobFormScreen.BINDINGS), {}),
            ("Metrics", list(MetricsPane.BINDINGS), MetricsPane.KEY_HELP),
            ("Playground", list(PlaygroundPane.BINDINGS), PlaygroundPane.KEY_HELP),
            ("Deployments", list(DeploymentsPane.BINDINGS), DeploymentsPane.KEY_HELP),
            ("Evaluate", list(EvaluatePane.BINDINGS), EvaluatePane.KEY_HELP),
        ]
        self.push_screen(HelpScreen(sections))

    def action_command_line(self) -> None:
        self.query_one(CommandLine).open()

    def action_toggle_log(self) -> None:
        log = self.query_one("#app-log", Log)
        log.display = not log.display

    def action_toggle_bell(self) -> None:
        self.set_bell(not self.bell_on)

    def set_bell(self, on: bool) -> None:
        self.bell_on = on
        self.notify("terminal bell " + ("on: rings when a job finishes" if on else "off"))

    @on(CommandLine.Submitted)
    def _run_command(self, event: CommandLine.Submitted) -> None:
        try:
            command = parse_command(event.text)
        except CommandError as exc:
            self.notify(str(exc), title="Command", severity="error", markup=False)
            return
        if command.action == "view" and command.arg in VIEWS:
            if command.arg == "metrics" and command.extra:
                self.show_metrics(command.extra)
                return
            self.show_view(command.arg)
            if command.arg == "jobs" and command.extra:
                self.query_one(JobsPane).set_filter(command.extra)
        elif command.action == "profile" and command.arg:
            self.switch_profile(command.arg)
        elif command.action == "theme" and command.arg:
            if command.arg not in self.available_themes:
                self.notify(
                    f"no theme {command.arg!r}; themes: " + ", ".join(sorted(self.available_themes)),
                    severity="error",
                    markup=False,
                )
            else:
                self.theme = command.arg
        elif command.action == "bell":
            self.set_bell(not self.bell_on if command.arg is None else command.arg == "on")
        elif command.action == "help":
            self.action_help()
        elif command.action == "quit":
            self.exit()


if TYPE_CHECKING:

    def _implements_pane_host(app: FtuiApp) -> PaneHost:
        return app  # mypy checks here that the app gives panes all PaneHost promises


def run_app(session: Session | None = None) -> None:
    """Run the TUI. Given a session (the click CLI with --profile/--config), its profile is checked
    first, so a broken config is reported before the screen is taken over; without one (plain
    `ftui`), the app opens the session itself right after its first frame and shows any error."""
    if session is not None:
        _ = session.profile
    FtuiApp(session).run()
