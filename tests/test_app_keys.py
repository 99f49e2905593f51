"""Issue 13: one meaning per key, names typed once, `n` goes on, and the small truths the
screens tell (quit on the start screen, the release after a rollback, what next after F)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from tests.app_fixtures import HEALTHY_RULES, make_app
from tests.fake_remote import FakeRemote
from tests.test_app import (
    SIZE,
    answer,
    engine_of,
    on_screen,
    open_gates,
    open_pre_with_checks_done,
    selected,
    start,
    status,
    text_of,
    until,
)
from warungin_tui.outcome import StepStatus
from warungin_tui.screens.base import release_running
from warungin_tui.widgets.format import next_hint
from warungin_tui.widgets.step_list import RowList


def footer_labels(app: object) -> dict[str, str]:
    """Key -> the label the footer shows for it (only the shown, enabled ones)."""
    screen = app.screen  # type: ignore[attr-defined]
    return {
        key: active.binding.description
        for key, active in screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


def row_text(app: object, step_id: str) -> str:
    rows = app.screen.query_one(RowList)  # type: ignore[attr-defined]
    return text_of_renderable(rows.get_option(step_id).prompt)


def text_of_renderable(renderable: object) -> str:
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_enter_says_what_it_does_and_a_signed_row_names_the_signer(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_pre_with_checks_done(pilot)
        run = engine_of(app).run
        assert footer_labels(app).get("space") == "Pass" and "m" in footer_labels(app)
        assert "enter" not in footer_labels(app)  # a manual check: nothing runs, nothing to sign
        app.screen.select_step("pre.tech_lead_signoff")
        await pilot.pause()
        assert footer_labels(app)["enter"] == "Sign"
        assert "m" not in footer_labels(app)  # a note goes with a check, not a signature
        await pilot.press("enter")
        await answer(pilot, "Tina Tech")
        assert run.results["pre.tech_lead_signoff"].value == {
            "name": "Tina Tech",
            "role": "Tech Lead",
        }
        assert "signed: Tina Tech" in row_text(app, "pre.tech_lead_signoff")
        assert "passed" not in row_text(app, "pre.tech_lead_signoff")
        app.screen.select_step("pre.on_call")
        await pilot.pause()
        assert footer_labels(app)["enter"] == "Answer"
        app.screen.select_step("pre.zero_critical")
        await pilot.pause()
        await pilot.press("space")  # a check: passes, asks nothing
        assert app.screen.id == "phase-pre"
        assert status(app, "pre.zero_critical") == StepStatus.PASSED
        await pilot.press("m")  # the next check, with a note on what was seen
        await answer(pilot, "Jira shows none")
        assert run.results["pre.zero_high"].status == StepStatus.PASSED
        assert run.results["pre.zero_high"].note == "Jira shows none"
        # Phase 1's steps: enter runs there, and the footer says so
        open_gates(app, "pre")
        app.open_phase("phase1")
        await on_screen(pilot, "phase-phase1")
        assert footer_labels(app)["enter"] == "Run"
        assert "space" not in footer_labels(app) and "m" not in footer_labels(app)


async def test_a_name_given_for_a_role_is_offered_where_that_role_signs_again(
    tmp_path: Path,
) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        run = engine_of(app).run
        engine_of(app).sign_off("pre.tech_lead_signoff", "Tina Tech")
        open_gates(app, "pre", "phase1", "phase2", "phase3", "smoke", "report")
        app.open_phase("completion", "completion.tech_lead")
        await on_screen(pilot, "phase-completion")
        await pilot.press("enter")
        await on_screen(pilot, "prompt")
        assert app.screen.query_one(Input).value == "Tina Tech"  # typed once, offered again
        await pilot.press("enter")  # accepted as offered: no typing
        await until(pilot, lambda: app.screen.id == "phase-completion")
        assert run.results["completion.tech_lead"].value == {
            "name": "Tina Tech",
            "role": "Tech Lead",
        }
        assert run.results["completion.tech_lead"].entered_by == "Ana Operator"
        assert selected(app) == "completion.ops_lead"
        await pilot.press("enter")
        await on_screen(pilot, "prompt")
        assert app.screen.query_one(Input).value == ""  # nobody signed as Ops Lead yet
        await pilot.press("escape")


async def test_n_opens_the_next_phase_and_runs_it_but_never_retries(tmp_path: Path) -> None:
    """`n` goes on: the next phase opens and its automated steps start (as `a` would); a phase
    where a step ran already (here: the build failed) is only shown, never retried by `n`."""
    remote = FakeRemote(rules=[("docker compose build", 1, "npm ERR! build failed\n")])
    remote.rules += HEALTHY_RULES
    app, remote = make_app(tmp_path, remote)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        run = engine_of(app).run
        open_gates(app, "pre", "phase1")
        app.open_phase("phase1")
        await on_screen(pilot, "phase-phase1")
        await pilot.press("n")  # the gate of Phase 1 holds (overridden): on to Phase 2
        await until(pilot, lambda: run.status("phase2.build") == StepStatus.FAILED, timeout=30)
        await until(pilot, lambda: not app.step_workers())
        assert run.status("phase2.pull") == StepStatus.PASSED  # it ran by itself
        builds = sum("docker compose build" in c for c in remote.commands)
        assert builds == 1
        app.show_overview()
        await on_screen(pilot, "overview")
        app.open_phase("phase1")
        await on_screen(pilot, "phase-phase1")
        await pilot.press("n")
        await on_screen(pilot, "phase-phase2")
        await pilot.pause()
        assert not app.step_workers()
        assert sum("docker compose build" in c for c in remote.commands) == builds


async def test_start_screen_shows_quit_and_the_scenario_and_q_types(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    app.demo_scenario = "healthy: Everything works."
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, "start")
        info = text_of(app.screen.query_one("#start-info", Static))
        assert "Demo" in info and "healthy: Everything works." in info
        labels = footer_labels(app)
        assert labels.get("ctrl+q") == "Quit"  # the way out is on screen ...
        assert "q" not in labels  # ... and q, a letter of a name, is not offered
        field = app.screen.query_one("#operator", Input)
        field.value = ""
        await pilot.press("q", "u", "i", "n", "n")
        assert field.value == "quinn"
        assert app.screen.id == "start"
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None)


def test_header_release_follows_a_rollback(tmp_path: Path) -> None:
    from tests.app_fixtures import make_config
    from warungin_tui.engine.engine import Engine

    engine = Engine.start_new(
        make_config(tmp_path), tmp_path / "journals", operator="Ana", remote=FakeRemote(rules=[])
    )
    run = engine.run
    assert release_running(run) == "1.1.0"
    run.values["pre_version"] = "1.0.0"
    run.rollbacks.append({"ok": False})
    assert release_running(run) == "1.1.0"  # a rollback under way restored nothing yet
    run.rollbacks[-1]["ok"] = True
    assert release_running(run) == "1.0.0 (rolled back)"


def test_what_next_after_finish_knows_the_export(tmp_path: Path) -> None:
    from tests.app_fixtures import make_config
    from warungin_tui.engine.engine import Engine

    engine = Engine.start_new(
        make_config(tmp_path), tmp_path / "journals", operator="Ana", remote=FakeRemote(rules=[])
    )
    run = engine.run
    run.finished_at = "2025-01-01T02:00:00.000+00:00"
    assert "export the log (e)" in next_hint(run)
    run.exported_at = "2025-01-01T01:59:00.000+00:00"  # before the finish: still to export
    assert "export the log (e)" in next_hint(run)
    run.exported_at = "2025-01-01T02:00:01.000+00:00"
    hint = next_hint(run)
    assert "exported" in hint and "(e)" not in hint and "q quits" in hint


async def test_after_finish_and_export_what_next_says_quit(tmp_path: Path) -> None:
    from warungin_tui.screens.messages import FinishRequested

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        run = engine_of(app).run
        hint = text_of(app.screen.query_one("#next", Static))
        engine_of(app).decide("HOLD FOR REVIEW", authorized_by="Pat Product", effective_at="")
        assert app.request(FinishRequested())  # F, y: the run is sealed and exported
        await until(pilot, lambda: run.finished_at is not None and run.exported_at is not None)
        await until(pilot, lambda: text_of(app.screen.query_one("#next", Static)) != hint)
        hint = text_of(app.screen.query_one("#next", Static))
        assert "log exported; q quits" in hint and "export the log (e)" not in hint


async def test_a_key_typed_right_after_a_prompts_enter_acts_on_the_next_row(
    tmp_path: Path,
) -> None:
    """A fast typist answers a sign-off and passes the next check without waiting for the
    screen ("Putri PM⏎ "): the space reached the dialog's field and was lost there; now it is
    handed on once the answer is in and the cursor has moved to the next row."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pre_with_checks_done(pilot)
        app.screen.select_step("pre.pm_signoff")
        await pilot.pause()
        await pilot.press("enter")
        await on_screen(pilot, "prompt")
        app.screen.query_one(Input).value = "Putri PM"
        app.simulate_key("enter")  # both keys queued at once, as a fast typist's reach a
        app.simulate_key("space")  # terminal: space arrives while the dialog is still up
        await until(pilot, lambda: status(app, "pre.zero_critical") != StepStatus.PENDING)
        assert app.engine is not None
        assert app.engine.run.results["pre.pm_signoff"].value == {
            "name": "Putri PM",
            "role": "Product Manager",
        }
        assert status(app, "pre.zero_critical") == StepStatus.PASSED
        assert app.screen.id == "phase-pre"  # no prompt opened again on the signed row


async def test_keys_typed_after_a_refused_enter_go_back_into_the_field(tmp_path: Path) -> None:
    """An empty answer is refused: what was typed after enter lands in the field, in order,
    and escape still closes the dialog (no key is kept waiting)."""
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pre_with_checks_done(pilot)
        await pilot.press("x")  # fail the selected check: a reason is required
        await on_screen(pilot, "prompt")
        prompt = app.screen
        field = prompt.query_one(Input)
        assert field.value == ""
        for key in ("enter", "o", "k"):  # typed at once
            app.simulate_key(key)
        await until(pilot, lambda: field.value == "ok")
        assert prompt.query_one("#prompt-error", Static).display  # told why
        assert app.screen is prompt
        await pilot.press("escape")
        await on_screen(pilot, "phase-pre")
        assert status(app, "pre.smoke_test") == StepStatus.PENDING  # nothing recorded
