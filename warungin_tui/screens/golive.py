"""Go-live: the final checklist computed from the run, and the decision (refused with reasons)."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from warungin_tui.checklists import GO_LIVE, item_state
from warungin_tui.engine import DECISIONS, EngineError, GateClosed
from warungin_tui.screens.base import RunScreen
from warungin_tui.screens.confirm import ConfirmScreen
from warungin_tui.screens.messages import RunChanged, StepChanged
from warungin_tui.screens.prompt import ChoicePrompt, TextPrompt
from warungin_tui.screens.report import ITEM_MARKS
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

    def __init__(self) -> None:
        super().__init__(id="phase-golive")
        self.phase_id = "golive"
        self.refusal = ""

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        with VerticalScroll(id="golive-body"):
            yield Static(id="golive-text")
        yield KeysFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#golive-body").focus()
        self.refresh_bar()
        self.refresh_body()

    def bar_left(self) -> Text:
        return Text("Go-live decision", style="bold")

    def refresh_body(self) -> None:
        run = self.run
        text = Text("Final Checklist\n", style="bold underline")
        for item in GO_LIVE:
            mark, style = ITEM_MARKS[item_state(run, item)]
            text.append(f" {mark} ", style=style)
            text.append(f"{item.label}\n")
        decision = run.decision or {}
        text.append("\nDecision\n", style="bold underline")
        for choice in DECISIONS:
            box = "☒" if decision.get("decision") == choice else "☐"
            text.append(f" {box} {choice}\n", style="bold" if box == "☒" else "")
        text.append(f" Authorized By: {decision.get('authorized_by', '-')}\n")
        text.append(f" Date/Time:     {decision.get('at', '-')}\n")
        text.append(f" Effective:     {decision.get('effective_at', '-')}\n")
        blockers = self.engine.approval_blockers()
        if blockers:
            text.append("\nApproval needs first:\n", style="bold yellow")
            for blocker in blockers:
                text.append(f" · {blocker}\n", style="yellow")
        if self.refusal:
            text.append(f"\n{self.refusal}\n", style="bold red")
        text.append("\nenter records the decision; F finishes the run afterwards.", style="dim")
        self.query_one("#golive-text", Static).update(text)

    def on_step_changed(self, message: StepChanged) -> None:
        self.refresh_body()

    def on_run_changed(self, message: RunChanged) -> None:
        self.refresh_body()

    # -- keys --------------------------------------------------------------------------------
    def why_not(self, action: str) -> str | None:
        if action in ("run_step", "overview"):
            return None
        if action == "next_phase":
            return "Go-live is the last phase: record the decision (enter), then finish (F)."
        return "Nothing to tick here: enter records the go-live decision."

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "finish":
            return self.run.decision is not None and self.run.finished_at is None
        return super().check_action(action, parameters)

    def action_overview(self) -> None:
        self.wizard.show_overview()

    def action_run_step(self) -> None:
        """Decision, then who authorizes it, then when it takes effect."""

        def chosen(decision: str | None) -> None:
            if decision is not None:
                prompt = TextPrompt(f"{decision}: authorized by", "Who authorizes the decision?")
                self.app.push_screen(prompt, partial(self._ask_effective, decision))

        self.app.push_screen(ChoicePrompt("Production deployment status", list(DECISIONS)), chosen)

    def _ask_effective(self, decision: str, name: str | None) -> None:
        if name is None:
            return
        now = self.wizard.clock().astimezone().isoformat("T", "minutes")

        def effective(at: str | None) -> None:
            if at is not None:
                self.decide(decision, name, at)

        prompt = TextPrompt(
            "Effective date/time", "When it takes effect.", value=now, required=False
        )
        self.app.push_screen(prompt, effective)

    def decide(self, decision: str, name: str, effective: str) -> None:
        try:
            self.engine.decide(decision, authorized_by=name, effective_at=effective)
        except GateClosed as exc:
            self.refusal = str(exc)
            self.notify(str(exc), title=exc.title, severity="error", timeout=12)
        except EngineError as exc:
            self.notify(str(exc), title=exc.title, severity="warning")
        else:
            self.refusal = ""
        self.refresh_body()

    def action_finish(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes and self.wizard.act(self.engine.finish):
                self.wizard.export_now()

        self.app.push_screen(
            ConfirmScreen(
                "Finish the run?",
                "The run is closed: it will no longer be offered for resume. The log is "
                "exported now.",
            ),
            answer,
        )
