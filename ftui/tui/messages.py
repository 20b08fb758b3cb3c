"""What a pane asks the app to do elsewhere: it posts one of these and the app handles it.

Panes never import the app (nor one another): navigation goes up as a message, and what a pane
needs from the app it asks of its `PaneHost` (`ftui.tui.screens.base`).
"""

from __future__ import annotations

from textual.message import Message


class ShowMetrics(Message):
    """Show the Metrics view, following `job_id`."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id


class OpenPlayground(Message):
    """Show the Playground with `model` (a model, checkpoint or deployment id) in its first slot."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model


class NewJob(Message):
    """Open the job form, on `training_file` if given."""

    def __init__(self, training_file: str | None = None) -> None:
        super().__init__()
        self.training_file = training_file


class DeployModel(Message):
    """Show the Deployments view and start deploying `model` (its hourly cost is asked about)."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model


class RefreshJobs(Message):
    """Poll the provider for jobs now rather than at the next tick."""
