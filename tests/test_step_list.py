"""A list row lays itself out on one line, as the rich table grid it replaced did."""

from __future__ import annotations

import random
import string

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from warungin_tui.widgets.step_list import Row

CONSOLE = Console(width=200, color_system="truecolor", force_terminal=True)


def table_row(icon: str, style: str, label: str, state: str, *, ref: str, extra: str) -> Table:
    """The row as it was drawn before (Table.grid): the oracle for the row's layout."""
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    if ref:
        grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(no_wrap=True, justify="right")
    title = Text(label)
    if extra:
        title.append(f"  {extra}", style="italic")
    cells = [Text(icon, style=style)]
    if ref:
        cells.append(Text(ref, style="dim"))
    grid.add_row(*cells, title, Text(state, style=style))
    return grid


def cells(renderable: object, width: int) -> list[list[tuple[str, Style | None]]]:
    """Each line as (character, style) pairs: the same picture whatever the segmentation."""
    lines = CONSOLE.render_lines(renderable, CONSOLE.options.update_width(width), pad=False)
    return [[(char, seg.style or None) for seg in line for char in seg.text] for line in lines]


def test_a_row_draws_what_the_table_grid_drew_at_every_list_width() -> None:
    picks = random.Random(14)
    letters = string.ascii_letters + " ─→é"
    for _ in range(1500):
        width = picks.randint(45, 140)  # an 80-column terminal's list is ~78 wide, 60x20's ~58
        args = (
            picks.choice("✓○●✗ "),
            picks.choice(["green", "dim", "bold", "red", "", "bold yellow"]),
            "".join(picks.choice(letters) for _ in range(picks.randint(1, 90))),
            picks.choice(["passed 0.3s", "pending", "running 12s ⠋", "ready (R)   3/10 0:01:02"]),
        )
        ref = picks.choice(["", "1.1", "Step 4.12", "Rollback 10"])
        extra = picks.choice(["", "93 ms"])
        expected = cells(table_row(*args, ref=ref, extra=extra), width)
        assert cells(Row(*args, ref=ref, extra=extra), width) == expected, (width, args, ref)


@pytest.mark.parametrize("width", range(1, 60))
def test_a_row_is_one_line_of_the_list_width_however_narrow(width: int) -> None:
    line = Row("✓", "green", "Rollback the whole stack", "ready (R) 3/10", ref="Step 4.2")
    segments = list(CONSOLE.render(line, CONSOLE.options.update_width(width)))
    assert sum(seg.text.count("\n") for seg in segments) == 1  # what OptionList measures
    assert Segment.get_line_length([s for s in segments if s.text != "\n"]) == width


def test_a_narrow_row_cuts_the_state_words_before_the_title() -> None:
    line = Row("✓", "green", "Rollback the whole stack", "ready (R)   3/10 0:01:02", ref="4.2")
    text = "".join(char for char, _ in cells(line, 30)[0])
    assert text == "✓ 4.2      Rollbac… ready (R)…"
