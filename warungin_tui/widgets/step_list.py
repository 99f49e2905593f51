"""A keyboard list of rows (steps or phases) that redraws one row at a time."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

GROUP_PREFIX = "group:"


def row(icon: str, style: str, label: str, state: str, *, ref: str = "", extra: str = "") -> Table:
    """One line: status icon, optional short seed reference, title (ellipsized), state words."""
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    if ref:
        grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(no_wrap=True, justify="right")
    title = Text(label)
    if extra:
        title.append(f"  {extra}", style="italic")
    cells: list[Text] = [Text(icon, style=style)]
    if ref:
        cells.append(Text(ref, style="dim"))
    cells += [title, Text(state, style=style)]
    grid.add_row(*cells)
    return grid


def group_header(name: str) -> Option:
    """A header row the cursor skips (disabled option)."""
    return Option(Text(f"── {name} ", style="bold"), id=f"{GROUP_PREFIX}{name}", disabled=True)


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
