from __future__ import annotations

import asyncio
import threading

import pytest
from support.tui_fakes import NOW, CannedProvider, canned_jobs, screen_text, wait_for

from ftui.errors import ProviderError
from ftui.model import Job
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.job_detail import JobDetailScreen
from ftui.tui.screens.job_form import FormError, JobFormScreen, build_spec
from ftui.tui.screens.jobs import job_matches
from ftui.tui.widgets.row_table import RowTable


@pytest.fixture(autouse=True)
def train_file(dataset_dir):
    """The canned jobs' training file, in the folder the app runs in (the form checks it exists)."""
    path = dataset_dir / "train.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    return path


async def test_jobs_table_lists_provider_jobs_with_status_and_models(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        row = table.get_row("ftjob-00001")
        assert str(row[1]) == "succeeded"
        assert row[6] == "ft:tiny-llama:demo-1"
        assert row[5] == "24.7k"
        assert row[4] == "6m30s"


async def test_live_refresh_keeps_cursor_on_the_same_job_when_new_jobs_arrive(make_app) -> None:
    provider = CannedProvider()
    app = make_app(provider)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("down", "down")
        assert table.current_key == "ftjob-00002"
        new = canned_jobs(1)[0].model_copy(update={"id": "ftjob-fresh", "created_at": NOW})
        provider._jobs.insert(0, new)
        provider.finish("ftjob-00000", "succeeded")
        await wait_for(pilot, lambda: table.row_count == 5)
        assert table.keys[0] == "ftjob-fresh"
        assert table.current_key == "ftjob-00002"
        await wait_for(pilot, lambda: str(table.get_row("ftjob-00000")[1]) == "succeeded")


async def test_slash_filters_rows_and_escape_clears(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("slash", *"fail", "enter")
        assert table.keys == ["ftjob-00002"]
        await pilot.press("escape")
        assert table.row_count == 4


def test_filter_is_a_case_insensitive_regex_and_bang_inverts() -> None:
    job = canned_jobs(3)[2]
    assert job_matches(job, "FAIL")
    assert job_matches(job, "ftjob-0000[0-9]")
    assert not job_matches(job, "!failed")
    assert job_matches(job, "[unclosed") is False


async def test_enter_opens_detail_with_hyperparameters_error_and_raw_object(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        assert app.screen.job.id == "ftjob-00002"
        shown = screen_text(app)
        assert "out of memory at step 12" in shown
        assert "learning_rate_multiplier" in shown
        assert "raw object" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, JobDetailScreen)


async def test_create_job_from_form_sends_spec_to_provider(make_app) -> None:
    provider = CannedProvider()
    app = make_app(provider)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        await wait_for(pilot, lambda: form.query_one("#base_model").value == "tiny-llama")
        form.query_one("#training_file").value = "train.jsonl"
        form.query_one("#n_epochs").value = "2"
        form.query_one("#suffix").value = "mine"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: provider.created)
        spec = provider.created[0]
        assert (spec.base_model, spec.training_file, spec.suffix) == ("tiny-llama", "train.jsonl", "mine")
        assert spec.hyperparameters.n_epochs == 2
        assert spec.hyperparameters.batch_size == "auto"
        await wait_for(pilot, lambda: "ftjob-new1" in table.keys)


async def test_form_error_names_the_field_and_keeps_the_form_open(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query_one("#jobs-table", RowTable).row_count == 4)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        await wait_for(pilot, lambda: form.query_one("#base_model").value == "tiny-llama")
        form.query_one("#training_file").value = "t.jsonl"
        form.query_one("#batch_size").value = "lots"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, JobFormScreen)
        assert "batch size" in str(form.query_one("#form-error").render())


def test_build_spec_accepts_auto_and_rejects_bad_numbers() -> None:
    spec = build_spec(
        {"training_file": "a.jsonl", "n_epochs": "auto", "learning_rate_multiplier": "0.5"}, "m", "dpo"
    )
    assert spec.method == "dpo" and spec.hyperparameters.learning_rate_multiplier == 0.5
    for values in (
        {"training_file": ""},
        {"training_file": "a", "seed": "x"},
        {"training_file": "a", "n_epochs": "-1"},
    ):
        try:
            build_spec(values, "m", "supervised")
        except FormError:
            continue
        raise AssertionError(f"accepted {values}")


async def test_clone_prefills_form_from_selected_job(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        assert form.query_one("#training_file").value == "train.jsonl"
        assert form.query_one("#n_epochs").value == "3"
        assert form.query_one("#seed").value == "7"


async def test_train_longer_opens_a_new_job_form_that_starts_from_the_fine_tuned_model(make_app) -> None:
    provider = CannedProvider()
    app = make_app(provider)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("t")  # the first row is still running: nothing to start from yet
        await wait_for(pilot, lambda: any("no fine-tuned model yet" in n.message for n in app._notifications))
        assert not isinstance(app.screen, JobFormScreen)
        await pilot.press("down", "t")  # ftjob-00001 succeeded
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        assert form.query_one("#init_from").value == "ft:tiny-llama:demo-1"
        assert form.query_one("#training_file").value == "train.jsonl"
        await wait_for(pilot, lambda: bool(form.query_one("#base_model").value))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(provider.created) == 1)
        assert provider.created[0].init_from == "ft:tiny-llama:demo-1"


async def test_cancel_asks_first_then_cancels(make_app) -> None:
    provider = CannedProvider()
    app = make_app(provider)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "ftjob-00000" in app.screen.question
        assert provider._jobs[0].status == "running"  # nothing is called until the answer
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: provider._jobs[0].status == "cancelled")
        await wait_for(pilot, lambda: str(table.get_row("ftjob-00000")[1]) == "cancelled")


async def test_provider_error_becomes_notification_and_log_line_not_a_crash(make_app) -> None:
    class Broken(CannedProvider):
        async def pause(self, job_id: str) -> Job:
            raise RuntimeError("backend exploded")

    app = make_app(Broken())
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("p")
        await wait_for(pilot, lambda: any("backend exploded" in n.message for n in app._notifications))
        assert "backend exploded" in "\n".join(app.query_one("#app-log").lines)
        assert app.is_running
        # The app still works: the next key is handled.
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))


class Preparing(CannedProvider):
    """A provider whose base model takes a while to prepare, reporting progress, until released."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.release = threading.Event()
        self.prepared: list[str] = []
        self.fail_with: str | None = None

    async def prepare_model(self, model: str, progress=None) -> None:  # type: ignore[no-untyped-def]
        self.prepared.append(model)
        for done in (0, 25, 50):
            if progress:
                progress(done, 100)
        await asyncio.to_thread(self.release.wait, 60)
        if self.fail_with:
            raise ProviderError(self.fail_with)


async def open_filled_form(pilot, app) -> JobFormScreen:
    table = app.query_one("#jobs-table", RowTable)
    await wait_for(pilot, lambda: table.row_count == 4)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
    form = app.screen
    await wait_for(pilot, lambda: form.query_one("#base_model").value == "tiny-llama")
    form.query_one("#training_file").value = "train.jsonl"
    return form


async def test_create_shows_model_preparation_at_once_and_a_second_press_does_nothing(make_app) -> None:
    provider = Preparing()
    app = make_app(provider)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_filled_form(pilot, app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "preparing tiny-llama" in str(form.query_one("#form-error").render()))
        assert form.query_one("#form-progress").display and form.query_one("#form-progress").progress == 50
        assert form.query_one("#create").disabled
        assert "new job: preparing tiny-llama" in app.query_one("#jobs-status").render().plain
        await pilot.press("ctrl+s")  # impatient
        await pilot.click("#create")
        assert provider.prepared == ["tiny-llama"] and app.screen is form
        provider.release.set()
        await wait_for(pilot, lambda: "ftjob-new1" in app.query_one("#jobs-table", RowTable).keys)
        assert not isinstance(app.screen, JobFormScreen)
        assert len(provider.created) == 1 and provider.prepared == ["tiny-llama"]


async def test_a_job_that_cannot_be_made_keeps_the_form_and_says_why(make_app) -> None:
    provider = Preparing()
    provider.fail_with = "training_file: line 3: not valid JSON"
    provider.release.set()
    app = make_app(provider)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_filled_form(pilot, app)
        form.query_one("#suffix").value = "mine"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "line 3: not valid JSON" in str(form.query_one("#form-error").render()))
        assert app.screen is form and not form.query_one("#create").disabled
        assert form.query_one("#suffix").value == "mine"  # nothing the user typed is lost
        provider.fail_with = None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(provider.created) == 1)


async def test_escape_while_the_job_is_made_leaves_the_form_and_the_job_is_still_made(make_app) -> None:
    provider = Preparing()
    app = make_app(provider)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_filled_form(pilot, app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: provider.prepared == ["tiny-llama"])
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
        status = app.query_one("#jobs-status")
        await wait_for(pilot, lambda: "new job: preparing tiny-llama" in status.render().plain)
        provider.release.set()
        await wait_for(pilot, lambda: "ftjob-new1" in app.query_one("#jobs-table", RowTable).keys)
        await wait_for(pilot, lambda: "new job" not in status.render().plain)


async def test_a_training_file_that_does_not_exist_is_caught_before_anything_runs(make_app) -> None:
    provider = Preparing()
    app = make_app(provider)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_filled_form(pilot, app)
        form.query_one("#training_file").value = "missing.jsonl"
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: "missing.jsonl is not a file" in str(form.query_one("#form-error").render())
        )
        assert provider.prepared == [] and not form.submitting
        form.query_one("#training_file").value = "train.jsonl"
        form.query_one("#validation_file").value = "1"  # typed into the wrong field
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: "validation file: 1 is not a file" in str(form.query_one("#form-error").render())
        )
        assert provider.prepared == []


async def test_the_job_count_is_singular_for_one_job(make_app) -> None:
    app = make_app(CannedProvider(jobs=canned_jobs(1)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query_one("#jobs-status").render().plain.startswith("1 job ·"))
