"""Overview: every phase and procedure with its state and elapsed time, the gate, what's next."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warungin_tui.engine.lifecycle import RunState, run_state
from warungin_tui.engine.rules import Action, Refusal, run_refusal
from warungin_tui.outcome import PhaseStatus
from warungin_tui.screens.base import RunScreen
from warungin_tui.screens.messages import (
    AbandonRequested,
    NewRunRequested,
    RunChanged,
    StepChanged,
)
from warungin_tui.screens.prompt import TextPrompt, open_prompt
from warungin_tui.widgets.format import (
    PHASE_ICONS,
    PHASE_STYLES,
    hms,
    next_hint,
    phase_elapsed,
    steps_done,
    total_elapsed,
)
from warungin_tui.widgets.keys_footer import KeysFooter
from warungin_tui.widgets.run_bar import RunBar
from warungin_tui.widgets.step_list import Row, RowList, group_header


class OverviewScreen(RunScreen):
    """Where the deployment stands at a glance; enter opens the selected phase."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "run_step",
            "Open",
            tooltip="Open the selected phase",
            id="warungin.overview.open",
        ),
        Binding(
            "e",
            "app.export",
            "Export",
            tooltip="Write the Markdown and JSON deployment log now",
            id="warungin.overview.export",
        ),
        Binding(
            "n",
            "next_phase",
            "Current phase",
            tooltip="Open the phase the run stands at",
            id="warungin.overview.current",
        ),
        Binding(
            "N",
            "new_run",
            "New run",
            tooltip="Start a new run (a new deployment) once this one ended",
            id="warungin.overview.new_run",
        ),
        Binding(
            "N",
            "explain('new_run')",
            "New run",
            show=False,
            tooltip="Explains why 'New run' does not apply now",
            id="warungin.overview.new_run.why",
        ),
        Binding(
            "X",
            "abandon",
            "Abandon",
            show=False,
            tooltip="End this run without deploying: it changed nothing on the host (asks why)",
            id="warungin.overview.abandon",
        ),
        Binding(
            "X",
            "explain('abandon')",
            "Abandon",
            show=False,
            tooltip="Explains why 'Abandon' does not apply now",
            id="warungin.overview.abandon.why",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="overview")

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        yield Static(
            Row(" ", "", "Phase / procedure", f"{'state':<11} {'steps':<5} {'elapsed':>7}"),
            id="phases-header",
        )
        yield RowList(id="phases")
        yield Static(id="summary")
        yield Static(id="next")
        yield KeysFooter()

    def on_mount(self) -> None:
        playbook = self.run.playbook
        options: list[Option] = [
            Option(self.row_for(p.id), id=p.id) for p in playbook.linear_phases
        ]
        options.append(group_header("Procedures, on demand"))
        options += [Option(self.row_for(p.id), id=p.id) for p in playbook.phases if p.procedure]
        phases = self.query_one(RowList)
        phases.add_options(options)
        phases.select_id(self.current_phase())
        phases.focus()
        self.refresh_bar()
        self.refresh_summary()
        self.set_interval(1.0, self._tick)

    def on_screen_resume(self) -> None:
        # Coming back from a phase: select the phase the run now stands at.
        if self.is_mounted:
            self.show_current()

    def show_current(self) -> None:
        self.query_one(RowList).select_id(self.current_phase())
        self.refresh_all()

    def current_phase(self) -> str:
        """Where the run stands; after a rollback, its incident report."""
        if run_state(self.run) == RunState.ROLLED_BACK:
            return "incident"
        return self.run.current_phase()

    # -- rendering ---------------------------------------------------------------------------
    def row_for(self, phase_id: str) -> Row:
        run = self.run
        phase = run.playbook.phase(phase_id)
        status = run.phase_status(phase_id)
        done, total = steps_done(run, phase_id)
        elapsed = phase_elapsed(run, phase_id, self.wizard.clock())
        words = str(status)
        if phase_id == "rollback" and status == PhaseStatus.NOT_STARTED:
            refused = run_refusal(run, Action.ROLLBACK)
            words = "ready (R)" if refused is None else "no backup"
            if refused is not None and run.rollback_available:
                words = "closed"  # the run ended: finished, abandoned
        state = f"{words:<11} {done:>2}/{total:<2} {hms(elapsed):>7}"
        return Row(PHASE_ICONS[status], PHASE_STYLES[status], phase.title, state)

    def refresh_row(self, phase_id: str) -> None:
        self.query_one(RowList).replace_option_prompt(phase_id, self.row_for(phase_id))

    def refresh_all(self) -> None:
        for phase in self.run.playbook.phases:
            self.refresh_row(phase.id)
        self.refresh_summary()
        self.refresh_bar()

    def refresh_summary(self) -> None:
        run = self.run
        current = run.playbook.phase(run.current_phase())
        done, total = steps_done(run, current.id)
        summary = Text("Target ", style="bold")
        summary.append(f"{run.target}   ")
        summary.append("Operator ", style="bold")
        summary.append(f"{run.operator}\n")
        summary.append("Total elapsed ", style="bold")
        summary.append(hms(total_elapsed(run, self.wizard.clock())))
        summary.append("   Current gate: ", style="bold")
        summary.append(f"{current.title} ({done}/{total} done)")
        if run.decision:
            summary.append(f"\nDecision: {run.decision['decision']}", style="bold")
            summary.append(f" by {run.decision['authorized_by']}")
        self.query_one("#summary", Static).update(summary)
        hint = Text("What next: ", style="bold")
        hint.append(next_hint(run))
        self.query_one("#next", Static).update(hint)

    def _tick(self) -> None:
        """Once a second: the clock-driven numbers (total time, running phases)."""
        for phase in self.run.playbook.phases:
            if self.run.phase_status(phase.id) == PhaseStatus.RUNNING:
                self.refresh_row(phase.id)
        self.refresh_summary()

    def on_step_changed(self, message: StepChanged) -> None:
        self.refresh_row(self.run.playbook.phase_of(message.step_id).id)
        self.refresh_row("rollback")  # a step may have captured the backup it needs
        self.refresh_summary()

    def on_run_changed(self, message: RunChanged) -> None:
        self.refresh_all()

    # -- keys --------------------------------------------------------------------------------
    def refusal(self, action: str) -> Refusal | None:
        if action == "run_step":
            if self.query_one(RowList).selected_id is None:
                return Refusal("Select a phase first (up/down).")
            return None
        if action == "next_phase":
            return None
        if action == "new_run":
            return run_refusal(self.run, Action.NEW_RUN)
        if action == "abandon":
            return self.wizard.refusal(action)  # the app's run keys: read-only, busy, rulebook
        if action == "overview":
            return Refusal("This is the overview: enter opens the selected phase.")
        return Refusal("Open a phase first: enter opens the selected one, n the current one.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_run", "abandon"):
            return self.refusal(action) is None
        return super().check_action(action, parameters)

    def action_new_run(self) -> None:
        self.post_message(NewRunRequested())

    def action_abandon(self) -> None:
        prompt = TextPrompt(
            "Abandon this run?",
            "It ends here without deploying: sealed, no longer offered for resume, and its log "
            "is exported. Nothing on the host changes. Why? (kept in the log; escape keeps the "
            "run)",
        )

        def abandon(reason: str) -> None:
            self.wizard.request(AbandonRequested(reason))  # a refusal is shown by the app

        open_prompt(self.app, prompt, abandon)

    def action_run_step(self) -> None:
        phase_id = self.query_one(RowList).selected_id
        if phase_id is not None:
            self.wizard.open_phase(phase_id)

    def action_next_phase(self) -> None:
        self.wizard.open_phase(self.current_phase())

    def action_cursor_down(self) -> None:
        self.query_one(RowList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(RowList).action_cursor_up()

    @on(OptionList.OptionHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()
