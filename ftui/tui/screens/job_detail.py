"""Everything about one job: what OpenAI's dashboard shows on a job's page, raw object included."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ftui.tui.display import count, status_text, when

if TYPE_CHECKING:
    from ftui.model import Job


def detail_renderable(job: Job) -> Group:
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("id", job.id)
    summary.add_row("status", status_text(job.status))
    summary.add_row("provider", job.provider)
    summary.add_row("method", job.method)
    summary.add_row("base model", job.base_model)
    summary.add_row("fine-tuned model", job.fine_tuned_model or "-")
    summary.add_row("created", when(job.created_at))
    summary.add_row("finished", when(job.finished_at))
    summary.add_row("trained tokens", count(job.trained_tokens))
    summary.add_row("training file", job.training_file or "-")
    summary.add_row("validation file", job.validation_file or "-")
    summary.add_row("suffix", job.suffix or "-")
    summary.add_row("seed", "-" if job.seed is None else str(job.seed))
    hp = job.hyperparameters
    hyper = Table.grid(padding=(0, 2))
    hyper.add_column(style="bold")
    hyper.add_column()
    hyper.add_row("n_epochs", str(hp.n_epochs))
    hyper.add_row("batch_size", str(hp.batch_size))
    hyper.add_row("learning_rate_multiplier", str(hp.learning_rate_multiplier))
    if hp.beta is not None:
        hyper.add_row("beta", str(hp.beta))
    for key, value in sorted(hp.extra.items()):
        hyper.add_row(key, str(value))
    parts: list[RenderableType] = [summary, Text("\nhyperparameters", style="bold underline"), hyper]
    if job.error:
        parts += [
            Text("\nerror", style="bold underline red"),
            Text(f"{job.error.code}: {job.error.message}", style="red"),
        ]
    parts += [Text("\nresult files", style="bold underline"), Text("\n".join(job.result_files) or "-")]
    raw = job.raw or job.model_dump(mode="json", exclude={"raw"})
    parts += [
        Text("\nraw object", style="bold underline"),
        Text(json.dumps(raw, indent=2, default=str, ensure_ascii=False)),
    ]
    return Group(*parts)


class JobDetailScreen(ModalScreen[str | None]):
    """Dismisses with an action name the jobs pane carries out ("metrics", "clone", "longer") or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss(None)", "Close"),
        Binding("m", "dismiss('metrics')", "Metrics"),
        Binding("c", "dismiss('clone')", "Clone"),
        Binding("t", "dismiss('longer')", "Train longer"),
    ]

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Static(f"job {self.job.id}", classes="dialog-title")
            with VerticalScroll(id="job-detail-body"):
                yield Static(detail_renderable(self.job))
