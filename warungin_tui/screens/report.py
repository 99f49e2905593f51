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

from warungin_tui.engine.checklists import (
    VERIFICATION_HEALTH,
    VERIFICATION_SECURITY,
    DerivedItem,
    ItemState,
    item_label,
    item_state,
)
from warungin_tui.engine.run import Run
from warungin_tui.playbook import StepSpec
from warungin_tui.screens.base import StepScreen
from warungin_tui.screens.messages import RunChanged, StepChanged
from warungin_tui.widgets.format import measured_text, plain, step_state_text
from warungin_tui.widgets.keys_footer import KeysFooter
from warungin_tui.widgets.run_bar import RunBar
from warungin_tui.widgets.step_list import RowList, row

ITEM_MARKS = {
    ItemState.YES: ("[✔]", "green"),
    ItemState.NO: ("[✘]", "bold red"),
    ItemState.OPEN: ("[ ]", "dim"),
    ItemState.OVERRIDDEN: ("[~]", "bold yellow"),
}


def _service_table(run: Run) -> Table | Text:
    value = run.results["phase2.services"].value
    services = value.get("services") if isinstance(value, dict) else None
    if not services:
        return Text("  not checked yet (Phase 2: Check all services)", style="dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(style="dim", overflow="ellipsis", no_wrap=True)
    for service in services:
        state, health = service.get("state", ""), service.get("health", "")
        running = state == "running"
        if running and health == "healthy":
            words, mark, style = "UP & HEALTHY", "✔", "green"
        elif running and not health:
            words, mark, style = "UP", "✔", "green"
        else:
            words = " ".join(w for w in (state or "missing", health) if w).upper()
            mark, style = "✘", "bold red"
        name = service.get("name") or f"warungin-{service.get('service')}"
        table.add_row(
            Text(f" {mark}", style=style), name, Text(words, style=style), service.get("status", "")
        )
    return table


def _items(run: Run, items: list[DerivedItem], values: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis", style="dim")
    for item in items:
        mark, style = ITEM_MARKS[item_state(run, item)]
        label = item_label(item, values)
        if label.startswith("All services started") and run.values.get("services_summary"):
            label += f": {run.values['services_summary']}"
        details = [run.results[s].detail for s in item.steps if run.results[s].detail]
        grid.add_row(Text(f" {mark}", style=style), label, details[0] if details else "")
    return grid


def _performance(run: Run) -> Text:
    values = run.values
    api = values.get("api_response_ms")
    users = values.get("concurrent_users")
    smoke4 = run.status("smoke.shift_caching")
    lines = [
        ("API Response Time", f"{api} ms" if api is not None else "not measured yet (Step 3.1)"),
        ("Frontend Load Time", measured_text(run, run.playbook.step("smoke.frontend_loads"))),
        ("Shift Cache Performance", f"checked by hand in smoke Test 4 ({smoke4})"),
        ("API Call Reduction", "not measured by this tool (see smoke Test 4)"),
        ("Concurrent Users", str(users) if users is not None else "not measured yet"),
    ]
    text = Text()
    for label, value in lines:
        text.append(f" {label + ':':<25}", style="bold")
        text.append(f"{value}\n")
    text.rstrip()
    return text


def verification_report(run: Run, values: dict[str, Any]) -> Group:
    """The report's four sections, in the seed's order and words."""

    def heading(title: str) -> Text:
        return Text(f"\n{title}", style="bold underline")

    return Group(
        Text(f"PRODUCTION VERIFICATION REPORT · {run.release} on {run.target}", style="bold"),
        heading("Service Status"),
        _service_table(run),
        heading("Health Checks"),
        _items(run, VERIFICATION_HEALTH, values),
        heading("Security Verification"),
        _items(run, VERIFICATION_SECURITY, values),
        heading("Performance Baseline"),
        _performance(run),
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
        yield KeysFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        steps = self.query_one(RowList)
        phase = self.run.playbook.phase("report")
        steps.add_options([Option(self.row_for(spec), id=spec.id) for spec in phase.steps])
        steps.select_id(self.initial_step or self.run.next_step("report") or phase.steps[0].id)
        steps.focus()
        self.refresh_bar()
        self.refresh_report()

    def row_for(self, spec: StepSpec) -> Table:
        icon, state, style = step_state_text(spec, self.run.results[spec.id], self.wizard.clock())
        return row(icon, style, spec.title, state)

    def refresh_report(self) -> None:
        report = verification_report(self.run, self.engine.values())
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
