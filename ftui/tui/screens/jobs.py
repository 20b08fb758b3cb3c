"""Jobs: a live table of fine-tuning jobs with k9s-style filter and single-key actions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from ftui.errors import FtuiError
from ftui.tui.display import JOB_COLUMNS, job_cells
from ftui.tui.messages import DeployModel, RefreshJobs, ShowMetrics
from ftui.tui.screens.base import Pane
from ftui.tui.widgets.row_table import RowTable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ftui.model import Job, JobSpec
    from ftui.provider import Provider
    from ftui.tui.screens.job_form import JobFormScreen


def job_matches(job: Job, pattern: str) -> bool:
    """k9s filter: a case-insensitive regex (plain text works) over the row; `!` inverts."""
    invert = pattern.startswith("!")
    pattern = pattern[1:] if invert else pattern
    if not pattern:
        return True
    haystack = " ".join([job.id, job.status, job.base_model, job.fine_tuned_model or "", job.suffix or ""])
    try:
        found = re.search(pattern, haystack, re.IGNORECASE) is not None
    except re.error:
        found = pattern.lower() in haystack.lower()
    return found != invert


def clone_spec(job: Job, *, init_from: str | None = None) -> JobSpec:
    """The job's spec, to create it again with changes; `init_from` starts from those weights."""
    from ftui.model import JobSpec

    return JobSpec(
        init_from=init_from,
        base_model=job.base_model,
        training_file=job.training_file or "",
        validation_file=job.validation_file,
        method=job.method,
        hyperparameters=job.hyperparameters,
        suffix=job.suffix,
        seed=job.seed,
    )


class JobsPane(Pane):
    FOCUS_TARGET = "#jobs-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="jobs-filter"),
        Binding("n", "new_job", "New", id="jobs-new"),
        Binding("c", "clone", "Clone", id="jobs-clone"),
        Binding("t", "train_longer", "Train longer", id="jobs-longer"),
        Binding("x", "cancel_job", "Cancel", id="jobs-cancel"),
        Binding("p", "pause", "Pause", id="jobs-pause"),
        Binding("r", "resume", "Resume", id="jobs-resume"),
        Binding("m", "metrics", "Metrics", id="jobs-metrics"),
        Binding("d", "deploy", "Deploy…", id="jobs-deploy"),
        Binding("g", "refresh", "Refresh", id="jobs-refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {
        "enter": "Job detail (hyperparameters, method, error, result files, raw object)",
        "up/down, j/k": "Move; pgup/pgdn and home/end jump; left/right scroll columns",
    }

    def __init__(self) -> None:
        super().__init__(id="jobs-pane")
        self.jobs: list[Job] = []
        self.by_id: dict[str, Job] = {}
        self.filter_text = ""
        self.creating: str | None = None  # what a job being made is doing, for the status line

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter: regex, !inverts; enter keeps, esc clears", id="jobs-filter")
        yield RowTable(JOB_COLUMNS, id="jobs-table")
        yield Static("loading jobs…", id="jobs-status", classes="status-line")

    def on_mount(self) -> None:
        self.query_one("#jobs-filter", Input).display = False
        if self.jobs:  # a poll that landed while the pane was still being built
            self._render_rows()

    @property
    def table(self) -> RowTable:
        return self.query_one("#jobs-table", RowTable)

    def show_jobs(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.by_id = {j.id: j for j in jobs}
        if self.is_mounted:  # else on_mount renders them
            self._render_rows()

    def _render_rows(self) -> None:
        now = self.ftui.now()
        shown = [j for j in self.jobs if job_matches(j, self.filter_text)] if self.filter_text else self.jobs
        self.table.sync([(j.id, job_cells(j, now)) for j in shown])
        running = sum(1 for j in self.jobs if j.status == "running")
        noun = "job" if len(self.jobs) == 1 else "jobs"
        text = f"{len(shown)} of {len(self.jobs)} {noun}" if self.filter_text else f"{len(self.jobs)} {noun}"
        if running:
            text += f" · {running} running"
        if self.filter_text:
            text += f" · filter /{self.filter_text}"
        if self.creating:
            text += f" · new job: {self.creating}"
        self.query_one("#jobs-status", Static).update(text)

    def profile_changed(self) -> None:
        self.jobs, self.by_id = [], {}
        self.table.sync([])
        self.query_one("#jobs-status", Static).update("loading jobs…")

    def selected(self) -> Job | None:
        key = self.table.current_key
        return self.by_id.get(key) if key else None

    # -- filter -------------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.display = True
        box.focus()

    def set_filter(self, text: str) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.value = text
        box.display = bool(text)
        self.filter_text = text
        self._render_rows()

    @on(Input.Changed, "#jobs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._render_rows()

    @on(Input.Submitted, "#jobs-filter")
    def _filter_done(self) -> None:
        if not self.filter_text:
            self.query_one("#jobs-filter", Input).display = False
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.set_filter("")
        self.table.focus()

    # -- actions ------------------------------------------------------------------------------
    @on(RowTable.Selected, "#jobs-table")
    def _open_detail(self, event: RowTable.Selected) -> None:
        job = self.by_id.get(event.key)
        if job is None:
            return

        def after(choice: str | None) -> None:
            if choice == "metrics":
                self.post_message(ShowMetrics(job.id))
            elif choice == "clone":
                self._open_form(clone_spec(job), title=f"Clone {job.id}")
            elif choice == "longer":
                self._train_longer(job)

        from ftui.tui.screens.job_detail import JobDetailScreen

        self.app.push_screen(JobDetailScreen(job), after)

    def action_new_job(self, training_file: str | None = None) -> None:
        self._open_form(None, training_file=training_file)

    def action_clone(self) -> None:
        job = self.selected()
        if job is None:
            self.app.notify("no job selected", severity="warning")
            return
        self._open_form(clone_spec(job), title=f"Clone {job.id} with changes")

    def action_train_longer(self) -> None:
        job = self.selected()
        if job is None:
            self.app.notify("no job selected", severity="warning")
            return
        self._train_longer(job)

    def _train_longer(self, job: Job) -> None:
        # Not a resume with more steps (the Trainer would run them at learning rate 0): a new job
        # that starts from this one's adapter.
        if not job.fine_tuned_model:
            self.app.notify(
                f"{job.id} has no fine-tuned model yet: train longer once it has succeeded",
                severity="warning",
            )
            return
        self._open_form(
            clone_spec(job, init_from=job.fine_tuned_model),
            title=f"Train {job.fine_tuned_model} longer: a new job from its weights",
        )

    def _open_form(
        self, initial: JobSpec | None, *, training_file: str | None = None, title: str = "New fine-tuning job"
    ) -> None:
        from ftui.tui.screens.job_form import JobFormScreen

        def submit(spec: JobSpec, form: JobFormScreen) -> None:
            self.create_job(spec, form)

        form = JobFormScreen(initial, training_file=training_file, title=title, on_submit=submit)
        self.app.push_screen(form)

    @work(group="job-create", exit_on_error=False, description="creating the job")
    async def create_job(self, spec: JobSpec, form: JobFormScreen | None = None) -> None:
        """Prepare the base model (with progress), then create the job; the form, while it is up,
        and the status line show each stage."""
        app = self.app

        def show(text: str, done: int | None = None, total: int | None = None) -> None:
            self.creating = f"{text} {100 * done // total}%" if done is not None and total else text
            self._render_rows()
            if form is not None and form.is_attached:
                form.stage(text, done, total)

        def progress(done: int, total: int) -> None:  # on the provider's thread
            text = f"preparing {spec.base_model} (first use only)…"
            app.call_from_thread(show, text, done, total)

        try:
            await self.ftui.call(lambda p: p.prepare_model(spec.base_model, progress))
            show("validating the training file and creating the job…")
            job = await self.ftui.call(lambda p: p.create_job(spec))
        except Exception as exc:
            self.creating = None
            self._render_rows()
            if form is not None and form.is_attached:
                form.failed(str(exc) if isinstance(exc, FtuiError) else f"{type(exc).__name__}: {exc}")
                return
            raise  # the form is gone: the pane reports it (toast and log)
        self.creating = None
        if form is not None and form.is_attached:
            form.dismiss(None)
        app.notify(f"created {job.id} on {job.base_model}", title="Job created")
        self.ftui.job_seen(job)
        self.show_jobs([job, *[j for j in self.jobs if j.id != job.id]])
        self.table.move_cursor(row=0)
        self.post_message(RefreshJobs())

    def action_cancel_job(self) -> None:
        job = self.selected()
        if job is None or job.done:
            self.app.notify("select a job that has not finished", severity="warning")
            return

        def after(yes: bool | None) -> None:
            if yes:
                self.job_action("cancel", lambda p: p.cancel(job.id))

        from ftui.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(f"Cancel job {job.id}?"), after)

    def action_pause(self) -> None:
        job = self.selected()
        if job is not None:
            self.job_action("pause", lambda p: p.pause(job.id))

    def action_resume(self) -> None:
        job = self.selected()
        if job is not None:
            self.job_action("resume", lambda p: p.resume(job.id))

    @work(group="job-action", exit_on_error=False, description="changing the job")
    async def job_action(self, verb: str, act: Callable[[Provider[Any]], Awaitable[Job]]) -> None:
        job = await self.ftui.call(act)
        self.app.notify(f"{job.id}: {job.status}", title=verb.title())
        self.ftui.job_seen(job)
        self.show_jobs([job if j.id == job.id else j for j in self.jobs])
        self.post_message(RefreshJobs())

    def action_metrics(self) -> None:
        job = self.selected()
        if job is not None:
            self.post_message(ShowMetrics(job.id))

    def action_refresh(self) -> None:
        self.post_message(RefreshJobs())

    def action_deploy(self) -> None:
        job = self.selected()
        if job is None or not job.fine_tuned_model:
            self.app.notify(
                "select a job that has succeeded: its fine-tuned model is what deploys", severity="warning"
            )
            return
        self.post_message(DeployModel(job.fine_tuned_model))
