"""The create-job form: base model from the provider, method, the provider's own options (each
with its default shown, e.g. Azure's training type), hyperparameters ("auto" allowed).

Create keeps the form up while the job is made: the provider may first prepare the base model
(the local starter model is converted once, tens of seconds), with its progress shown here, then
validates the training file. A second press does nothing meanwhile; an error lands in the form with
every value kept; escape leaves the form and the job is still made (the Jobs status line follows it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static

from ftui.tui.screens.base import host_of

if TYPE_CHECKING:
    from textual.widget import Widget

    from ftui.model import JobOption, JobSpec, Method
    from ftui.provider import Provider

METHODS: tuple[Method, ...] = ("supervised", "dpo", "reinforcement")  # no pydantic import to show the form
FIELDS = (
    ("training_file", "training file", "path or file id"),
    ("validation_file", "validation file", "optional"),
    ("n_epochs", "epochs", "auto"),
    ("batch_size", "batch size", "auto"),
    ("learning_rate_multiplier", "lr multiplier", "auto"),
    ("suffix", "suffix", "optional, ≤ 64 chars"),
    ("seed", "seed", "optional"),
    ("init_from", "start from", "base model, or a fine-tuned model or checkpoint"),
    ("grader_file", "grader file", "reinforcement: a grader JSON file"),
)


class FormError(ValueError):
    pass


@lru_cache(maxsize=8)
def _counted(path: str, size: int, mtime: float, method: str, model: str) -> tuple[int, int]:
    from ftui.data.validate_process import shared

    # In the helper process: counting in this thread would hold the GIL and freeze the UI.
    report = shared().validate(Path(path), method=method, model=model)
    return int(report.billed_tokens_per_epoch or 0), int(report.examples or 0)


def billed_tokens(path: Path, method: str, model: str) -> tuple[int, int]:
    """(billed tokens per epoch, examples) of a training file, counted once per file version."""
    st = path.stat()
    return _counted(str(path.resolve()), st.st_size, st.st_mtime, method, model)


def _number(field: str, text: str, name: str) -> Any:
    """The form's text for hyperparameter `name`, checked against the one table of bounds."""
    from ftui.hyperparameters import BY_METHOD, HyperparameterError

    bound = BY_METHOD["dpo"][name]
    text = text.strip()
    if not text or text == "auto":
        return "auto"
    try:
        value = bound.kind(text)
    except ValueError:
        raise FormError(f"{field}: expected {bound.describe()}, got {text!r}") from None
    try:
        return bound.check(name, value)
    except HyperparameterError as exc:
        raise FormError(f"{field}: {exc.reason}") from None


def _grader(path: str, method: str) -> dict[str, Any] | None:
    from ftui.graders.base import GraderError
    from ftui.graders.registry import job_grader

    if not path:
        if method == "reinforcement":
            raise FormError("grader file: reinforcement needs one (a grader JSON object)")
        return None
    if method != "reinforcement":
        raise FormError("grader file: only reinforcement jobs take a grader")
    try:
        return job_grader(path)
    except GraderError as exc:
        raise FormError(f"grader file: {exc}") from None


def build_spec(
    values: dict[str, str],
    base_model: str | None,
    method: str,
    options: dict[str, str] | None = None,
    *,
    grader: bool = True,
) -> JobSpec:
    """Turn the form's text into a JobSpec, or raise FormError naming the field. `grader=False`
    leaves the grader out (the cost does not depend on it)."""
    from pydantic import ValidationError

    from ftui.model import Hyperparameters, JobSpec, one_of

    if not base_model:
        raise FormError("base model: choose one")
    training = values.get("training_file", "").strip()
    if not training:
        raise FormError("training file: required (a local JSONL path or an uploaded file id)")
    seed_text = values.get("seed", "").strip()
    try:
        seed = int(seed_text) if seed_text else None
    except ValueError:
        raise FormError(f"seed: expected a whole number, got {seed_text!r}") from None
    hyper = Hyperparameters(
        n_epochs=_number("epochs", values.get("n_epochs", ""), "n_epochs"),
        batch_size=_number("batch size", values.get("batch_size", ""), "batch_size"),
        learning_rate_multiplier=_number(
            "lr multiplier", values.get("learning_rate_multiplier", ""), "learning_rate_multiplier"
        ),
    )
    grader_obj = _grader(values.get("grader_file", "").strip(), method) if grader else None
    try:
        return JobSpec(
            base_model=base_model,
            training_file=training,
            validation_file=values.get("validation_file", "").strip() or None,
            method=one_of(method, METHODS, "supervised"),
            hyperparameters=hyper,
            suffix=values.get("suffix", "").strip() or None,
            seed=seed,
            init_from=values.get("init_from", "").strip() or None,
            options=options or {},
            grader=grader_obj,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "form"
        raise FormError(f"{field}: {first['msg']}") from None


def spec_values(spec: JobSpec) -> dict[str, str]:
    hp = spec.hyperparameters
    return {
        "training_file": spec.training_file,
        "validation_file": spec.validation_file or "",
        "n_epochs": str(hp.n_epochs),
        "batch_size": str(hp.batch_size),
        "learning_rate_multiplier": str(hp.learning_rate_multiplier),
        "suffix": spec.suffix or "",
        "seed": "" if spec.seed is None else str(spec.seed),
        "init_from": spec.init_from or "",
    }


async def _job_options(provider: Provider[Any]) -> list[JobOption]:
    return provider.job_options()


class JobFormScreen(ModalScreen["JobSpec | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "submit", "Create", priority=True),
    ]

    def __init__(
        self,
        initial: JobSpec | None = None,
        *,
        training_file: str | None = None,
        title: str = "New fine-tuning job",
        on_submit: Callable[[JobSpec, JobFormScreen], None] | None = None,
    ) -> None:
        super().__init__()
        self.on_submit = on_submit
        self.submitting = False
        self._stage = ""
        self._since = 0.0
        self._ticker: Timer | None = None
        self.initial = initial
        self.title_text = title
        self.values = spec_values(initial) if initial else {}
        if training_file and not initial:
            self.values["training_file"] = training_file
        self.method = initial.method if initial else "supervised"
        self.base_model = initial.base_model if initial else None
        self.options: list[JobOption] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll():
                with Horizontal(classes="form-row"):
                    yield Label("base model")
                    options = [(self.base_model, self.base_model)] if self.base_model else []
                    yield Select(
                        options,
                        id="base_model",
                        prompt="loading models…",
                        value=self.base_model if self.base_model else Select.NULL,
                    )
                with Horizontal(classes="form-row"):
                    yield Label("method")
                    yield Select([(m, m) for m in METHODS], id="method", value=self.method, allow_blank=False)
                yield Vertical(id="provider-options")
                for key, label, placeholder in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label)
                        yield Input(
                            self.values.get(key, "auto" if placeholder == "auto" else ""),
                            placeholder=placeholder,
                            id=key,
                        )
            yield Static("cost: choose a base model and a training file", id="form-cost")
            yield Static("", id="form-error")
            yield ProgressBar(total=100, show_eta=False, id="form-progress")
            with Horizontal(classes="buttons"):
                yield Button("Create (ctrl+s)", variant="primary", id="create")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#form-progress").display = False
        self.load_models()
        self.query_one("#base_model", Select).focus()

    async def show_options(self, options: list[JobOption]) -> None:
        """One row per provider option, its default (or the initial job's choice) selected."""
        chosen = self.initial.options if self.initial else {}
        self.options = options
        rows: list[Widget] = []
        for option in options:
            value = chosen.get(option.key, option.default)
            rows.append(
                Horizontal(
                    Label(option.label),
                    Select(
                        [(c, c) for c in option.choices],
                        id=f"option-{option.key}",
                        value=value if value in option.choices else option.default,
                        allow_blank=False,
                        tooltip=option.help or None,
                    ),
                    classes="form-row",
                )
            )
            if option.help:
                rows.append(Static(option.help, classes="form-help"))
        await self.query_one("#provider-options", Vertical).mount_all(rows)

    def option_values(self) -> dict[str, str]:
        return {o.key: str(self.query_one(f"#option-{o.key}", Select).value) for o in self.options}

    @work(group="form-models", exclusive=True, exit_on_error=False, description="listing base models")
    async def load_models(self) -> None:
        app = host_of(self.app)
        try:
            await self.show_options(await app.call(_job_options))
            models = await app.call(lambda p: p.base_models())
        except Exception as exc:
            app.report_error("listing base models", exc)
            self.query_one("#base_model", Select).prompt = "type-in not available: provider error"
            return
        select = self.query_one("#base_model", Select)
        ids = [m.id for m in models]
        if self.base_model and self.base_model not in ids:
            ids.insert(0, self.base_model)
        keep = select.value
        select.set_options([(i, i) for i in ids])
        select.prompt = "choose a base model"
        if keep in ids:
            select.value = keep
        elif self.base_model is None and ids:
            select.value = ids[0]
        self.estimate()

    @on(Select.Changed)
    @on(Input.Changed, "#training_file, #n_epochs")
    def _cost_inputs_changed(self) -> None:
        self.estimate()

    @work(group="form-cost", exclusive=True, exit_on_error=False, description="estimating the cost")
    async def estimate(self) -> None:
        """The cost before Create: the provider's price for this base model, method and epochs, on
        the training file's billed tokens (counted by validation, off the UI thread, when needed)."""
        from ftui.costs import estimate_line, training_estimate

        line = self.query_one("#form-cost", Static)
        base = self.query_one("#base_model", Select).value
        method = self.query_one("#method", Select).value
        try:
            spec = build_spec(
                self.form_values(), None if base is Select.NULL else str(base), str(method), grader=False
            )
        except FormError:
            line.update("cost: choose a base model and a training file")
            return
        await asyncio.sleep(0.3)  # typing: a newer keystroke cancels this worker (exclusive group)
        app = host_of(self.app)
        estimate = await app.call(lambda p: training_estimate(p, spec, None))
        path = Path(spec.training_file).expanduser()
        if estimate.total is None and estimate.price_per_1m_tokens is not None and path.is_file():
            line.update(f"cost: counting the billed tokens in {path.name}…")
            tokens, examples = await asyncio.to_thread(billed_tokens, path, spec.method, spec.base_model)
            estimate = await app.call(lambda p: training_estimate(p, spec, tokens, examples))
        line.update("cost: " + estimate_line(estimate))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_submit()
        else:
            self.dismiss(None)

    def form_values(self) -> dict[str, str]:
        return {key: self.query_one(f"#{key}", Input).value for key, _, _ in FIELDS}

    def action_submit(self) -> None:
        if self.submitting:  # the job from the first press is still being made
            return
        base = self.query_one("#base_model", Select).value
        method = self.query_one("#method", Select).value
        try:
            spec = build_spec(
                self.form_values(),
                None if base is Select.NULL else str(base),
                str(method),
                self.option_values(),
            )
        except FormError as exc:
            self.query_one("#form-error", Static).update(f"[red]{exc}[/red]")
            return
        for label, ref in (("training file", spec.training_file), ("validation file", spec.validation_file)):
            path = Path(ref).expanduser() if ref else None
            if (
                path is not None
                and not path.is_file()
                and (path.exists() or not str(ref).startswith("file-"))
            ):
                message = f"{label}: {ref} is not a file (a path or an uploaded file id)"
                self.query_one("#form-error", Static).update(Text(message, "red"))
                return
        if self.on_submit is None:
            self.dismiss(spec)
            return
        self.submitting = True
        self._since = time.monotonic()
        self._ticker = self.set_interval(1.0, self._show_stage)
        self.query_one("#create", Button).disabled = True
        self.stage("creating the job…")
        self.on_submit(spec, self)

    # -- while the job is made (called by whoever makes it) -----------------------------------
    def stage(self, text: str, done: int | None = None, total: int | None = None) -> None:
        self._stage = text
        self._show_stage()
        bar = self.query_one("#form-progress", ProgressBar)
        bar.display = True
        bar.update(total=total or None, progress=done or 0)

    def _show_stage(self) -> None:
        elapsed = int(time.monotonic() - self._since)
        self.query_one("#form-error", Static).update(f"{self._stage} {elapsed} s" if elapsed else self._stage)

    def failed(self, message: str) -> None:
        """The job was not made: say why, and let the user fix the form and press Create again."""
        if self._ticker is not None:
            self._ticker.stop()
        self.submitting = False
        self.query_one("#create", Button).disabled = False
        self.query_one("#form-progress").display = False
        self.query_one("#form-error", Static).update(Text(message, style="red"))
