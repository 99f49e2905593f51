"""Completion and security handoff: what the run already knows, then what a person confirms."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from warungin_tui.engine.checklists import COMPLETION, SECURITY_HANDOFF
from warungin_tui.report.template import item_rows
from warungin_tui.screens.messages import RunChanged, StepChanged
from warungin_tui.screens.phase import PhaseScreen
from warungin_tui.screens.report import item_mark


class CompletionScreen(PhaseScreen):
    """The phase screen with the derived checklists (read-only) above the step detail."""

    def compose_extra(self) -> ComposeResult:
        yield Static(id="derived")

    def on_mount(self) -> None:
        self.refresh_derived()

    def refresh_derived(self) -> None:
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        left = Text("Completion (from the run)", style="bold")
        right = Text("Security handoff", style="bold")
        grid.add_row(left, right)
        columns = [item_rows(self.run, items) for items in (COMPLETION, SECURITY_HANDOFF)]
        for index in range(max(len(column) for column in columns)):
            cells = []
            for column in columns:
                if index < len(column):
                    mark, style = item_mark(column[index]["state"])
                    cell = Text(f"{mark} ", style=style)
                    cell.append(column[index]["label"])
                    cells.append(cell)
                else:
                    cells.append(Text(""))
            grid.add_row(*cells)
        self.query_one("#derived", Static).update(grid)

    def on_step_changed(self, message: StepChanged) -> None:
        self.refresh_derived()

    def on_run_changed(self, message: RunChanged) -> None:
        self.refresh_derived()
