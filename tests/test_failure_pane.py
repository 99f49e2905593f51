"""A failed step explains itself in place (issue 13): evidence lines, the rulebook's recovery
actions and the rollback offer, the output pane (wrapped, one key to focus, `v` full screen),
toasts held while a dialog is open, and the detail pane beside the list on wide terminals.

Scripted runs (FakeRemote, mocked HTTP); the real-target scenarios are in test_app_failures.py.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input
from textual.widgets._toast import Toast

from tests.app_fixtures import make_app
from tests.test_app import SIZE, Recorder, info_text, on_screen, until
from tests.test_app_snapshots import fail_the_build, finished, script_run
from warungin_tui.app import WarunginApp
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.evidence import failure_evidence
from warungin_tui.engine.rules import Action, recovery_actions, rollback_offer_refusal
from warungin_tui.engine.run import StepResult
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import build_playbook
from warungin_tui.screens.confirm import ConfirmScreen
from warungin_tui.screens.output_view import OutputView, matching
from warungin_tui.widgets.output_log import OutputLog
from warungin_tui.widgets.step_list import RowList


def result_with(lines: list[str], detail: str, stream: str = "stdout") -> StepResult:
    result = StepResult("x", StepStatus.FAILED, detail=detail)
    result.add_output(stream, list(lines))
    return result


# -- evidence -------------------------------------------------------------------------------------
def test_evidence_is_buildkits_quoted_cause_and_the_error_lines() -> None:
    lines = [
        "#12 [frontend 3/5] RUN npm run build",
        "#12 0.412 > vite build",
        '#12 2.881 src/pages/Shift.tsx (42:17): "useShiftCache" is not exported',
        '#12 ERROR: process "/bin/sh -c npm run build" did not complete successfully',
        "------",
        " > [frontend 3/5] RUN npm run build:",
        '2.881 src/pages/Shift.tsx (42:17): "useShiftCache" is not exported',
        "------",
        'failed to solve: process "/bin/sh -c npm run build" did not complete successfully',
    ]
    detail = (
        'exit code 1 (expected 0) failed to solve: process "/bin/sh -c npm run build" did not '
        "complete successfully"
    )
    evidence = failure_evidence(result_with(lines, detail))
    assert evidence == [
        '#12 ERROR: process "/bin/sh -c npm run build" did not complete successfully',
        "> [frontend 3/5] RUN npm run build:",
        '2.881 src/pages/Shift.tsx (42:17): "useShiftCache" is not exported',
    ]  # the last line is left out: the detail quotes it in full


def test_evidence_is_the_line_a_parser_judged() -> None:
    lines = ["1700000000.0 52428 /srv/backups/db/warungin-0101.sql.gz", "now 1700259200"]
    detail = "newest dump warungin-0101.sql.gz is 72.0 h old, older than the 24 h limit"
    # no error words, no quoted line: the last lines are what the check read
    assert failure_evidence(result_with(lines, detail)) == lines
    assert failure_evidence(result_with([], detail)) == []
    only_the_detail = result_with(["exit code 1: no such file"], "exit code 1: no such file")
    assert failure_evidence(only_the_detail) == []


def test_evidence_names_errors_from_stderr_first_and_stays_short() -> None:
    result = result_with([f"line {i}" for i in range(50)], "exit code 2 (expected 0)")
    result.add_output("stderr", [f"ERROR: broken {i}" for i in range(10)])
    evidence = failure_evidence(result)
    assert evidence == [f"ERROR: broken {i}" for i in range(4)]


# -- the rulebook: what may follow a failure ----------------------------------------------------
def test_rollback_is_offered_only_for_a_real_failure_after_the_backup(tmp_path: Path) -> None:
    from tests.app_fixtures import make_config

    config = make_config(tmp_path)
    engine = Engine.start_new(config, tmp_path / "journals", operator="Ana Operator")
    run = engine.run
    # before the backup: a failed pre-check offers retry and override, no rollback
    finished(engine, "pre.db_backups_recent", "failed", detail="newest dump is 72.0 h old")
    assert rollback_offer_refusal(run, "pre.db_backups_recent") is not None
    assert recovery_actions(run, "pre.db_backups_recent") == [Action.RETRY, Action.OVERRIDE_STEP]
    script_run(engine)  # Phase 1 with its backup, Phase 2 failed at the build
    fail_the_build(engine)
    assert rollback_offer_refusal(run, "phase2.build") is None
    assert recovery_actions(run, "phase2.build") == [
        Action.RETRY,
        Action.OVERRIDE_STEP,
        Action.ROLLBACK,
    ]
    # busy: nothing may be retried meanwhile, nor rolled back
    assert recovery_actions(run, "phase2.build", busy="Step X") == [Action.OVERRIDE_STEP]
    # an interrupted step is not a failed release: reconnect first, no rollback offer
    finished(engine, "phase2.build", "interrupted", detail="connection lost; outcome unknown")
    refusal = rollback_offer_refusal(run, "phase2.build")
    assert refusal is not None and "interrupted, not failed" in refusal.reason
    assert recovery_actions(run, "phase2.build") == [Action.RETRY, Action.OVERRIDE_STEP]
    finished(engine, "phase2.build", "passed", detail="built")
    assert recovery_actions(run, "phase2.build") == []
    assert build_playbook(config).step("phase2.build").on_fail


# -- the pane, the output, the toasts --------------------------------------------------------
async def open_failed_build(pilot: Pilot, app: WarunginApp) -> None:
    await pilot.press("enter")
    await on_screen(pilot, "overview")
    assert app.engine is not None
    script_run(app.engine)
    fail_the_build(app.engine)
    app.open_phase("phase2", "phase2.build")
    await on_screen(pilot, "phase-phase2")


async def test_failed_step_pane_and_output_keys(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_failed_build(pilot, app)
        text = " ".join(info_text(app).split())
        assert "Failed: exit code 1 (expected 0) failed to solve" in text
        assert "Evidence (v shows all): npm ERR! code ERESOLVE" in text
        assert "What to do: Read the build error" in text
        assert "Next: r: retry · o: go on despite it, with a reason · R: roll back" in text
        # one key focuses the output pane (the step list has the focus)
        assert isinstance(app.focused, RowList)
        await pilot.press("tab")
        assert isinstance(app.focused, OutputLog) and app.focused.id == "output"
        await pilot.press("tab")
        assert not isinstance(app.focused, OutputLog)
        # v: the whole output full-screen; / searches; escape clears, then closes
        await pilot.press("v")
        await on_screen(pilot, "output-view")
        view = app.screen
        assert isinstance(view, OutputView) and len(view.shown) == 11
        await pilot.press("slash", *"npm err", "enter")
        assert view.shown == ["npm ERR! code ERESOLVE"]
        assert isinstance(app.focused, OutputLog)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press("escape")
        assert len(view.shown) == 11 and app.screen is view
        await pilot.press("escape")
        await on_screen(pilot, "phase-phase2")


def test_search_keeps_the_lines_containing_the_text_ignoring_case() -> None:
    assert matching(["a Npm b", "c"], "npm") == ["a Npm b"]
    assert matching(["a", "b"], "  ") == ["a", "b"]


async def test_output_pane_wraps_long_lines(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await on_screen(pilot, "overview")
        assert app.engine is not None
        script_run(app.engine)
        long_line = "ERROR " + "x" * 150 + " END"
        finished(
            app.engine, "phase2.branch", "failed", lines=[long_line], detail="bad", exit_code=1
        )
        app.open_phase("phase2", "phase2.branch")
        await on_screen(pilot, "phase-phase2")
        log = app.screen.query_one("#output", OutputLog)
        await until(pilot, lambda: len(log.lines) >= 2)
        rendered = ["".join(seg.text for seg in strip) for strip in log.lines]
        assert "".join(line.strip() for line in rendered).endswith("END")  # nothing cut
        assert max(len(line.rstrip()) for line in rendered) <= log.size.width


async def test_toasts_wait_while_a_dialog_is_open(tmp_path: Path) -> None:
    notes = Recorder()
    app, _ = make_app(tmp_path)
    # notifications=True: Pilot renders no toasts otherwise, and this test is about them
    async with app.run_test(size=SIZE, message_hook=notes, notifications=True) as pilot:
        await open_failed_build(pilot, app)
        app.notify("an old toast", title="Old")
        await until(pilot, lambda: bool(app.screen.query(Toast)))
        app.push_screen(ConfirmScreen("Sure?", "A question."))
        await until(pilot, lambda: isinstance(app.screen, ModalScreen))
        await pilot.pause()
        assert not app.screen.query(Toast)  # cleared when the dialog opened
        app.notify("said meanwhile", title="Later")
        await pilot.pause()
        assert not app.screen.query(Toast) and not notes.has("said meanwhile")
        await pilot.press("n")
        await on_screen(pilot, "phase-phase2")
        await until(pilot, lambda: notes.has("said meanwhile"))
        await until(pilot, lambda: bool(app.screen.query(Toast)))


async def test_wide_terminal_puts_the_detail_beside_the_list(tmp_path: Path) -> None:
    for size, beside in (((160, 48), True), ((80, 24), False), ((60, 20), False)):
        app, _ = make_app(tmp_path / f"{size[0]}")
        async with app.run_test(size=size) as pilot:
            await open_failed_build(pilot, app)
            steps = app.screen.query_one("#steps").region
            detail = app.screen.query_one("#detail").region
            if beside:
                assert detail.x >= steps.right and detail.y == steps.y, (steps, detail)
                assert detail.height > 40  # the whole height, not a strip under the list
            else:
                assert detail.y >= steps.bottom and detail.x == steps.x, (steps, detail)
            text = " ".join(info_text(app).split())
            assert "R: roll back" in text
            # every row of the phase stays reachable: the cursor gets to the last one
            last = app.screen.phase.steps[-1].id
            rows = app.screen.query_one(RowList)
            for _ in range(20):
                if rows.selected_id == last:
                    break
                await pilot.press("down")
            assert rows.selected_id == last
