"""The deploy form: which model, on what (sku or instance type), how many; the hourly cost is shown
as you type, and the deployments pane asks once more before anything is created."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ftui.tui.screens.base import host_of

if TYPE_CHECKING:
    from ftui.model import DeploySpec

FIELDS = (
    ("model", "model", "a fine-tuned model or checkpoint"),
    ("instance_type", "instance type", "SageMaker / Azure ML, e.g. ml.g5.xlarge (blank: default)"),
    ("sku", "sku", "Azure OpenAI, e.g. standard, globalstandard (blank: default)"),
    ("capacity", "capacity", "1"),
)


class FormError(ValueError):
    pass


def build_deploy_spec(values: dict[str, str]) -> DeploySpec:
    from pydantic import ValidationError

    from ftui.model import DeploySpec

    model = values.get("model", "").strip()
    if not model:
        raise FormError("model: required (a fine-tuned model or checkpoint name)")
    capacity_text = values.get("capacity", "").strip() or "1"
    try:
        capacity = int(capacity_text)
    except ValueError:
        raise FormError(f"capacity: expected a whole number, got {capacity_text!r}") from None
    try:
        return DeploySpec(
            model=model,
            instance_type=values.get("instance_type", "").strip() or None,
            sku=values.get("sku", "").strip() or None,
            capacity=capacity,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FormError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


class DeployFormScreen(ModalScreen["DeploySpec | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "submit", "Deploy…", priority=True),
    ]

    def __init__(self, model: str | None = None) -> None:
        super().__init__()
        self.model = model or ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Static("Deploy a model (billed every hour until deleted)", classes="dialog-title")
            for key, label, placeholder in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(label)
                    value = self.model if key == "model" else ("1" if key == "capacity" else "")
                    yield Input(value, placeholder=placeholder, id=f"deploy-{key}")
            yield Static("hourly cost: …", id="deploy-cost")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Deploy… (ctrl+s)", variant="primary", id="deploy")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#deploy-model" if not self.model else "#deploy-instance_type", Input).focus()
        self.price()

    def form_values(self) -> dict[str, str]:
        return {key: self.query_one(f"#deploy-{key}", Input).value for key, _, _ in FIELDS}

    @on(Input.Changed)
    def _changed(self) -> None:
        self.price()

    @work(group="deploy-price", exclusive=True, exit_on_error=False, description="pricing the deployment")
    async def price(self) -> None:
        from ftui.costs import estimate_line

        line = self.query_one("#deploy-cost", Static)
        try:
            spec = build_deploy_spec(self.form_values())
        except FormError:
            line.update("hourly cost: fill in the model")
            return
        estimate = await host_of(self.app).call(lambda p: p.estimate_cost(spec))
        line.update(f"hourly cost: {estimate_line(estimate)}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "deploy":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        try:
            spec = build_deploy_spec(self.form_values())
        except FormError as exc:
            self.query_one("#form-error", Static).update(f"[red]{exc}[/red]")
            return
        self.dismiss(spec)
