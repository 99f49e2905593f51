"""Yes/no confirmation: a modal that answers True (y) or False (n, escape)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask before anything destructive or final; never defaults to yes on enter."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", tooltip="Yes, go ahead", id="warungin.confirm.yes"),
        Binding("n", "answer(False)", "No", tooltip="No, do nothing", id="warungin.confirm.no"),
        Binding(
            "escape",
            "answer(False)",
            "Cancel",
            tooltip="Cancel (same as no)",
            id="warungin.confirm.cancel",
        ),
    ]

    def __init__(self, title: str, message: str, *, danger: bool = False) -> None:
        super().__init__(name="confirm")  # a name, not an id: dialogs chain
        self.title_text = title
        self.message = message
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger" if self.danger else "dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            # A long message (the rollback's restore preview) scrolls: at 60x20 the keys line
            # below it must stay in sight, so the body gets at most 60% of the screen's height.
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self.message, classes="dialog-body", markup=False)
            yield Static("y = yes    n or escape = no", classes="dialog-keys")
        yield Footer(compact=True, show_command_palette=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
