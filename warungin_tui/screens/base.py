"""Base classes of the run screens: the key contract, why a key does not apply, step requests.

Screens never decide gates or outcomes: a key maps to an action of the rulebook (`rules.py`),
whose answer decides whether the footer shows the key and what pressing it anyway explains; the
engine raises the same answer. Screens post typed requests; the app turns them into engine calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.screen import Screen

from warungin_tui.engine.lifecycle import RunState, run_state
from warungin_tui.engine.rules import Action, Refusal, next_phase_id, phase_refusal, step_refusal
from warungin_tui.engine.run import Run
from warungin_tui.errors import ReadOnlyRun
from warungin_tui.outcome import GATE_OK
from warungin_tui.playbook import StepKind, StepSpec
from warungin_tui.screens.keys import (
    ENTER_BINDINGS,
    MOVE_BINDINGS,
    STEP_BINDINGS,
    explain_bindings,
)
from warungin_tui.screens.messages import (
    GateOverrideRequested,
    InputRequested,
    OverrideRequested,
    Request,
    RunChanged,
    RunPhaseRequested,
    RunStepRequested,
    SignOffRequested,
    SkipRequested,
    StepChanged,
    TickRequested,
)
from warungin_tui.screens.prompt import ChoicePrompt, TextPrompt, open_prompt
from warungin_tui.widgets.format import steps_done
from warungin_tui.widgets.run_bar import RunBar
from warungin_tui.widgets.step_list import RowList

if TYPE_CHECKING:
    from warungin_tui.app import WarunginApp
    from warungin_tui.engine.engine import Engine

STEP_ACTIONS = frozenset(b.action for b in STEP_BINDINGS)
ANSWER_KINDS = {"sign_step": StepKind.SIGNOFF, "answer_step": StepKind.INPUT}
"""The enter bindings that answer a row of one kind (the footer says "Sign" or "Answer")."""
PHASE_KEY_ACTIONS = {
    "run_all": Action.RUN_PHASE,
    "override_gate": Action.OVERRIDE_GATE,
    "next_phase": Action.NEXT_PHASE,
}
STEP_KEY_ACTIONS = {
    "fail": Action.FAIL,
    "skip": Action.SKIP,
    "retry": Action.RETRY,
    "override_step": Action.OVERRIDE_STEP,
}


def step_action_for_key(key_action: str, spec: StepSpec) -> Action | None:
    """What a step key asks the rulebook for on this step (enter and space answer a sign-off
    or an input); None for a key that is not a step action."""
    answer = {StepKind.SIGNOFF: Action.SIGN, StepKind.INPUT: Action.INPUT}.get(spec.kind)
    if key_action == "run_step":
        return answer or Action.RUN_STEP
    if key_action == "tick":
        return answer or Action.TICK
    if key_action in ANSWER_KINDS:
        return answer
    if key_action == "tick_with_note":
        return Action.TICK
    return STEP_KEY_ACTIONS.get(key_action)


def release_running(run: Run) -> str:
    """The release on the host as the run knows it: after a rollback, the restored one; an
    abandoned run's release was never deployed."""
    restored = run.values.get("pre_version")
    state = run_state(run)
    if state == RunState.ROLLED_BACK and restored:
        return f"{restored} (rolled back)"  # the bar keeps 36 columns for it
    if state == RunState.ABANDONED:
        return f"{run.release} (abandoned)"
    return run.release


def signed_name(run: Run, role: str | None) -> str:
    """The name last signed for `role` in this run ("" if none): typed once, offered again."""
    name = ""
    for spec in run.playbook.all_steps():
        value = run.results[spec.id].value
        if spec.kind == StepKind.SIGNOFF and spec.role == role and isinstance(value, dict):
            name = str(value.get("name") or name)
    return name


class RunScreen(Screen[None]):
    """A screen showing part of the run; every contract key is bound, applicable or not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *ENTER_BINDINGS,
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
        right = Text(f"release {release_running(run)}")
        if self.engine.read_only:
            right = Text("READ-ONLY  ", style="bold yellow") + right
        self.query_one(RunBar).show(self.bar_left(), right)

    # -- keys --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ANSWER_KINDS:
            # Shown (and acting) only on its own kind of row; elsewhere the next enter binding
            # takes the key, and a refusal is explained by the "Run" twin.
            return self.answers_row(action) and self.refusal(action) is None
        if action in STEP_ACTIONS:
            return self.refusal(action) is None
        return True

    def answers_row(self, action: str) -> bool:
        """Whether an enter binding of ANSWER_KINDS fits the selected row."""
        return False

    def action_sign_step(self) -> None:
        self.action_run_step()

    def action_answer_step(self) -> None:
        self.action_run_step()

    def action_run_step(self) -> None:
        """Overridden by screens with rows."""

    def refusal(self, action: str) -> Refusal | None:
        """None when the key's `action` applies now, else the refusal a key press explains."""
        return Refusal("Not on this screen: open a phase first (enter on the overview).")

    def action_explain(self, action: str) -> None:
        refusal = self.refusal(action)
        reason = refusal.reason if refusal else "That key does nothing here."
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

    following = False
    """After `a`, the cursor follows the running step until the operator moves it."""

    def answers_row(self, action: str) -> bool:
        spec = self.selected_spec()
        return spec is not None and spec.kind == ANSWER_KINDS.get(action)

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

    # -- which keys apply: the rulebook's answer -------------------------------------------
    def refusal(self, action: str) -> Refusal | None:
        assert self.phase_id is not None
        if action == "overview":
            return None
        if action != "next_phase" and self.engine.read_only:
            # another process has the run open: look only
            return Refusal(self.engine.read_only, ReadOnlyRun)
        busy = self.wizard.busy_step()
        if action in PHASE_KEY_ACTIONS:
            return phase_refusal(self.run, self.phase_id, PHASE_KEY_ACTIONS[action], busy=busy)
        spec = self.selected_spec()
        if spec is None:
            return Refusal("Select a step first (up/down).")
        if action == "tick_with_note" and spec.kind != StepKind.MANUAL:
            return Refusal("A note goes with a check; enter answers this row.")
        step_action = step_action_for_key(action, spec)
        if step_action is None:
            return None
        return step_refusal(self.run, spec.id, step_action, busy=busy)

    def next_phase_id(self) -> str | None:
        assert self.phase_id is not None
        return next_phase_id(self.run, self.phase_id)

    # -- requests ----------------------------------------------------------------------------
    def action_overview(self) -> None:
        self.wizard.show_overview()

    def action_next_phase(self) -> None:
        following = self.next_phase_id()
        if following is not None:
            self.wizard.open_phase(following, autorun=True)

    def action_run_all(self) -> None:
        assert self.phase_id is not None
        self.post_message(RunPhaseRequested(self.phase_id))

    def action_run_step(self) -> None:
        spec = self.selected_spec()
        if spec is None:
            return
        if spec.automated:
            self.post_message(RunStepRequested(spec.id))
        elif spec.kind == StepKind.SIGNOFF:
            self._ask_signoff(spec)
        elif spec.kind == StepKind.INPUT:
            self._ask_input(spec)
        elif spec.kind == StepKind.DECISION:
            self.wizard.open_phase("golive")

    def ask(
        self,
        prompt: TextPrompt | ChoicePrompt,
        then: Callable[[str], Request],
        *,
        advance_from: str | None = None,
    ) -> None:
        """Open a prompt; with an answer (not escape), hand the request `then` builds to the app.

        `advance_from`: once the engine accepted the answer for this step, move the cursor on
        (checklist rhythm); a refusal leaves it where it is.
        """

        open_prompt(
            self.app, prompt, lambda answer: self.request(then(answer), advance_from=advance_from)
        )

    def request(self, request: Request, *, advance_from: str | None = None) -> None:
        """Hand an answer to the app at once; once accepted, move the cursor on from
        `advance_from` (checklist rhythm). A refusal leaves it where it is."""
        if self.wizard.request(request) and advance_from is not None:
            self.advance()

    def action_tick(self) -> None:
        spec = self.selected_spec()
        if spec is None:
            return
        if spec.kind != StepKind.MANUAL:
            self.action_run_step()  # sign-offs and inputs: "tick" means answer it
            return
        self.request(TickRequested(spec.id), advance_from=spec.id)

    def action_tick_with_note(self) -> None:
        """Pass with a note on what was seen: its own key, so space never opens a text field."""
        spec = self.selected_spec()
        if spec is None:
            return
        prompt = TextPrompt(f"Passed: {spec.title}", "A note on what you saw (kept in the log).")
        self.ask(prompt, lambda note: TickRequested(spec.id, note=note), advance_from=spec.id)

    def action_fail(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.ask(
                TextPrompt(f"Failed: {spec.title}", "What is wrong? (kept in the log)"),
                lambda note: TickRequested(spec.id, passed=False, note=note),
            )

    def action_skip(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.ask(
                TextPrompt(f"Skip: {spec.title}", "Why is it skipped? (kept in the log)"),
                lambda reason: SkipRequested(spec.id, reason),
            )

    def action_retry(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.post_message(RunStepRequested(spec.id, reconnect=True))

    def action_override_step(self) -> None:
        spec = self.selected_spec()
        if spec is None:
            return
        result = self.run.results[spec.id]
        prompt = TextPrompt(
            f"Override: {spec.title}",
            f"It {result.status}: {result.detail}\nWhy is it safe to go on? (kept in the log)",
        )
        self.ask(prompt, lambda reason: OverrideRequested(spec.id, reason))

    def action_override_gate(self) -> None:
        assert self.phase_id is not None
        phase = self.run.playbook.phase(self.phase_id)
        prompt = TextPrompt(
            f"Override the gate of {phase.title}",
            "Steps are still open. Why is it safe to go on? (kept in the log)",
        )
        self.ask(prompt, lambda reason: GateOverrideRequested(phase.id, reason))

    def _ask_signoff(self, spec: StepSpec) -> None:
        known = signed_name(self.run, spec.role)
        hint = " (given earlier in this run: enter keeps it)" if known else ""
        prompt = TextPrompt(
            f"Sign-off: {spec.role}", f"{spec.title}: name of the {spec.role}{hint}.", value=known
        )
        self.ask(prompt, lambda name: SignOffRequested(spec.id, name), advance_from=spec.id)

    def _ask_input(self, spec: StepSpec) -> None:
        def record(value: str) -> Request:
            return InputRequested(spec.id, value)

        if spec.choices:
            prompt: TextPrompt | ChoicePrompt = ChoicePrompt(
                spec.title, spec.choices, spec.prompt or ""
            )
        else:
            current = self.run.results[spec.id].value
            prompt = TextPrompt(spec.title, spec.prompt or "", value=str(current or ""))
        self.ask(prompt, record, advance_from=spec.id)
