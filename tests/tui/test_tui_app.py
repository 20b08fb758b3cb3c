from __future__ import annotations

import io
import subprocess
import sys

from rich.console import Console
from support.tui_fakes import CannedProvider, CannedSession, ready, screen_text, wait_for, write_config
from textual.command import CommandList, CommandPalette
from textual.widgets import TabbedContent

from ftui.tui.commands import CommandError, parse_command
from ftui.tui.screens.help import HelpScreen, bindings_table
from ftui.tui.widgets.row_table import RowTable


def two_profiles(tmp_path) -> tuple[CannedSession, CannedProvider, CannedProvider]:
    config = write_config(tmp_path, "alpha", "beta")
    alpha = CannedProvider(profile="alpha")
    beta = CannedProvider(profile="beta", jobs=[])
    return CannedSession({"alpha": alpha, "beta": beta}, config_path=config), alpha, beta


async def test_header_shows_profile_and_provider(make_app, tmp_path) -> None:
    session, _, _ = two_profiles(tmp_path)
    app = make_app(session=session)
    async with app.run_test(size=(80, 24)) as pilot:
        # The profile is read in a worker right after the first frame; the header fills in then.
        await wait_for(pilot, lambda: app.sub_title == "profile alpha · provider local")


async def test_colon_profile_command_repoints_every_pane_without_restart(make_app, tmp_path) -> None:
    session, _, _ = two_profiles(tmp_path)
    app = make_app(session=session)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("colon", *"profile beta", "enter")
        await wait_for(pilot, lambda: app.sub_title == "profile beta · provider local")
        # beta's first poll has landed (its job count is shown): alpha's rows are gone, not late.
        await wait_for(pilot, lambda: app.query_one("#jobs-status").render().plain == "0 jobs")
        assert table.row_count == 0
        assert session.profile.name == "beta"


async def test_unknown_profile_keeps_current_one_and_says_why(make_app, tmp_path) -> None:
    session, _, _ = two_profiles(tmp_path)
    app = make_app(session=session)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("colon", *"profile nope", "enter")
        await wait_for(pilot, lambda: any("nope" in n.message for n in app._notifications))
        assert app.sub_title == "profile alpha · provider local"


async def test_command_palette_lists_profiles_and_switches(make_app, tmp_path) -> None:
    session, _, _ = two_profiles(tmp_path)
    app = make_app(session=session)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Profile: beta")

        def beta_is_highlighted() -> bool:
            hit = app.screen.query_one(CommandList).highlighted_option
            return hit is not None and "Profile: beta" in str(hit.prompt)

        await wait_for(pilot, beta_is_highlighted)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.sub_title == "profile beta · provider local")


async def test_number_keys_and_colon_commands_switch_views(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        tabs = app.query_one("#views", TabbedContent)
        assert tabs.active == "jobs"
        await pilot.press("1")
        assert tabs.active == "datasets"
        await pilot.press("colon", *"pg", "enter")
        assert tabs.active == "playground"
        await pilot.press(*"3")  # typed into the prompt, not a view switch
        assert tabs.active == "playground"


async def test_question_mark_shows_every_binding(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(bindings_table(app.screen.sections))
        text = console.export_text()
        for expected in ("Jobs", "Filter", "Smooth", "Compare", "Validate", "Command palette"):
            assert expected in text
        assert "Keys" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_job_finishing_notifies_on_another_view_and_rings_bell(make_app) -> None:
    provider = CannedProvider()
    app = make_app(provider, bell=True)
    rings = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.query_one("#jobs-table", RowTable).row_count == 4)
        await pilot.press("4")
        provider.finish("ftjob-00000")
        await wait_for(pilot, lambda: any("ftjob-00000 succeeded" in n.message for n in app._notifications))
        assert rings == [1]
        # Jobs already finished when first seen are not announced.
        assert not any("ftjob-00001" in n.message for n in app._notifications)


def test_parse_command_understands_views_profiles_and_rejects_nonsense() -> None:
    assert parse_command(":jobs /fail").extra == "fail"
    assert parse_command("profile prod").arg == "prod"
    assert parse_command("q").action == "quit"
    for bad in ("", "profile", "frobnicate", "bell maybe"):
        try:
            parse_command(bad)
        except CommandError:
            continue
        raise AssertionError(bad)


async def test_no_color_renders_without_colour(make_app, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query_one("#jobs-table", RowTable).row_count == 4)
        assert app.no_color
        svg = app.export_screenshot()
        assert "#00ff00" not in svg.lower()


def test_tui_start_path_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from ftui.cli import cli\n"
        "from ftui.tui.app import FtuiApp\n"
        "from ftui.session import Session\n"
        "app = FtuiApp(Session())\n"
        "heavy = [m for m in ('torch', 'transformers', 'boto3', 'azure', 'openai', 'fastapi', 'trl',"
        " 'peft', 'datasets', 'uvicorn') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
