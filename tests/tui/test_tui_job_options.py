"""The job form shows a provider's own options with their defaults, and sends what the user picks:
the real Azure OpenAI provider against the loopback Azure server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.azure_server import AzureServer, FakeCredential
from support.tui_fakes import CannedSession, screen_text, wait_for
from textual.widgets import Select

from ftui.tui.screens.job_form import JobFormScreen


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch):
    from ftui_azure.provider import AzureOpenAIProvider
    from ftui_azure.settings import AzureSettings

    with AzureServer() as az:
        monkeypatch.setenv("FTUI_TEST_AZURE_KEY", az.key)
        settings = AzureSettings(endpoint=az.url, api_key_env="FTUI_TEST_AZURE_KEY", poll_interval=0.02)
        yield az, AzureOpenAIProvider(settings, credential=FakeCredential(token=az.token))


async def test_the_training_type_default_is_shown_and_the_choice_is_sent(
    make_app, azure, tmp_path: Path
) -> None:
    az, provider = azure
    fid = az.upload("train.jsonl", b'{"messages": []}\n', "fine-tune")["id"]
    az.ready_at[fid] = 0
    app = make_app(session=CannedSession({"local": provider}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        await wait_for(pilot, lambda: form.query("#option-training_type"))
        select = form.query_one("#option-training_type", Select)
        assert select.value == "Standard"  # the profile's default, visible before anything is sent
        assert "training type" in screen_text(app) and "Standard" in screen_text(app)
        await wait_for(pilot, lambda: form.query_one("#base_model", Select).value != Select.NULL)
        form.query_one("#base_model", Select).value = "gpt-4.1-mini-2025-04-14"
        select.value = "GlobalStandard"
        form.query_one("#training_file").value = fid
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: az.requests(r"/fine_tuning/jobs$", "POST"))
    assert az.requests(r"/fine_tuning/jobs$", "POST")[0].body["trainingType"] == "GlobalStandard"
