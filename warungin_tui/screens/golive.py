"""Go-live: the final checklist computed from the run, and the decision (refused with reasons)."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from warungin_tui.engine.checklists import GO_LIVE
from warungin_tui.engine.rules import (
    APPROVED,
    DECISIONS,
    Action,
    Refusal,
    approval_blockers,
    monitoring_shortfall,
    run_refusal,
)
from warungin_tui.report.template import item_rows
from warungin_tui.screens.base import RunScreen
from warungin_tui.screens.confirm import ConfirmScreen
from warungin_tui.screens.messages import (
    DecisionRequested,
    FinishRequested,
    RequestRefused,
    RunChanged,
    StepChanged,
)
from warungin_tui.screens.prompt import ChoicePrompt, FormPrompt, TextPrompt, open_prompt
from warungin_tui.screens.report import item_mark
from warungin_tui.widgets.format import next_hint
from warungin_tui.widgets.keys_footer import KeysFooter
from warungin_tui.widgets.run_bar import RunBar


class GoLiveScreen(RunScreen):
    """enter records the decision (who, when); F finishes the run once decided."""

    BINDINGS = [
        Binding(
            "enter",
            "run_step",
            "Decide",
            tooltip="Record the go-live decision (who authorizes it, when it takes effect)",
            id="warungin.golive.decide",
        ),
        Binding(
            "F",
            "finish",
            "Finish run",
            tooltip="Close the run after the decision (no longer resumable) and export",
            id="warungin.finish",
        ),
    ]

    def __init__(self, *, autorun: bool = False) -> None:
        super().__init__(id="phase-golive")
        self.phase_id = "golive"
        self.autorun = autorun
        """Opened with `n`: the decision is asked at once (escape shows the screen)."""
        self.refusal_text = ""
        """The engine's refusal of the last decision, shown in place until one is recorded."""
        self.offer_finish = False
        """A decision asked here is pending: once recorded, finishing is offered (y/n)."""

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        with VerticalScroll(id="golive-body"):
            yield Static(id="golive-text")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#golive-body").focus()
        self.refresh_bar()
        self.refresh_body()
        if self.autorun and not self.run.decision and self.refusal("run_step") is None:
            self.call_after_refresh(self.action_run_step)

    def bar_left(self) -> Text:
        return Text("Go-live decision", style="bold")

    def refresh_body(self) -> None:
        run = self.run
        text = Text("Final Checklist\n", style="bold underline")
        for item in item_rows(run, GO_LIVE):
            mark, style = item_mark(item["state"])
            text.append(f" {mark} ", style=style)
            text.append(f"{item['label']}\n")
        decision = run.decision or {}
        text.append("\nDecision\n", style="bold underline")
        for choice in DECISIONS:
            box = "☒" if decision.get("decision") == choice else "☐"
            text.append(f" {box} {choice}\n", style="bold" if box == "☒" else "")
        text.append(f" Authorized By: {decision.get('authorized_by', '-')}\n")
        text.append(f" Date/Time:     {decision.get('at', '-')}\n")
        text.append(f" Effective:     {decision.get('effective_at', '-')}\n")
        blockers = approval_blockers(run)
        if blockers:
            text.append("\nApproval needs first:\n", style="bold yellow")
            for blocker in blockers:
                text.append(f" · {blocker}\n", style="yellow")
        if self.refusal_text:
            text.append(f"\n{self.refusal_text}\n", style="bold red")
        closed = run_refusal(run, Action.DECIDE)
        if run.finished_at is not None:
            text.append(f"\n{next_hint(run)}", style="dim")  # exported or not: what is left
        elif closed is not None:
            text.append(f"\n{closed.reason}", style="dim")
        else:
            text.append("\nenter records the decision; F finishes the run afterwards.", style="dim")
        self.query_one("#golive-text", Static).update(text)

    def on_step_changed(self, message: StepChanged) -> None:
        self.refresh_body()

    def on_run_changed(self, message: RunChanged) -> None:
        if message.event_type == "decision":
            self.refusal_text = ""
            if self.offer_finish and self.refusal("finish") is None:
                self.action_finish()  # the next thing to do: one key (y) instead of F, y
            self.offer_finish = False
        self.refresh_body()

    def on_request_refused(self, message: RequestRefused) -> None:
        if isinstance(message.request, DecisionRequested):
            self.offer_finish = False
            self.refusal_text = message.reason
            self.refresh_body()

    # -- keys --------------------------------------------------------------------------------
    def refusal(self, action: str) -> Refusal | None:
        if action == "overview":
            return None
        if action == "run_step":
            return run_refusal(self.run, Action.DECIDE)
        if action == "finish":
            return run_refusal(self.run, Action.FINISH, busy=self.wizard.busy_step())
        if action == "next_phase":
            return Refusal(
                "Go-live is the last phase: record the decision (enter), then finish (F)."
            )
        return Refusal("Nothing to tick here: enter records the go-live decision.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "finish":
            return self.refusal(action) is None
        return super().check_action(action, parameters)

    def action_overview(self) -> None:
        self.wizard.show_overview()

    def action_run_step(self) -> None:
        """Decision, then who authorizes it, then when it takes effect (then, for an approval
        without monitoring evidence, why it is approved anyway)."""

        def chosen(decision: str) -> None:
            now = self.wizard.clock().astimezone().isoformat("T", "minutes")
            prompt = FormPrompt(
                f"{decision}: authorized by",
                [("Authorized by (name)", "", True), ("Effective date/time", now, False)],
            )
            open_prompt(self.app, prompt, partial(self._authorized, decision))

        blockers = approval_blockers(self.run)
        message = "Approval needs first: " + "; ".join(blockers) if blockers else ""
        prompt = ChoicePrompt("Production deployment status", list(DECISIONS), message)
        open_prompt(self.app, prompt, chosen)

    def _authorized(self, decision: str, answers: list[str]) -> None:
        name, effective = answers
        self._ask_monitoring_override(decision, name, effective)

    def _ask_monitoring_override(self, decision: str, name: str, effective: str) -> None:
        """The rulebook asks for a reason when monitoring samples do not cover the period
        (asked only when nothing else blocks the approval)."""
        run = self.run
        shortfall = monitoring_shortfall(run)
        if decision != APPROVED or approval_blockers(run) or not shortfall:
            self.offer_finish = True
            self.post_message(DecisionRequested(decision, name, effective))
            return

        def reason_given(reason: str) -> None:
            self.offer_finish = True
            self.post_message(
                DecisionRequested(decision, name, effective, monitoring_override_reason=reason)
            )

        prompt = TextPrompt(
            "Override: monitoring not evidenced",
            f"{shortfall[0].upper()}{shortfall[1:]}\nWhy approve go-live now? (kept in the log)",
        )
        open_prompt(self.app, prompt, reason_given)

    def action_finish(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.post_message(FinishRequested())

        self.app.push_screen(
            ConfirmScreen(
                "Finish the run?",
                "The run is sealed: nothing can change it afterwards and it will no longer be "
                "offered for resume. The log is exported now.",
            ),
            answer,
        )
