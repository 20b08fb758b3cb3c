"""What every pane shares: the host it asks things of, and worker failures routed to one place.

A pane never imports the app. It asks its host (`self.ftui`, a `PaneHost`, which `FtuiApp`
implements) for provider calls, the store and the clock, and posts a message from
`ftui.tui.messages` to send the user elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast

from textual.containers import Container
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.app import App

    from ftui.model import ChatMessage, ChatParams, Checkpoint, Job
    from ftui.provider import Provider
    from ftui.session import Session
    from ftui.store import Store

T = TypeVar("T")


class PaneHost(Protocol):
    """The little a pane (or a dialog a pane opens) may ask of the app."""

    jobs: list[Job]  # the latest jobs poll

    @property
    def store(self) -> Store: ...

    @property
    def session(self) -> Session:
        """The config and active profile (Evaluate opens other profiles' providers from it)."""
        ...

    @property
    def active_view(self) -> str: ...

    async def call(self, fn: Callable[[Provider[Any]], Awaitable[T]]) -> T:
        """`await fn(provider)` on the provider's loop."""
        ...

    def stream_chat(
        self, model: str, messages: list[ChatMessage], params: ChatParams
    ) -> AsyncIterator[str]: ...

    def report_error(self, what: str, exc: BaseException) -> None:
        """A toast and a line in the log, never a crash."""

    def now(self) -> datetime: ...

    def job_seen(self, job: Job) -> None:
        """A job this pane just changed: the app records it and announces it if it finished."""

    def known_checkpoints(self) -> list[Checkpoint]:
        """Checkpoints some view has loaded (the Playground offers them as models)."""
        ...


def host_of(app: App[Any]) -> PaneHost:
    # The one place the app is seen as its interface; app.py has mypy check that it implements it.
    return cast("PaneHost", app)


class Pane(Container):
    """A top-level view. Workers run with exit_on_error=False; their errors land here."""

    # The widget that takes focus when the view is shown.
    FOCUS_TARGET: ClassVar[str] = ""

    @property
    def ftui(self) -> PaneHost:
        return host_of(self.app)

    def activated(self) -> None:
        """The pane's tab was just shown."""

    def jobs_changed(self, jobs: list[Job]) -> None:
        """A jobs poll landed (the app keeps the list: `self.ftui.jobs`)."""

    def profile_changed(self) -> None:
        """The app now points at another profile: drop what belonged to the old one and reload."""

    def focus_default(self) -> None:
        if self.FOCUS_TARGET:
            self.query_one(self.FOCUS_TARGET).focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.ftui.report_error(event.worker.description or event.worker.name, event.worker.error)
