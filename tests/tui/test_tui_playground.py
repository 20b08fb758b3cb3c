from __future__ import annotations

from support.tui_fakes import CannedProvider, ready, wait_for

from ftui.tui.screens.pick import PickScreen
from ftui.tui.screens.playground import PlaygroundPane


async def open_playground(pilot) -> PlaygroundPane:
    await ready(pilot)
    await pilot.press("4")
    pane = pilot.app.query_one(PlaygroundPane)
    await wait_for(pilot, lambda: pane.models)
    return pane


async def test_chat_streams_reply_from_chosen_model(make_app) -> None:
    CannedProvider.replies = {"tiny-llama": "hello from the base model"}
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_playground(pilot)
        app.query_one("#model-a").value = "tiny-llama"
        await pilot.press(*"hi", "enter")
        await wait_for(pilot, lambda: len(pane.history["a"]) == 2)
        assert pane.history["a"][1].content.strip() == "hello from the base model"
    CannedProvider.replies = {}


async def test_compare_mode_sends_same_prompt_to_both_models(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_playground(pilot)
        await pilot.press("ctrl+t")
        app.query_one("#model-a").value = "tiny-llama"
        app.query_one("#model-b").value = "ft:tiny-llama:demo-1"
        app.query_one("#system").value = "be brief"
        await pilot.press(*"ping", "enter")
        await wait_for(pilot, lambda: len(pane.history["a"]) == 2 and len(pane.history["b"]) == 2)
        assert "[tiny-llama]" in pane.history["a"][1].content
        assert "[ft:tiny-llama:demo-1]" in pane.history["b"][1].content


async def test_conversation_is_saved_and_reloaded(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_playground(pilot)
        app.query_one("#model-a").value = "tiny-llama"
        app.query_one("#temperature").value = "0.2"
        await pilot.press(*"remember me", "enter")
        await wait_for(pilot, lambda: len(pane.history["a"]) == 2)
        await pilot.press("ctrl+s")
        assert pane.chat_id is not None
        await pilot.press("ctrl+n")
        assert pane.history["a"] == []
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(pane.history["a"]) == 2)
        assert pane.history["a"][0].content == "remember me"
        assert app.query_one("#temperature").value == "0.2"


async def test_bad_temperature_is_reported_and_nothing_is_sent(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = await open_playground(pilot)
        app.query_one("#temperature").value = "hot"
        await pilot.press(*"hi", "enter")
        await wait_for(pilot, lambda: any("temperature" in n.message for n in app._notifications))
        assert pane.history["a"] == []
