"""A step's output full-screen, wrapped and searchable (`v` on a phase opens and closes it).

The lines are a snapshot taken when the view opens: the whole output the run can read for the
step (see `step_output_lines`), not only what the small pane holds.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from warungin_tui.engine.output_file import output_file_path, read_full_output
from warungin_tui.engine.run import Run
from warungin_tui.widgets.keys_footer import KeysFooter
from warungin_tui.widgets.output_log import OutputLog
from warungin_tui.widgets.run_bar import RunBar

VIEW_LINES = 100_000
"""The view shows up to this many lines (a bound, so a flood cannot exhaust memory)."""


def step_output_lines(run: Run, step_id: str, journal_path: Path | None) -> list[str]:
    """The latest attempt's whole output from its side file (its last VIEW_LINES lines);
    without one (still running, not written, no journal), the lines the run keeps in memory."""
    result = run.results[step_id]
    name = (result.output_file or {}).get("name")
    if journal_path is not None and isinstance(name, str):
        path = output_file_path(journal_path, name)
        try:
            return list(deque(read_full_output(path), maxlen=VIEW_LINES))
        except (OSError, EOFError):
            pass  # unreadable: what the run holds is still worth showing
    return [line for _, line in result.output]


def matching(lines: list[str], query: str) -> list[str]:
    """The lines containing `query`, ignoring case; every line for an empty query."""
    wanted = query.strip().casefold()
    if not wanted:
        return lines
    return [line for line in lines if wanted in line.casefold()]


class OutputView(Screen[None]):
    """The whole output of one step; `/` searches (shows only the matching lines)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,v",
            "close",
            "Close",
            tooltip="Back to the phase",
            id="warungin.output.close",
        ),
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            tooltip="Show only the lines containing a text (enter: back to the lines)",
            id="warungin.output.search",
        ),
    ]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__(id="output-view")
        self.step_title = title
        self.lines = lines[-VIEW_LINES:]
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield RunBar(id="run-bar")
        yield Input(placeholder="/ search: only lines containing this text", id="output-search")
        yield OutputLog(max_lines=VIEW_LINES, id="output-full")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        self.show_lines("")
        self.query_one("#output-full", OutputLog).focus()

    def show_lines(self, query: str) -> None:
        self.shown = matching(self.lines, query)
        log = self.query_one("#output-full", OutputLog)
        log.clear()
        log.write_lines([line or " " for line in self.shown])
        counted = (
            f"{len(self.lines)} lines"
            if not query.strip()
            else f"{len(self.shown)} of {len(self.lines)} lines contain {query.strip()!r}"
        )
        left = Text(f"Output: {self.step_title}", style="bold")
        self.query_one(RunBar).show(left, Text(counted))

    @on(Input.Changed, "#output-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.show_lines(event.value)

    @on(Input.Submitted, "#output-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#output-full", OutputLog).focus()

    def action_search(self) -> None:
        self.query_one("#output-search", Input).focus()

    def action_close(self) -> None:
        search = self.query_one("#output-search", Input)
        if search.has_focus and self.app.focused is search and search.value:
            search.value = ""  # escape in the search first clears it
            return
        self.dismiss(None)
