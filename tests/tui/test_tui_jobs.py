from __future__ import annotations

from support.tui_fakes import NOW, CannedProvider, canned_jobs, screen_text, wait_for

from ftui.model import Job
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.job_detail import JobDetailScreen
from ftui.tui.screens.job_form import FormError, JobFormScreen, build_spec
from ftui.tui.screens.jobs import job_matches
from ftui.tui.widgets.row_table import RowTable


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
