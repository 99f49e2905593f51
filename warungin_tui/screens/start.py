"""Start: who operates, against which target and release; resume an unfinished run or start anew.

`enter` in the name field starts (resuming by default when a run is unfinished), so a script
can get going with one key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from warungin_tui.config_beside import StartInfo
from warungin_tui.journal import describe_holder, journal_holder
from warungin_tui.screens.messages import StartRequested
from warungin_tui.widgets.keys_footer import KeysFooter

if TYPE_CHECKING:
    from warungin_tui.engine.run import Run


class StartScreen(Screen[None]):
    """Confirm the operator's name, then connect (in a worker, run by the app)."""

    AUTO_FOCUS = "#operator"  # focused as the screen mounts: no first focus moved away again
    BINDINGS = [
        # Typing goes into the name field, so `q` cannot quit here (the app hides it while a
        # text field has focus): ctrl+q is shown instead. Priority, or the app's hidden
        # ctrl+q would take its place in the footer.
        Binding(
            "ctrl+q",
            "app.quit",
            "Quit",
            tooltip="Quit (no run started yet)",
            id="warungin.start.quit",
            priority=True,
        ),
    ]

    def __init__(
        self,
        info: StartInfo,
        config_path: Path,
        unfinished: Path | None,
        unfinished_run: Run | None,
        *,
        scenario: str | None = None,
    ) -> None:
        super().__init__(id="start")
        self.scenario = scenario
        """A rehearsal (`demo`): its scenario in a line, shown so nobody takes it for real."""
        self.start_info = info
        self.config_path = config_path
        self.unfinished = unfinished
        self.unfinished_run = unfinished_run
        self.connecting = False

    def compose(self) -> ComposeResult:
        start = self.start_info
        info = Text()
        for label, value in (
            ("Target ", start.label),
            ("Release", f"{start.version} (branch {start.branch})"),
            ("Project", start.project_dir),
            ("Config ", str(self.config_path)),
        ):
            info.append(f"{label}  ", style="bold")
            info.append(f"{value}\n")
        if self.scenario is not None:
            info.append("Demo     ", style="bold yellow")  # a rehearsal, not production
            info.append(f"{self.scenario}\n")
        info.rstrip()
        with VerticalScroll(id="start-body"):
            yield Static("Warungin POS production deployment", id="start-title")
            yield Static(info, id="start-info")
            with Vertical(id="start-form"):
                yield Static("Operator (your name, recorded with every action):", markup=False)
                yield Input(start.operator_name, placeholder="Your name", id="operator")
                if self.unfinished is not None:
                    yield Static(self._unfinished_text(), id="unfinished")
                    yield OptionList(
                        Option("Resume the unfinished run", id="resume"),
                        Option("Start a new run (the old one stays on disk)", id="new"),
                        id="run-choice",
                    )
            yield Static(self._keys_text(), id="start-keys")
            yield Static("", id="start-status")
        yield KeysFooter()

    def _unfinished_text(self) -> Text:
        text = Text("An unfinished run exists for this target: ", style="bold yellow")
        run = self.unfinished_run
        if run is None:
            text.append(str(self.unfinished))
            return text
        # Only with an unfinished run: the formatting helpers pull in the run model.
        from warungin_tui.widgets.format import parse_at

        current = run.playbook.phase(run.current_phase()).title
        started = parse_at(run.started_at)
        when = started.astimezone().strftime("%Y-%m-%d %H:%M %Z") if started else "?"
        text.append(f"{run.run_id}, started {when} by {run.operator}; ")
        text.append(f"it stands at {current}.")
        holder = journal_holder(self.unfinished) if self.unfinished is not None else None
        if holder is not None:
            text.append(
                f"\nIt is open in {describe_holder(holder)}: resuming shows it read-only.",
                style="bold red",
            )
        return text

    def _keys_text(self) -> str:
        if self.unfinished is not None:
            return "enter = go (resume is chosen; tab, then up/down to start a new run instead)"
        return "enter = connect and start"

    def on_mount(self) -> None:
        self.query_one("#operator", Input).focus()

    @on(Input.Submitted, "#operator")
    def _name_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.go()

    @on(OptionList.OptionSelected, "#run-choice")
    def _choice_made(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.go()

    def go(self) -> None:
        """Send the start intent; the app connects and answers through `show_status`."""
        if self.connecting:
            self.notify("Already connecting; wait for the answer.", severity="warning")
            return
        name = self.query_one("#operator", Input).value.strip()
        if not name:
            self.show_status("Type the operator's name first (it is recorded in the log).", True)
            self.query_one("#operator", Input).focus()
            return
        resume = None
        if self.unfinished is not None:
            choice = self.query_one("#run-choice", OptionList).highlighted_option
            resume = self.unfinished if choice is None or choice.id == "resume" else None
        self.connecting = True
        self.show_status(f"Connecting to {self.start_info.label} ...", False)
        self.post_message(StartRequested(name, resume))

    def show_status(self, message: str, error: bool) -> None:
        status = self.query_one("#start-status", Static)
        status.update(Text(message, style="bold red" if error else "bold"))

    def connect_failed(self, title: str, message: str) -> None:
        self.connecting = False
        self.show_status(f"{title}: {message}\nPress enter to try again.", True)
