"""The seed's PRODUCTION VERIFICATION REPORT, filled from the run; two items need a person."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warungin_tui.config import Config
from warungin_tui.engine.run import Run
from warungin_tui.playbook import StepSpec
from warungin_tui.report.sections import verification
from warungin_tui.screens.base import StepScreen
from warungin_tui.screens.messages import RunChanged, StepChanged
from warungin_tui.widgets.format import plain, step_state_text
from warungin_tui.widgets.keys_footer import KeysFooter
from warungin_tui.widgets.run_bar import RunBar
from warungin_tui.widgets.step_list import Row, RowList

ITEM_MARKS = {
    "YES": ("[✔]", "green"),
    "NO": ("[✘]", "bold red"),
    "OPEN": ("[ ]", "dim"),
    "OVERRIDDEN": ("[~]", "bold yellow"),
}
HEALTHY_SERVICE = {"UP & HEALTHY", "UP"}


def item_mark(state_word: str) -> tuple[str, str]:
    """The box and colour for an item row's state word (report model: YES, NO, OPEN, ...)."""
    return ITEM_MARKS.get(state_word.split()[0] if state_word else "", ("[?]", "bold yellow"))


def _service_table(services: dict[str, Any]) -> Table | Text:
    if not services["rows"]:
        return Text(f"  {services['note'] or 'not checked yet'}", style="dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(style="dim", overflow="ellipsis", no_wrap=True)
    for service in services["rows"]:
        words = service["result"]
        mark, style = ("✔", "green") if words in HEALTHY_SERVICE else ("✘", "bold red")
        name = service.get("name") or f"warungin-{service.get('service')}"
        table.add_row(
            Text(f" {mark}", style=style), name, Text(words, style=style), service.get("status", "")
        )
    return table


def _items(rows: list[dict[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis", style="dim")
    for item in rows:
        mark, style = item_mark(str(item["state"]))
        grid.add_row(Text(f" {mark}", style=style), item["label"], item["evidence"])
    return grid


def _performance(performance: dict[str, str]) -> Text:
    text = Text()
    for label, value in performance.items():
        text.append(f" {label + ':':<25}", style="bold")
        text.append(f"{value}\n")
    text.rstrip()
    return text


def verification_report(run: Run, config: Config) -> Group:
    """The report's four sections, in the seed's order and words, from the one report model
    (report.sections.verification): the screen and the export cannot disagree."""
    section = verification(run, config)

    def heading(title: str) -> Text:
        return Text(f"\n{title}", style="bold underline")

    return Group(
        Text(f"PRODUCTION VERIFICATION REPORT · {run.release} on {run.target}", style="bold"),
        heading("Service Status"),
        _service_table(section["services"]),
        heading("Health Checks"),
        _items(section["health"]),
        heading("Security Verification"),
        _items(section["security"]),
        heading("Performance Baseline"),
        _performance(section["performance"]),
    )


class ReportScreen(StepScreen):
    """The two manual security items on top (space/x), the filled-in report below (tab, scroll)."""

    def __init__(self, step_id: str | None = None) -> None:
        super().__init__(id="phase-report")
        self.phase_id = "report"
        self.initial_step = step_id

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        yield RowList(id="report-steps")
        yield Static(id="report-item")
        with VerticalScroll(id="report-body"):
            yield Static(id="report-text")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        steps = self.query_one(RowList)
        phase = self.run.playbook.phase("report")
        steps.add_options([Option(self.row_for(spec), id=spec.id) for spec in phase.steps])
        steps.select_id(self.initial_step or self.run.next_step("report") or phase.steps[0].id)
        steps.focus()
        self.refresh_bar()
        self.refresh_report()

    def row_for(self, spec: StepSpec) -> Row:
        icon, state, style = step_state_text(spec, self.run.results[spec.id], self.wizard.clock())
        return Row(icon, style, spec.title, state)

    def refresh_report(self) -> None:
        report = verification_report(self.run, self.engine.config)
        self.query_one("#report-text", Static).update(report)

    @on(OptionList.OptionHighlighted)
    def _moved(self) -> None:
        self.refresh_item()
        self.refresh_bindings()

    def refresh_item(self) -> None:
        """What the selected manual item asks for, in full (the row only has its title)."""
        spec = self.selected_spec()
        text = Text()
        if spec is not None:
            result = self.run.results[spec.id]
            text.append("Look for: ", style="bold")
            text.append(spec.look_for or "")
            text.append("\nOpen: ", style="bold")
            text.append(plain(spec.url_to_open, self.engine.values()), style="underline")
            if result.note:
                text.append(f"\nNote: {result.note}", style="dim")
        self.query_one("#report-item", Static).update(text)

    def on_step_changed(self, message: StepChanged) -> None:
        if self._in_phase(message.step_id):
            spec = self.run.playbook.step(message.step_id)
            self.query_one(RowList).replace_option_prompt(spec.id, self.row_for(spec))
            self.refresh_item()
        self.refresh_report()

    def on_run_changed(self, message: RunChanged) -> None:
        self.refresh_report()
