"""The one-line bar at the top of every run screen: where you are, and what runs where."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


class RunBar(Static):
    """Left: the screen's subject and its gate; right: release, target, operator."""

    def show(self, left: Text | str, right: Text | str) -> None:
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right", overflow="ellipsis", max_width=36)
        grid.add_row(
            left if isinstance(left, Text) else Text(left),
            right if isinstance(right, Text) else Text(right),
        )
        self.update(grid)
