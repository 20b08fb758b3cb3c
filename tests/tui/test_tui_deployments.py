"""The Deployments view and deploy-from-a-job, by Pilot, against the example plugin's fake backend:
the hourly cost is shown and asked about before anything is created; delete asks too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.tui_fakes import screen_text, wait_for

from ftui import deployments as deps
from ftui.model import DeploySpec, JobSpec
from ftui.session import Session
from ftui.tui.app import FtuiApp
from ftui.tui.screens.confirm import ConfirmScreen
from ftui.tui.screens.deploy_form import DeployFormScreen, FormError, build_deploy_spec
from ftui.tui.screens.deployments import DeploymentsPane
from ftui.tui.screens.playground import PlaygroundPane
from ftui.tui.widgets.row_table import RowTable


def echo_provider() -> Any:
    return Session().provider()


async def test_deploy_a_jobs_model_after_seeing_its_hourly_cost_then_chat_with_it_and_delete_it(
    echo: Path,
) -> None:
    job = await echo_provider().create_job(
        JobSpec(base_model="echo-1", training_file="t.jsonl", suffix="pirate")
    )
    app = FtuiApp(Session(), poll_interval=0.2)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        table = app.query_one("#jobs-table", RowTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployFormScreen))
        form = app.screen
        assert form.query_one("#deploy-model").value == job.fine_tuned_model
        await wait_for(pilot, lambda: "$0.25/hour" in str(form.query_one("#deploy-cost").render()))
        form.query_one("#deploy-instance_type").value = "echo.large"
        await wait_for(pilot, lambda: "$1.00/hour" in str(form.query_one("#deploy-cost").render()))
        await pilot.press("ctrl+s")

        # Asked once more, with the price, and nothing exists until the answer is yes.
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "$1.00/hour" in app.screen.question and "billed every hour" in app.screen.question
        assert (await echo_provider().deployments()).items == []
        await pilot.press("y")

        pane = app.query_one(DeploymentsPane)
        assert app.active_view == "deployments"
        await wait_for(pilot, lambda: [d.status for d in pane.deployments] == ["creating"])
        await wait_for(pilot, lambda: [d.status for d in pane.deployments] == ["ready"], timeout=30)
        [deployment] = pane.deployments
        text = screen_text(app)
        assert deployment.id in text and "$1.00" in text and "ready" in text

        await pilot.press("enter")  # chat with the deployment, addressed by its id
        playground = app.query_one(PlaygroundPane)
        await wait_for(pilot, lambda: app.query_one("#model-a").value == deployment.id)
        app.query_one("#prompt").focus()
        await pilot.press(*"ahoy", "enter")
        await wait_for(pilot, lambda: len(playground.history["a"]) == 2)
        assert f"[{deployment.id}: {job.fine_tuned_model}]" in playground.history["a"][1].content

        app.show_view("deployments")  # (the prompt has focus: a typed 5 would go into it)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "cannot be undone" in app.screen.question
        await pilot.press("n")
        await pilot.pause(0.2)
        assert [d.status for d in pane.deployments] == ["ready"]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: pane.deployments == [], timeout=30)
        assert "no deployments" in str(app.query_one("#deployments-status").render())


async def test_saying_no_to_the_hourly_cost_creates_nothing(echo: Path) -> None:
    app = FtuiApp(Session(), poll_interval=0.2)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("5")
        pane = app.query_one(DeploymentsPane)
        await wait_for(pilot, lambda: pane.kind == "deploy")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployFormScreen))
        app.screen.query_one("#deploy-model").value = "echo-1"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: any("nothing was created" in n.message for n in app._notifications))
        assert (await echo_provider().deployments()).items == []


async def test_on_start_ftui_warns_about_deployments_it_created_that_still_bill(echo: Path) -> None:
    provider = echo_provider()
    created = await deps.deploy(provider, DeploySpec(model="echo-1"), confirmed=True)
    app = FtuiApp(Session(), poll_interval=0.2)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(
            pilot,
            lambda: any(
                f"deployment {created.id} (echo-1, profile echo)" in n.message and "$0.25/hour" in n.message
                for n in app._notifications
            ),
        )


async def test_a_provider_that_needs_no_deployment_says_so_in_the_view(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("5")
        pane = app.query_one(DeploymentsPane)
        await wait_for(pilot, lambda: pane.kind == "no_deploy_needed")
        assert "callable at once" in str(app.query_one("#deployments-status").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: any("callable at once" in n.message for n in app._notifications))
        assert not isinstance(app.screen, DeployFormScreen)


def test_the_deploy_form_names_the_field_it_rejects() -> None:
    for values, message in (
        ({"model": " "}, "model: required"),
        ({"model": "m", "capacity": "two"}, "capacity: expected a whole number"),
        ({"model": "m", "capacity": "0"}, "capacity: Input should be greater than or equal to 1"),
    ):
        try:
            build_deploy_spec(values)
        except FormError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(values)
    assert (
        build_deploy_spec({"model": "m", "instance_type": " ml.g5.xlarge "}).instance_type == "ml.g5.xlarge"
    )
