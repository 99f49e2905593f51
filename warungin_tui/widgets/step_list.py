"""A keyboard list of rows (steps or phases) that redraws one row at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

GROUP_PREFIX = "group:"
REF_CELLS = 8
"""The seed reference's column ("Step 4.2", "Test 3")."""
MIN_TITLE_CELLS = 8


class Row:
    """One list row on one line: status icon, optional seed reference, title (cut with an
    ellipsis), state words at the right edge, one space between them.

    It lays itself out for the width it is given. A rich `Table.grid` drew the same line, but
    OptionList measures every row's height, by rendering it, whenever any row changes (a
    running step's row changes 4 times a second), and a table per row was a quarter of the
    event loop's time during a 200,000-line build.
    """

    def __init__(
        self, icon: str, style: str, label: str, state: str, *, ref: str = "", extra: str = ""
    ) -> None:
        self.icon, self.style, self.state, self.ref = icon, style, state, ref
        self.title = Text(label)
        if extra:
            self.title.append(f"  {extra}", style="italic")

    def line(self, width: int) -> Text:
        icon = Text(self.icon, style=self.style)
        icon.truncate(1, pad=True)
        line = Text()  # appended to (a Text added to another takes on the first one's style)
        line.append_text(icon)
        line.append(" ")
        if self.ref:
            ref = Text(self.ref, style="dim")
            ref.truncate(REF_CELLS, overflow="ellipsis", pad=True)
            line.append_text(ref)
            line.append(" ")
        state = Text(self.state, style=self.style)
        free = width - line.cell_len - 1  # for the title and the state, a space between them
        room = free - state.cell_len
        if room < MIN_TITLE_CELLS:  # a narrow list: the state words give way to the title first
            state.truncate(max(1, free - MIN_TITLE_CELLS), overflow="ellipsis")
            room = max(1, free - state.cell_len)
        title = self.title.copy()
        title.truncate(room, overflow="ellipsis")
        line.append_text(title)
        line.append(" " * (room - title.cell_len + 1))
        line.append_text(state)
        line.truncate(width)  # narrower still: cut at the edge
        return line

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        yield from self.line(options.max_width).render(console)
        yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(options.max_width, options.max_width)  # always the full width


def group_header(name: str) -> Option:
    """A header row the cursor skips (disabled option)."""
    header = Text(f"── {name} ", style="bold", no_wrap=True, overflow="ellipsis")
    return Option(header, id=f"{GROUP_PREFIX}{name}", disabled=True)


class RowList(OptionList, inherit_bindings=False):
    """OptionList without its own `enter`: the screen binds enter, so the footer can show it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "down", "cursor_down", "Down", show=False, tooltip="Next row", id="warungin.list.down"
        ),
        Binding("up", "cursor_up", "Up", show=False, tooltip="Previous row", id="warungin.list.up"),
        Binding(
            "home", "first", "First", show=False, tooltip="First row", id="warungin.list.first"
        ),
        Binding("end", "last", "Last", show=False, tooltip="Last row", id="warungin.list.last"),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            tooltip="A page down",
            id="warungin.list.page_down",
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            tooltip="A page up",
            id="warungin.list.page_up",
        ),
    ]

    @property
    def selected_id(self) -> str | None:
        """Id of the highlighted row, None for a header or an empty list."""
        option = self.highlighted_option
        if option is None or option.disabled or option.id is None:
            return None
        return option.id

    def select_id(self, row_id: str) -> None:
        try:
            self.highlighted = self.get_option_index(row_id)
        except OptionDoesNotExist:
            return  # an unknown id keeps the current row

    def first_enabled(self) -> None:
        self.action_first()
