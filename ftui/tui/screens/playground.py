"""Playground: chat with a base model, a fine-tuned model or a checkpoint; compare two side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select

from ftui.errors import FtuiError, NotSupported
from ftui.tui.screens.base import Pane
from ftui.tui.screens.pick import PickScreen
from ftui.tui.widgets.chat_view import ChatView

if TYPE_CHECKING:
    from ftui.model import ChatMessage, ChatParams
    from ftui.provider import Provider

SIDES = ("a", "b")


async def _ready_deployments(provider: Provider[Any]) -> list[str]:
    """On a provider whose models answer only once deployed (Azure, SageMaker), the ready
    deployments come first: they are what chat can call."""
    if not provider.supports("deploy"):
        return []
    from ftui.provider import collect

    try:
        found = await collect(lambda cursor: provider.deployments(cursor=cursor))
    except FtuiError:
        return []  # no management access: the models are still listed
    return [d.id for d in found if d.status == "ready"]


class PlaygroundPane(Pane):
    FOCUS_TARGET = "#prompt"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "toggle_compare", "Compare", id="pg-compare", priority=True),
        Binding("ctrl+s", "save_chat", "Save", id="pg-save", priority=True),
        Binding("ctrl+o", "load_chat", "Load", id="pg-load", priority=True),
        Binding("ctrl+n", "new_chat", "New chat", id="pg-new", priority=True),
        Binding("ctrl+r", "reload_models", "Reload models", id="pg-models", show=False),
        Binding("escape", "stop", "Stop", id="pg-stop", show=False),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {
        "enter": "In the prompt: send to the model (both models in compare mode)",
    }

    def __init__(self) -> None:
        super().__init__(id="playground-pane")
        self.compare = False
        self.history: dict[str, list[ChatMessage]] = {s: [] for s in SIDES}
        self.chat_id: int | None = None
        self.models: list[str] = []
        self._wanted: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="pg-models", classes="pg-row"):
            yield Label("model")
            yield Select([], id="model-a", prompt="loading models…")
            yield Label("vs", id="vs-label")
            yield Select([], id="model-b", prompt="second model")
        with Horizontal(id="pg-params", classes="pg-row"):
            yield Label("system")
            yield Input(placeholder="system prompt (optional)", id="system")
            yield Label("temp")
            yield Input("0.7", id="temperature", classes="num")
            yield Label("max")
            yield Input("256", id="max-tokens", classes="num")
        with Horizontal(id="pg-chats"):
            yield ChatView(id="chat-a")
            yield ChatView(id="chat-b")
        yield Input(
            placeholder="message; enter sends  (ctrl+t compare · ctrl+s save · ctrl+o load)", id="prompt"
        )

    def on_mount(self) -> None:
        self._show_compare()

    def activated(self) -> None:
        if not self.models:
            self.load_models()

    def profile_changed(self) -> None:
        self.models = []
        for side in SIDES:
            self.query_one(f"#model-{side}", Select).set_options([])
        self.action_new_chat()
        if self.ftui.active_view == "playground":
            self.load_models()

    def _show_compare(self) -> None:
        for selector in ("#model-b", "#vs-label", "#chat-b"):
            self.query_one(selector).display = self.compare

    # -- models -------------------------------------------------------------------------------
    @work(group="pg-models", exclusive=True, exit_on_error=False, description="listing models")
    async def load_models(self) -> None:
        base = await self.ftui.call(lambda p: p.base_models())
        try:
            tuned = await self.ftui.call(lambda p: p.fine_tuned_models())
        except NotSupported:
            tuned = []
        deployed = await self.ftui.call(_ready_deployments)
        names = deployed + [m.id for m in tuned] + [m.id for m in base]
        names += [c.fine_tuned_model_checkpoint for c in self.ftui.known_checkpoints()]
        self.set_models(names)

    def set_models(self, names: list[str]) -> None:
        if self._wanted and self._wanted not in names:
            names = [self._wanted, *names]
        self.models = list(dict.fromkeys(names))
        options = [(n, n) for n in self.models]
        for side in SIDES:
            select = self.query_one(f"#model-{side}", Select)
            keep = select.value
            select.set_options(options)
            select.prompt = "choose a model"
            if keep in self.models:
                select.value = keep
        a = self.query_one("#model-a", Select)
        if self._wanted:
            a.value = self._wanted
            self._wanted = None
        elif a.value is Select.NULL and self.models:
            a.value = self.models[0]
        b = self.query_one("#model-b", Select)
        if b.value is Select.NULL and len(self.models) > 1:
            b.value = next((n for n in self.models if n != a.value), self.models[0])

    def use_model(self, model: str) -> None:
        """Put `model` (e.g. a checkpoint from Metrics) in the first slot."""
        if model in self.models:
            self.query_one("#model-a", Select).value = model
        else:
            self._wanted = model
            self.set_models(self.models) if self.models else self.load_models()

    def action_reload_models(self) -> None:
        self.load_models()

    @on(Select.Changed)
    def _model_changed(self, event: Select.Changed) -> None:
        if event.select.id in {"model-a", "model-b"}:
            side = event.select.id[-1]
            view = self.query_one(f"#chat-{side}", ChatView)
            view.set_model(None if event.value is Select.NULL else str(event.value))

    # -- chatting -----------------------------------------------------------------------------
    def params(self) -> ChatParams | None:
        # The domain model (pydantic) loads on first use, not on the TUI's first frame.
        from pydantic import ValidationError

        from ftui.model import ChatParams

        temperature = self.query_one("#temperature", Input).value.strip() or "0.7"
        max_tokens = self.query_one("#max-tokens", Input).value.strip() or "256"
        try:
            return ChatParams(temperature=float(temperature), max_tokens=int(max_tokens))
        except ValueError as exc:
            field = "temperature" if "temperature" in str(exc) or "float" in str(exc) else "max tokens"
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                field = str(first["loc"][0]).replace("_", " ")
                message = first["msg"]
            else:
                message = "expected a number"
            self.app.notify(f"{field}: {message}", severity="error")
            return None

    def active_sides(self) -> list[str]:
        return list(SIDES) if self.compare else ["a"]

    @on(Input.Submitted, "#prompt")
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        params = self.params()
        if params is None:
            return
        targets = []
        for side in self.active_sides():
            model = self.query_one(f"#model-{side}", Select).value
            if model is Select.NULL:
                self.app.notify("choose a model first", severity="warning")
                return
            targets.append((side, str(model)))
        event.input.value = ""
        system = self.query_one("#system", Input).value.strip()
        from ftui.model import ChatMessage

        for side, model in targets:
            self.history[side].append(ChatMessage(role="user", content=text))
            messages = ([ChatMessage(role="system", content=system)] if system else []) + self.history[side]
            self.query_one(f"#chat-{side}", ChatView).add("user", text)
            self.run_worker(
                self._answer(side, model, messages, params),
                group=f"chat-{side}",
                exclusive=True,
                exit_on_error=False,
                description=f"chat with {model}",
            )

    async def _answer(self, side: str, model: str, messages: list[ChatMessage], params: ChatParams) -> None:
        view = self.query_one(f"#chat-{side}", ChatView)
        reply = view.add("assistant")
        try:
            async for piece in self.ftui.stream_chat(model, messages, params):
                reply.append(piece)
                view.follow()
        except Exception as exc:
            reply.role = "error"
            reply.append(f"[{exc}]")
            self.history[side].pop()  # the question stays on screen but not in what is sent next
            self.ftui.report_error(f"chat with {model}", exc)
            return
        from ftui.model import ChatMessage

        self.history[side].append(ChatMessage(role="assistant", content=reply.body))

    def action_stop(self) -> None:
        for side in SIDES:
            self.workers.cancel_group(self, f"chat-{side}")

    def action_toggle_compare(self) -> None:
        self.compare = not self.compare
        self._show_compare()
        self.app.notify("compare mode " + ("on: both models answer each prompt" if self.compare else "off"))

    # -- saved conversations ------------------------------------------------------------------
    def conversation(self) -> dict[str, Any]:
        selects = {s: self.query_one(f"#model-{s}", Select).value for s in SIDES}
        return {
            "system": self.query_one("#system", Input).value,
            "compare": self.compare,
            "models": {s: (None if v is Select.NULL else str(v)) for s, v in selects.items()},
            "params": {
                "temperature": self.query_one("#temperature", Input).value,
                "max_tokens": self.query_one("#max-tokens", Input).value,
            },
            "messages": {s: [m.model_dump() for m in self.history[s]] for s in SIDES},
        }

    def action_save_chat(self) -> None:
        if not any(self.history.values()):
            self.app.notify("nothing to save yet", severity="warning")
            return
        first = next((m.content for m in self.history["a"] + self.history["b"] if m.role == "user"), "chat")
        title = first[:60]
        self.chat_id = self.ftui.store.save_chat(title, self.conversation(), self.chat_id)
        self.app.notify(f"saved as #{self.chat_id}: {title}", title="Conversation saved")

    def action_load_chat(self) -> None:
        items = [(str(c["id"]), f"#{c['id']}  {c['title']}") for c in self.ftui.store.chats()]

        def after(chat_id: str | None) -> None:
            if chat_id:
                self.load_conversation(int(chat_id))

        self.app.push_screen(PickScreen("Open a saved conversation", items), after)

    def load_conversation(self, chat_id: int) -> None:
        from ftui.model import ChatMessage

        body = self.ftui.store.chat(chat_id)
        if body is None:
            self.app.notify(f"no conversation #{chat_id}", severity="error")
            return
        self.action_new_chat()
        self.chat_id = chat_id
        self.compare = bool(body.get("compare"))
        self._show_compare()
        self.query_one("#system", Input).value = body.get("system", "")
        params = body.get("params", {})
        self.query_one("#temperature", Input).value = str(params.get("temperature", "0.7"))
        self.query_one("#max-tokens", Input).value = str(params.get("max_tokens", "256"))
        for side in SIDES:
            model = body.get("models", {}).get(side)
            if model:
                if model not in self.models:
                    self.set_models([*self.models, model])
                self.query_one(f"#model-{side}", Select).value = model
            view = self.query_one(f"#chat-{side}", ChatView)
            for raw in body.get("messages", {}).get(side, []):
                message = ChatMessage.model_validate(raw)
                self.history[side].append(message)
                view.add(message.role, message.content)
        self.app.notify(f"opened conversation #{chat_id}")

    def action_new_chat(self) -> None:
        self.action_stop()
        self.chat_id = None
        self.history = {s: [] for s in SIDES}
        for side in SIDES:
            self.query_one(f"#chat-{side}", ChatView).clear()
