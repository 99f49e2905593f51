"""Base classes of the run screens: the key contract, why a key does not apply, step intents.

Screens never decide gates or outcomes: they ask the engine (through the app's intents) and
show what it says. `why_not` only chooses which keys the footer shows and what a key pressed
at the wrong time explains; the engine still refuses anything it does not allow.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.screen import Screen

from warungin_tui.playbook import StepKind, StepSpec
from warungin_tui.run import BAD, GATE_OK, Run, StepStatus
from warungin_tui.screens.keys import MOVE_BINDINGS, STEP_BINDINGS, explain_bindings
from warungin_tui.screens.messages import RunChanged, StepChanged
from warungin_tui.screens.prompt import ChoicePrompt, TextPrompt
from warungin_tui.widgets.format import steps_done
from warungin_tui.widgets.run_bar import RunBar
from warungin_tui.widgets.step_list import RowList

if TYPE_CHECKING:
    from warungin_tui.app import WarunginApp
    from warungin_tui.engine import Engine

STEP_ACTIONS = frozenset(b.action for b in STEP_BINDINGS)


class RunScreen(Screen[None]):
    """A screen showing part of the run; every contract key is bound, applicable or not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *STEP_BINDINGS,
        *MOVE_BINDINGS,
        *explain_bindings(STEP_BINDINGS),
    ]
    phase_id: str | None = None

    @property
    def wizard(self) -> WarunginApp:
        return cast("WarunginApp", self.app)

    @property
    def engine(self) -> Engine:
        return self.wizard.require_engine()

    @property
    def run(self) -> Run:
        return self.engine.run

    def wants(self, message_type: type[Message], step_id: str | None) -> bool:
        """Whether the app should post this kind of message here (output only where shown)."""
        return message_type in (StepChanged, RunChanged)

    # -- the top bar -------------------------------------------------------------------------
    def bar_left(self) -> Text:
        return Text("Overview", style="bold")

    def refresh_bar(self) -> None:
        run = self.run
        right = Text(f"release {run.release}")
        if self.engine.read_only:
            right = Text("READ-ONLY  ", style="bold yellow") + right
        self.query_one(RunBar).show(self.bar_left(), right)

    # -- keys --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in STEP_ACTIONS:
            return self.why_not(action) is None
        return True

    def why_not(self, action: str) -> str | None:
        """None when `action` applies now, else the sentence a key press explains."""
        return "Not on this screen: open a phase first (enter on the overview)."

    def action_explain(self, action: str) -> None:
        reason = self.why_not(action) or "That key does nothing here."
        self.notify(reason, title="Not now", severity="warning")

    # Textual calls these handlers for every class in the MRO: subclasses add their own
    # handlers and must not call super() (it would run twice).
    def on_step_changed(self, message: StepChanged) -> None:
        self.refresh_bar()
        self.refresh_bindings()

    def on_run_changed(self, message: RunChanged) -> None:
        self.refresh_bar()
        self.refresh_bindings()


class StepScreen(RunScreen):
    """A run screen with a selected step: the step keys of the contract act on it."""

    def selected_spec(self) -> StepSpec | None:
        step_id = self.query_one(RowList).selected_id
        return None if step_id is None else self.run.playbook.step(step_id)

    def select_step(self, step_id: str) -> None:
        self.query_one(RowList).select_id(step_id)

    def advance(self) -> None:
        """After an answer, jump to the next step that still needs one (checklist rhythm):
        rows already passed by automation are skipped, so `space` keeps ticking."""
        assert self.phase_id is not None
        steps = [s.id for s in self.run.playbook.phase(self.phase_id).steps]
        current = self.query_one(RowList).selected_id
        start = steps.index(current) + 1 if current in steps else 0
        for step_id in steps[start:] + steps[:start]:
            if self.run.status(step_id) not in GATE_OK:
                self.select_step(step_id)
                return
        self.query_one(RowList).action_cursor_down()

    def action_cursor_down(self) -> None:
        self.query_one(RowList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(RowList).action_cursor_up()

    def bar_left(self) -> Text:
        assert self.phase_id is not None
        run = self.run
        phase = run.playbook.phase(self.phase_id)
        done, total = steps_done(run, phase.id)
        text = Text(phase.title, style="bold")
        text.append(f"  {done}/{total}")
        blocking = run.blocking_phase(phase.id)
        if phase.procedure:
            text.append(f" · {run.phase_status(phase.id)}", style="dim")
        elif blocking is not None:
            text.append(f" · waits for {run.playbook.phase(blocking).title}", style="yellow")
        elif run.gate_holds(phase.id):
            text.append(" · gate open", style="green")
        else:
            text.append(" · gate closed", style="yellow")
        return text

    def wants(self, message_type: type[Message], step_id: str | None) -> bool:
        if message_type in (StepChanged, RunChanged):
            return True
        return step_id is not None and self._in_phase(step_id)

    def _in_phase(self, step_id: str) -> bool:
        return self.run.playbook.phase_of(step_id).id == self.phase_id

    # -- which keys apply --------------------------------------------------------------------
    def why_not(self, action: str) -> str | None:
        run = self.run
        assert self.phase_id is not None
        phase = run.playbook.phase(self.phase_id)
        if action == "overview":
            return None
        if action == "next_phase":
            return self.why_not_next()
        if self.engine.read_only:
            return self.engine.read_only  # another process has the run open: look only
        if action == "override_gate":
            if run.gate_holds(phase.id):
                return f"The gate of {phase.title} already holds: nothing to override."
            return None
        busy = self.wizard.busy_step()
        if busy and action in ("run_step", "retry", "run_all"):
            return f"{busy} is running: wait for it to finish."
        if action == "run_all" and run.blocking_phase(phase.id) is None:
            if any(s.automated and run.status(s.id) not in GATE_OK for s in phase.steps):
                return None
            return f"No automated step of {phase.title} is left to run."
        blocking = run.blocking_phase(phase.id)
        if blocking is not None:
            return (
                f"Gate closed: {run.playbook.phase(blocking).title} is not complete "
                "(pass or override its steps, or override its gate with O there)."
            )
        spec = self.selected_spec()
        if spec is None:
            return "Select a step first (up/down)."
        return step_why_not(run, spec, action)

    def why_not_next(self) -> str | None:
        run = self.run
        assert self.phase_id is not None
        phase = run.playbook.phase(self.phase_id)
        if phase.procedure:
            return f"{phase.title} is a procedure, not a phase in order: escape goes back."
        following = self.next_phase_id()
        if following is None:
            return f"{phase.title} is the last phase: export the log (e) when done."
        if run.gate_holds(phase.id):
            return None
        open_steps = [s.title for s in phase.steps if run.status(s.id) not in GATE_OK]
        shown = "; ".join(open_steps[:2]) + ("; ..." if len(open_steps) > 2 else "")
        return (
            f"Gate closed: {len(open_steps)} step(s) of {phase.title} still open ({shown}). "
            "Finish them, or override the gate with a reason (O)."
        )

    def next_phase_id(self) -> str | None:
        linear = [p.id for p in self.run.playbook.linear_phases]
        if self.phase_id not in linear:
            return None
        index = linear.index(self.phase_id)
        return linear[index + 1] if index + 1 < len(linear) else None

    # -- intents -----------------------------------------------------------------------------
    def action_overview(self) -> None:
        self.wizard.show_overview()

    def action_next_phase(self) -> None:
        following = self.next_phase_id()
        if following is not None:
            self.wizard.open_phase(following)

    def action_run_all(self) -> None:
        assert self.phase_id is not None
        self.wizard.run_all(self.phase_id)

    def action_run_step(self) -> None:
        spec = self.selected_spec()
        if spec is None:
            return
        if spec.automated:
            self.wizard.run_step(spec.id)
        elif spec.kind == StepKind.SIGNOFF:
            self._ask_signoff(spec)
        elif spec.kind == StepKind.INPUT:
            self._ask_input(spec)
        elif spec.kind == StepKind.DECISION:
            self.wizard.open_phase("golive")

    def ask(
        self,
        prompt: TextPrompt | ChoicePrompt,
        then: Callable[[str], bool],
        *,
        advance: bool = False,
    ) -> None:
        """Open a prompt; with an answer (not escape), call the intent `then`.

        `advance`: move the cursor on when the intent was accepted (checklist rhythm).
        """

        def answered(answer: str | None) -> None:
            if answer is not None and then(answer) and advance:
                self.advance()

        self.app.push_screen(prompt, answered)

    def action_tick(self) -> None:
        spec = self.selected_spec()
        if spec is None:
            return
        if spec.kind != StepKind.MANUAL:
            self.action_run_step()  # sign-offs and inputs: "tick" means answer it
            return
        tick = partial(self.wizard.act, self.engine.tick, spec.id, passed=True)
        if spec.url_to_open:
            # Browser checks keep what the operator saw: an optional note (enter skips it).
            prompt = TextPrompt(
                f"Passed: {spec.title}",
                "A note on what you saw (optional; enter to skip).",
                required=False,
            )
            self.ask(prompt, lambda note: tick(note=note), advance=True)
        elif tick(note=""):
            self.advance()

    def action_fail(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.ask(
                TextPrompt(f"Failed: {spec.title}", "What is wrong? (kept in the log)"),
                lambda note: self.wizard.act(self.engine.tick, spec.id, passed=False, note=note),
            )

    def action_skip(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.ask(
                TextPrompt(f"Skip: {spec.title}", "Why is it skipped? (kept in the log)"),
                partial(self.wizard.act, self.engine.skip, spec.id),
            )

    def action_retry(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.wizard.run_step(spec.id, reconnect=True)

    def action_override_step(self) -> None:
        spec = self.selected_spec()
        if spec is None:
            return
        result = self.run.results[spec.id]
        prompt = TextPrompt(
            f"Override: {spec.title}",
            f"It {result.status}: {result.detail}\nWhy is it safe to go on? (kept in the log)",
        )
        self.ask(prompt, partial(self.wizard.act, self.engine.override_step, spec.id))

    def action_override_gate(self) -> None:
        assert self.phase_id is not None
        phase = self.run.playbook.phase(self.phase_id)
        prompt = TextPrompt(
            f"Override the gate of {phase.title}",
            "Steps are still open. Why is it safe to go on? (kept in the log)",
        )
        self.ask(prompt, partial(self.wizard.act, self.engine.override_gate, phase.id))

    def _ask_signoff(self, spec: StepSpec) -> None:
        prompt = TextPrompt(f"Sign-off: {spec.role}", f"{spec.title}: name of the {spec.role}.")
        self.ask(prompt, partial(self.wizard.act, self.engine.sign_off, spec.id), advance=True)

    def _ask_input(self, spec: StepSpec) -> None:
        record = partial(self.wizard.act, self.engine.record_input, spec.id)
        if spec.choices:
            self.ask(
                ChoicePrompt(spec.title, spec.choices, spec.prompt or ""), record, advance=True
            )
        else:
            current = self.run.results[spec.id].value
            prompt = TextPrompt(spec.title, spec.prompt or "", value=str(current or ""))
            self.ask(prompt, record, advance=True)


def step_why_not(run: Run, spec: StepSpec, action: str) -> str | None:
    """Whether a step key applies to this step now (the engine still has the last word)."""
    status = run.status(spec.id)
    if status == StepStatus.RUNNING:
        return f"{spec.title} is running: wait for it to finish."
    auto = spec.automated
    if action == "run_step":
        if auto and status in GATE_OK:
            return f"{spec.title} already {status}: r runs it again."
        if spec.kind == StepKind.MANUAL:
            return "A person checks this one: space = passed, x = failed."
        return None
    if action == "tick":
        if auto:
            return f"{spec.title} is automated: enter runs it (a runs the whole phase)."
        if spec.kind == StepKind.DECISION:
            return "enter opens the go-live decision."
        return None
    if action == "fail":
        if spec.kind == StepKind.MANUAL:
            return None
        if auto:
            return "Automated steps fail by themselves; a failed one can be overridden (o)."
        return f"A {spec.kind} step cannot be failed: skip it (s) or override the gate (O)."
    if action == "skip":
        return None if status not in GATE_OK else f"{spec.title} is already {status}."
    if action == "retry":
        if not auto:
            return "r runs automated steps again; answer this one with space or x."
        if status == StepStatus.PENDING:
            return f"{spec.title} has not run yet: enter runs it."
        return None
    if action == "override_step":
        if status in BAD:
            return None
        return f"o overrides a failed or interrupted step; {spec.title} is {status}."
    return None
