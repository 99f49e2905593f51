"""One phase (or procedure): its steps in a list, the selected step's detail and live output.

Used for the checklist, Phases 1-3, smoke test, completion, monitoring, rollback and incident.
Live updates touch only the affected row; output goes to a bounded Log in batches, and only
when the step producing it is the one shown.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warungin_tui.engine.rules import (
    Action,
    Refusal,
    lifecycle_refusal,
    recovery_actions,
    step_refusal,
)
from warungin_tui.engine.run import OUTPUT_KEPT_IN_MEMORY
from warungin_tui.notices import missing_contacts, notice_state
from warungin_tui.outcome import BAD, StepStatus
from warungin_tui.playbook import PhaseSpec, StepKind, StepSpec
from warungin_tui.screens.base import StepScreen
from warungin_tui.screens.keys import (
    NOTICE_BINDINGS,
    OUTPUT_BINDINGS,
    RECOVERY_KEY_ACTIONS,
    explain_bindings,
    key_of,
)
from warungin_tui.screens.messages import (
    ConfirmSentRequested,
    CopyMessageRequested,
    RunChanged,
    RunPhaseRequested,
    SaveMessageRequested,
    StepChanged,
    StepOutput,
    StepProgress,
)
from warungin_tui.screens.output_view import OutputView, step_output_lines
from warungin_tui.widgets.failure import failure_text
from warungin_tui.widgets.format import (
    command_preview,
    duration,
    measured_text,
    plain,
    short_ref,
    step_state_text,
)
from warungin_tui.widgets.keys_footer import KeysFooter
from warungin_tui.widgets.output_log import OutputLog
from warungin_tui.widgets.run_bar import RunBar
from warungin_tui.widgets.step_list import Row, RowList, group_header

NOTICE_ACTIONS = ("save_message", "copy_message", "confirm_sent")
WIDE_COLUMNS = 140
"""From this width the detail pane sits beside the step list (app.tcss: `.-wide`)."""
OUTPUT_LINES = OUTPUT_KEPT_IN_MEMORY
"""Lines the output pane keeps: the same tail the run keeps, so the pane shows the same lines
live and when the step is selected again; `v` opens the full output (the side file)."""
TICK_S = 0.25
"""How often a running step's spinner and elapsed time are redrawn."""


class PhaseScreen(StepScreen):
    """Step list on top, the selected step's detail and output below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *NOTICE_BINDINGS,
        *OUTPUT_BINDINGS,
        *explain_bindings([*NOTICE_BINDINGS, *OUTPUT_BINDINGS]),
        Binding(
            "tab",
            "focus_output",
            "Output",
            show=False,
            tooltip="Focus the output pane (to scroll it); tab again moves on",
            id="warungin.focus_output",
        ),
    ]
    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (WIDE_COLUMNS, "-wide"),
    ]

    def __init__(self, phase_id: str, step_id: str | None = None, *, autorun: bool = False):
        super().__init__(id=f"phase-{phase_id}")
        self.phase_id = phase_id
        self.initial_step = step_id
        self.autorun = autorun
        self.shown_step: str | None = None
        self._pending_output: list[str] = []
        self._flush_scheduled = False
        self._frame = 0
        self.following = False
        """After `a`, the cursor follows the running step until the operator moves it."""
        self._followed: str | None = None
        self._loaded_lines = 0
        self._hidden_noted = False

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        yield RowList(id="steps")
        with Vertical(id="detail"):
            yield from self.compose_extra()
            with VerticalScroll(id="info"):
                yield Static(id="info-text")
            yield OutputLog(max_lines=OUTPUT_LINES, id="output")
        yield KeysFooter(show_command_palette=False)

    def compose_extra(self) -> ComposeResult:
        """Subclasses add a panel above the step detail (e.g. derived checklists)."""
        yield from ()

    def on_mount(self) -> None:
        output = self.query_one("#output", OutputLog)
        output.border_title = f"Output ({key_of('view_output')}: full screen)"
        steps = self.query_one(RowList)
        options: list[Option] = []
        group = ""
        for spec in self.phase.steps:
            if spec.group and spec.group != group:
                group = spec.group
                options.append(group_header(group))
            options.append(Option(self.row_for(spec), id=spec.id))
        steps.add_options(options)
        first = self.initial_step or self.run.next_step(self.phase.id) or self.phase.steps[0].id
        steps.select_id(first)
        steps.focus()
        self.refresh_bar()
        self.show_step(first)
        self.set_interval(TICK_S, self._tick_running)
        if self.autorun:
            self.post_message(RunPhaseRequested(self.phase.id, auto=True))

    @property
    def phase(self) -> PhaseSpec:
        assert self.phase_id is not None
        return self.run.playbook.phase(self.phase_id)

    # -- selection ---------------------------------------------------------------------------
    def action_run_all(self) -> None:
        self.following = True
        super().action_run_all()

    @on(OptionList.OptionHighlighted, "#steps")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id != self._followed:
            self.following = False  # the operator moved: stop following the run
        if event.option_id and event.option_id != self.shown_step:
            self.show_step(event.option_id)
        self.refresh_bindings()

    # -- rows --------------------------------------------------------------------------------
    def row_for(self, spec: StepSpec) -> Row:
        result = self.run.results[spec.id]
        icon, state, style = step_state_text(spec, result, self.wizard.clock(), self._frame)
        extra = measured_text(self.run, spec) if spec.measured_by else ""
        ref = short_ref(spec)
        ref = "" if spec.title.startswith(ref) else ref  # "Test 1: ..." needs no "Test 1" column
        return Row(icon, style, spec.title, state, ref=ref, extra=extra)

    def refresh_row(self, step_id: str) -> None:
        spec = self.run.playbook.step(step_id)
        self.query_one(RowList).replace_option_prompt(step_id, self.row_for(spec))

    def _tick_running(self) -> None:
        running = [sid for sid in self.run.running_steps() if self._in_phase(sid)]
        if not running:
            return
        self._frame += 1
        for step_id in running:
            self.refresh_row(step_id)
            if step_id == self.shown_step:
                self.refresh_info()

    # -- detail ------------------------------------------------------------------------------
    def show_step(self, step_id: str) -> None:
        self.shown_step = step_id
        spec = self.run.playbook.step(step_id)
        log = self.query_one("#output", OutputLog)
        log.display = spec.automated
        self.query_one("#detail").set_class(not spec.automated, "-no-output")
        log.clear()
        self._pending_output.clear()
        result = self.run.results[step_id]
        self._loaded_lines = result.output_lines
        log.write_lines([line or " " for _, line in result.output])
        self._hidden_noted = False
        self._note_hidden_output()
        self.refresh_info()

    def refresh_info(self) -> None:
        if self.shown_step is None:
            return
        spec = self.run.playbook.step(self.shown_step)
        failed = spec.automated and self.run.status(spec.id) in BAD
        detail = self.query_one("#detail")
        if detail.has_class("-failed") != failed:
            detail.set_class(failed, "-failed")
            self.set_class(failed, "-failed-step")  # the list gives the explanation more room
            # the output pane changed height: keep its end (where a failure shows) in sight
            self.call_after_refresh(self.query_one("#output", OutputLog).scroll_end, animate=False)
        self.query_one("#info-text", Static).update(self.describe(spec))

    def describe(self, spec: StepSpec) -> Text:
        """The selected step in words: reference, command, state, what a person must do."""
        run = self.run
        result = run.results[spec.id]
        values = self.engine.values(spec)
        text = Text(spec.title, style="bold")
        failure = spec.automated and result.status in BAD
        facts = [spec.seed_ref, str(spec.kind)]
        if spec.destructive:
            facts.append("destructive: asks to confirm")
        if spec.automated and not spec.retry_safe:
            facts.append("not safe to retry blindly")
        icon, state, style = step_state_text(spec, result, self.wizard.clock(), self._frame)
        status_line = Text(f"{icon} {state}", style=style)
        if result.status == StepStatus.RUNNING:
            status_line.append(f"  (attempt {result.attempts})", style="dim")
        elif result.exit_code is not None and not (
            result.status == StepStatus.FAILED and result.exit_code == 0
        ):
            # "failed exit 0" would contradict itself: the output failed the check, not the exit
            status_line.append(f"  exit {result.exit_code}", style="dim")
        if failure:  # the state beside the title: rows for the explanation at 80x24
            text.append("  ")
            text.append(status_line)
            text.append("\n" + " · ".join(facts), style="dim")
        else:
            text.append("\n" + " · ".join(facts), style="dim")
            text.append("\n")
            text.append(status_line)
        if result.detail and not failure:  # a failure's detail heads its explanation below
            text.append(f"  {result.detail}")
        self._describe_kind(text, spec, values)
        if result.override_reason:
            text.append(f"\nOverridden by {result.by}: {result.override_reason}", style="magenta")
        elif result.note and result.note != result.detail:
            text.append(f"\nNote: {result.note}")
        closed = lifecycle_refusal(run, self.phase.id)
        if closed is not None:
            text.append(f"\n{closed.reason}", style="bold yellow")
        elif failure:
            text.append(self.failure_explained(spec))
        preview = command_preview(spec, values, result)
        if preview:  # last: a long script scrolls (tab to this pane) without hiding the state
            text.append("\n$ ", style="bold")
            text.append(preview)
        return text

    def failure_explained(self, spec: StepSpec) -> Text:
        """What failed, its evidence, the playbook's advice and the actions the rulebook allows
        now, each with its key."""
        result = self.run.results[spec.id]
        allowed = (
            []
            if self.engine.read_only
            else recovery_actions(self.run, spec.id, busy=self.wizard.busy_step())
        )
        keys = {action: key_of(RECOVERY_KEY_ACTIONS[action]) for action in allowed}
        return failure_text(spec, result, keys, key_of("view_output"))

    # -- the output: focus it, or see it all --------------------------------------------------
    def action_focus_output(self) -> None:
        log = self.query_one("#output", OutputLog)
        if log.display and self.focused is not log:
            log.focus()
        else:
            self.focus_next()

    def action_view_output(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            journal = self.engine.journal
            lines = step_output_lines(self.run, spec.id, journal.path if journal else None)
            self.app.push_screen(OutputView(spec.title, lines))

    def _describe_kind(self, text: Text, spec: StepSpec, values: dict[str, object]) -> None:
        run = self.run
        result = run.results[spec.id]
        if spec.kind == StepKind.WAIT:
            progress = self.wizard.progress.get(spec.id)
            if progress and result.status == StepStatus.RUNNING:
                next_poll = progress.get("next_poll_s")
                when = f"next poll in {float(next_poll):.1f} s" if next_poll else "last poll"
                text.append(
                    f"\nNow: {progress.get('detail')} · poll {progress.get('poll')} · {when}",
                    style="bold cyan",
                )
        if spec.url_to_open:
            text.append("\nOpen: ", style="bold")
            text.append(plain(spec.url_to_open, values), style="underline")
        if spec.look_for:
            text.append("\nLook for: ", style="bold")
            text.append(plain(spec.look_for, values))
        if spec.measured_by:
            measured_spec = run.playbook.step(spec.measured_by)
            text.append(f"\nMeasured by {measured_spec.seed_ref}: ", style="bold")
            text.append(measured_text(run, spec))
        if spec.kind == StepKind.SIGNOFF:
            text.append(f"\nRole: {spec.role}", style="bold")
            if isinstance(result.value, dict):
                text.append(f" · signed by {result.value.get('name')}")
        if spec.kind == StepKind.INPUT:
            text.append(f"\n{spec.prompt or spec.title}", style="bold")
            if spec.choices:
                text.append(f"  choices: {' / '.join(spec.choices)}")
            if result.value is not None:
                text.append(f"\nValue: {result.value}")
        if spec.kind == StepKind.NOTIFY:
            notice = result.value if isinstance(result.value, dict) else None
            missing = missing_contacts(spec, values)
            if missing:
                text.append(
                    f"\nWarning: [contacts] {', '.join(missing)} not configured",
                    style="bold yellow",
                )
            if notice:
                text.append(f"\nSubject: {notice.get('subject')}", style="bold")
                text.append(f"\nTo: {notice.get('to', '')}")
                confirmed = run.notices_confirmed.get(spec.id)
                text.append(f"\nState: {notice_state(notice, confirmed)}", style="bold")
                text.append(
                    "\nThe message is in the output pane: w saves it, c copies it, "
                    "t confirms you sent it."
                )
            else:
                text.append("\nThe message is filled in when the step runs (enter).")
        if result.by and spec.kind == StepKind.MANUAL and result.status != StepStatus.PENDING:
            text.append(f"\nBy {result.by}", style="dim")
            if result.duration_s is not None:
                text.append(f" in {duration(result.duration_s)}", style="dim")

    # -- live updates ------------------------------------------------------------------------
    def wants(self, message_type: type[Message], step_id: str | None) -> bool:
        if message_type is StepOutput:
            return step_id == self.shown_step
        return super().wants(message_type, step_id)

    def on_step_changed(self, message: StepChanged) -> None:
        started = self.run.status(message.step_id) == StepStatus.RUNNING
        if started and self.following and self._in_phase(message.step_id):
            self._followed = message.step_id
            self.select_step(message.step_id)
        if self._in_phase(message.step_id):
            self.refresh_row(message.step_id)
            if message.step_id == self.shown_step:
                if self.run.status(message.step_id) == StepStatus.RUNNING:
                    self.query_one("#output", OutputLog).clear()  # a new attempt
                    self._pending_output.clear()
                    self._loaded_lines = 0
                    self._hidden_noted = False
                else:  # after the output still queued for the pane
                    self.call_after_refresh(self._note_hidden_output)
                self.refresh_info()
        for spec in self.phase.steps:  # a measured value may have arrived from another phase
            if spec.measured_by == message.step_id:
                self.refresh_row(spec.id)

    def on_step_output(self, message: StepOutput) -> None:
        if message.step_id != self.shown_step or message.total <= self._loaded_lines:
            return  # another step, or already in the pane (reloaded when it was selected)
        self._pending_output.extend(message.lines)
        if not self._flush_scheduled:
            # Coalesce bursts of batches into one write per frame.
            self._flush_scheduled = True
            self.call_after_refresh(self._flush_output)

    def _flush_output(self) -> None:
        self._flush_scheduled = False
        if self._pending_output:
            lines, self._pending_output = self._pending_output, []
            self.query_one("#output", OutputLog).write_lines([line or " " for line in lines])

    def _note_hidden_output(self) -> None:
        """After a finished attempt's output: how many lines the pane does not show, and the
        key that opens them all (the side file the engine wrote)."""
        if self.shown_step is None:
            return
        result = self.run.results[self.shown_step]
        log = self.query_one("#output", OutputLog)
        # the note takes a line of the pane: when the pane is full, it pushes one line out
        kept = min(len(log.plain_lines), OUTPUT_LINES - 1)
        hidden = result.output_lines - kept
        if result.status == StepStatus.RUNNING or hidden <= 0 or self._hidden_noted:
            return
        self._hidden_noted = True
        side = result.output_file or {}
        where = (
            "v opens the full output"
            if "name" in side
            else f"no full output was kept ({side.get('error', 'none recorded')})"
        )
        log.write_lines([f"... {hidden:,} of {result.output_lines:,} lines not shown: {where}"])

    def on_step_progress(self, message: StepProgress) -> None:
        if message.step_id == self.shown_step:
            self.refresh_info()

    # -- notification messages ---------------------------------------------------------------
    def refusal(self, action: str) -> Refusal | None:
        if action == "view_output":
            spec = self.selected_spec()
            if spec is None or not spec.automated:
                return Refusal("v shows a step's output: select an automated step first.")
            return None
        if action in NOTICE_ACTIONS:
            spec = self.selected_spec()
            if spec is None or spec.kind != StepKind.NOTIFY:
                return Refusal("w, c and t work on a notification step (select it first).")
            if not isinstance(self.run.results[spec.id].value, dict):
                return Refusal(f"{spec.title} has no message yet: enter fills it in.")
            if action == "confirm_sent":
                return step_refusal(self.run, spec.id, Action.CONFIRM_SENT)
            return None
        return super().refusal(action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in (*NOTICE_ACTIONS, "view_output"):
            return self.refusal(action) is None
        return super().check_action(action, parameters)

    def action_save_message(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.post_message(SaveMessageRequested(spec.id))

    def action_copy_message(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.post_message(CopyMessageRequested(spec.id))

    def action_confirm_sent(self) -> None:
        spec = self.selected_spec()
        if spec is not None:
            self.post_message(ConfirmSentRequested(spec.id))

    def on_run_changed(self, message: RunChanged) -> None:
        if message.event_type == "notice_confirmed":
            self.refresh_info()  # the detail says who confirmed the message sent, and when
