"""What every pane shares: a handle on the app, and worker failures routed to one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.containers import Container
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from ftui.model import Job
    from ftui.tui.app import FtuiApp


class Pane(Container):
    """A top-level view. Workers run with exit_on_error=False; their errors land here."""

    @property
    def ftui(self) -> FtuiApp:
        return cast("FtuiApp", self.app)

    def activated(self) -> None:
        """The pane's tab was just shown."""

    def jobs_changed(self, jobs: list[Job]) -> None:
        """A jobs poll landed (the app keeps the list: `self.ftui.jobs`)."""

    def profile_changed(self) -> None:
        """The app now points at another profile: drop what belonged to the old one and reload."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.ftui.report_error(event.worker.description or event.worker.name, event.worker.error)
