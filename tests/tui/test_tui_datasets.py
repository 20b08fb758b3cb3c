from __future__ import annotations

import json

from support.tui_fakes import CannedProvider, ready, screen_text, wait_for

from ftui.tui.screens.datasets import DatasetsPane
from ftui.tui.screens.line_view import LineViewScreen, read_lines

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}


def write_dataset(folder, name: str = "train.jsonl", bad_line: bool = True):
    lines = [json.dumps(GOOD)] * 12
    if bad_line:
        lines[4] = '{"messages": 3}'
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def open_datasets(pilot) -> DatasetsPane:
    await ready(pilot)
    await pilot.press("1")
    return pilot.app.query_one(DatasetsPane)


async def test_validation_lists_errors_with_line_numbers_and_token_stats(make_app, dataset_dir) -> None:
    write_dataset(dataset_dir)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_datasets(pilot)
        assert list(pane.paths) == ["train.jsonl"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.report is not None, timeout=60)  # the helper may be starting
        errors = app.query_one("#ds-errors")
        lines = [errors.get_row_at(i)[0] for i in range(errors.row_count)]
        assert "5" in lines
        text = screen_text(app)
        assert "errors" in text and "tokens" in text and "gpt-4o-mini" in text


async def test_enter_on_an_error_shows_that_line_of_the_file(make_app, dataset_dir) -> None:
    write_dataset(dataset_dir)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_datasets(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.report is not None, timeout=60)  # the helper may be starting
        errors = app.query_one("#ds-errors")
        row = next(i for i in range(errors.row_count) if errors.get_row_at(i)[0] == "5")
        errors.focus()
        errors.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LineViewScreen))
        assert app.screen.line == 5
        assert '{"messages": 3}' in screen_text(app)


def test_read_lines_returns_the_line_with_its_neighbours(tmp_path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text("".join(f"line {i}\n" for i in range(1, 11)))
    assert read_lines(path, 5, 1) == [(4, "line 4"), (5, "line 5"), (6, "line 6")]
    assert read_lines(path, 1, 2)[0] == (1, "line 1")


async def test_upload_shows_progress_and_same_file_is_not_uploaded_twice(make_app, dataset_dir) -> None:
    write_dataset(dataset_dir, bad_line=False)
    provider = CannedProvider()
    app = make_app(provider)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_datasets(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: len(provider.uploads) == 1)
        await wait_for(
            pilot, lambda: any("uploaded train.jsonl as file-1" in n.message for n in app._notifications)
        )
        await pilot.press("u")
        await wait_for(
            pilot, lambda: any("already uploaded as file-1" in n.message for n in app._notifications)
        )
        assert len(provider.uploads) == 1
        row = app.session.store.uploaded(
            "local", __import__("hashlib").sha256((dataset_dir / "train.jsonl").read_bytes()).hexdigest()
        )
        assert row["file_id"] == "file-1"


async def test_train_key_opens_job_form_with_the_uploaded_file(make_app, dataset_dir) -> None:
    write_dataset(dataset_dir, bad_line=False)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_datasets(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: any("as file-1" in n.message for n in app._notifications))
        await pilot.press("1", "t")
        await wait_for(pilot, lambda: app.screen.query("#training_file"))
        assert app.screen.query_one("#training_file").value == "file-1"


async def test_convert_writes_a_chat_copy_beside_the_file_and_lists_it(make_app, dataset_dir) -> None:
    legacy = dataset_dir / "legacy.jsonl"
    legacy.write_text(
        "".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n" for i in range(12)),
        encoding="utf-8",
    )
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        pane = await open_datasets(pilot)
        await pilot.press("c")
        out = dataset_dir / "legacy.chat.jsonl"
        await wait_for(pilot, lambda: "legacy.chat.jsonl" in pane.paths)
        first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
        assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
        assert legacy.read_text(encoding="utf-8").count("\n") == 12  # the input is untouched


async def test_split_makes_train_and_valid_files_and_lists_them(make_app, dataset_dir) -> None:
    write_dataset(dataset_dir, bad_line=False)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        pane = await open_datasets(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: len(pane.paths) == 3)
        made = sorted(p for p in pane.paths if p != "train.jsonl")
        total = sum((dataset_dir / p).read_text(encoding="utf-8").count("\n") for p in made)
        assert total == 12


def test_an_empty_folder_offers_the_shipped_sample_datasets(tmp_path) -> None:
    from ftui.data.samples import sample_path
    from ftui.tui.screens.datasets import find_datasets

    assert find_datasets(tmp_path, []) == [sample_path("supervised"), sample_path("dpo")]
    (tmp_path / "mine.jsonl").write_text("{}\n")
    assert find_datasets(tmp_path, []) == [tmp_path / "mine.jsonl"]


def test_files_outside_the_folder_get_short_names(tmp_path) -> None:
    from pathlib import Path

    from ftui.data.samples import sample_path
    from ftui.tui.screens.datasets import display_name

    assert display_name(sample_path(), tmp_path) == "sample/pirate_chat.jsonl"
    assert display_name(tmp_path / "a" / "b.jsonl", tmp_path) == "a/b.jsonl"
    assert display_name(Path.home() / "x.jsonl", tmp_path) == "~/x.jsonl"


async def test_the_validation_helper_is_started_when_the_pane_is_first_shown(make_app, monkeypatch) -> None:
    from ftui.data import validate_process

    started: list[int] = []
    monkeypatch.setattr(validate_process.ValidationProcess, "warm", lambda self: started.append(1))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: bool(app.query(DatasetsPane)))  # built, not shown
        await pilot.pause()
        assert not started  # a session that never opens Datasets never starts it
        await pilot.press("1")
        await wait_for(pilot, lambda: bool(started))


async def test_validating_one_sample_keeps_the_other_listed(make_app) -> None:
    from ftui.data.samples import sample_path

    app = make_app()  # the dataset folder is empty: the two shipped samples are offered
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_datasets(pilot)
        assert sorted(pane.paths.values()) == sorted([sample_path("supervised"), sample_path("dpo")])
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.report is not None, timeout=60)  # the helper may be starting
        assert sorted(pane.paths.values()) == sorted([sample_path("supervised"), sample_path("dpo")])
        assert "2 JSONL files" in app.query_one("#ds-status").render().plain


async def test_the_file_count_is_singular_for_one_file(make_app, dataset_dir) -> None:
    write_dataset(dataset_dir)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_datasets(pilot)
        assert "1 JSONL file in" in app.query_one("#ds-status").render().plain
