"""Start-up path of plain `ftui`: a first frame that waits for no config, plugin or CLI library.

Import hygiene only (which modules are loaded when the first frame is painted), never timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.tui_fakes import wait_for

from ftui.tui.app import FtuiApp

# The console script's no-argument path, headless, exiting right after its first frame; the child
# prints the modules loaded at the moment Textual hands that frame to the driver.
FIRST_FRAME_CHILD = """
import json, sys
import textual.app

_display = textual.app.App._display
def _display_once(self, screen, renderable):
    if renderable is not None and not hasattr(textual.app, "_first_frame_modules"):
        textual.app._first_frame_modules = sorted(sys.modules)
    return _display(self, screen, renderable)
textual.app.App._display = _display_once

import ftui.tui.app as app_module
_mount = app_module.FtuiApp.on_mount
def _mount_then_exit(self):
    _mount(self)
    self.call_after_refresh(self.exit)
app_module.FtuiApp.on_mount = _mount_then_exit
_run = app_module.FtuiApp.run
app_module.FtuiApp.run = lambda self, **kw: _run(self, headless=True)

from ftui.launch import main
sys.argv = ["ftui"]
main()
print(json.dumps(getattr(textual.app, "_first_frame_modules", None)))
"""

DEFERRED = (
    "pydantic",
    "pluggy",
    "click",
    "importlib.metadata",
    "ftui.model",
    "ftui.session",
    "ftui.plugins",
    "ftui.config",
    "ftui.cli",
)


def test_first_frame_of_plain_ftui_loads_no_pydantic_pluggy_or_click() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME_CHILD], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert modules, "no frame was painted"
    assert "ftui.tui.app" in modules
    assert [m for m in DEFERRED if m in modules] == []


def test_import_ftui_leaves_pluggy_out_but_hookimpl_still_importable() -> None:
    code = (
        "import sys, ftui\n"
        "before = 'pluggy' in sys.modules\n"
        "from ftui import hookimpl\n"
        "print(before, type(hookimpl).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "HookimplMarker"]


async def test_broken_config_shows_error_in_header_and_log_without_crash(
    tmp_path: Path, dataset_dir: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.main]\nprovider = "no-such-provider"\n', encoding="utf-8")
    app = FtuiApp(config_path=config, profile="main", folder=dataset_dir)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.sub_title.startswith("config error"))
        await wait_for(pilot, lambda: any("config.toml" in n.message for n in app._notifications))
        log = "\n".join(app.query_one("#app-log").lines)
        assert "error reading the config" in log and "config.toml" in log
        assert "Traceback" not in log


async def test_session_opens_after_first_frame_and_fills_the_header(
    tmp_path: Path, dataset_dir: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.main]\nprovider = "local"\n', encoding="utf-8")
    app = FtuiApp(config_path=config, folder=dataset_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.sub_title == "profile main · provider local")
        assert app.session.profile.name == "main"


def test_cli_with_broken_config_reports_it_before_taking_the_screen(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.main\n", encoding="utf-8")
    code = (
        "import sys\nfrom ftui.launch import main\n"
        f"sys.argv = ['ftui', '--config', {str(config)!r}]\nmain()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert out.returncode != 0
    assert "error: " in out.stderr and "config.toml:1" in out.stderr
    assert "Traceback" not in out.stderr
