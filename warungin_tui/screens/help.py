"""Help: every key of the contract, from the same lists the screens bind (nothing missing)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from warungin_tui.screens.keys import HELP_ROWS
from warungin_tui.widgets.keys_footer import KeysFooter


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for keys, what in HELP_ROWS:
        table.add_row(keys, what)
    return table


class HelpScreen(ModalScreen[None]):
    """A scrollable list of keys; escape, q, ? or F1 closes it."""

    BINDINGS = [
        Binding(
            "escape,q,question_mark,f1",
            "close",
            "Close",
            tooltip="Close the help",
            id="warungin.help.close",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="help")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            yield Static(help_table(), id="help-table")
            yield Static(
                "Steps run on the server over one SSH connection; every action is written to "
                "the run's journal first, so quitting (q) keeps the run resumable.",
                classes="dialog-keys",
            )
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
