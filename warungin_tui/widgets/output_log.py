"""The output pane: a bounded log that wraps long lines (an error is never cut at the edge)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog


class OutputLog(RichLog):
    """Step output as plain text (server output is never read as markup), wrapped, bounded;
    `plain_lines` keeps what was written, for searching and for tests."""

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(
            max_lines=max_lines, wrap=True, markup=False, highlight=False, min_width=20, id=id
        )
        self.plain_lines: deque[str] = deque(maxlen=max_lines)

    def write_lines(self, lines: Iterable[str]) -> None:
        """Append lines in one render (a batch of hundreds stays one write)."""
        batch = list(lines)
        if not batch:
            return
        if self.max_lines is not None:  # never wrap and render lines the log would drop at once
            batch = batch[-self.max_lines :]
        self.plain_lines.extend(batch)
        self.write(Text("\n".join(batch)))

    def clear(self) -> OutputLog:
        self.plain_lines.clear()
        super().clear()
        return self
