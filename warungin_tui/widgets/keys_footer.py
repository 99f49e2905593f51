"""A Footer that redraws only when the keys it shows change, and does not leak when it does.

Textual 8.2.8's `Footer` recomposes on every `refresh_bindings()` (our screens call it on every
cursor move and run event), and each new `FooterKey` is `data_bind`-ed to the footer's `compact`:
the footer keeps a watcher per key ever made, so memory grows ~144 KiB a key press (upstream
Textualize/textual#6666). Here the keys shown are compared first, and keys get `compact` set
once instead of bound (our footers never change it).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Drop-in `Footer`; `recomposes` counts real redraws (tests assert cursor moves cause none)."""

    def __init__(self, *, compact: bool = False, show_command_palette: bool = True) -> None:
        super().__init__(compact=compact, show_command_palette=show_command_palette)
        self.recomposes = 0
        self._shown: Hashable = None

    def shown_keys(self, screen: Screen[Any]) -> Hashable:
        """What the footer would draw: each shown binding with its enabled state and tooltip."""
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # Footer's own bookkeeping, no redraw
            return
        shown = self.shown_keys(screen)
        if shown == self._shown and self._bindings_ready:
            return
        self._shown = shown
        self.recomposes += 1
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            # Unbind before mount (data_bind only connects at mount): no watcher left on us.
            widget._reactive_connect = None
            if hasattr(widget, "compact"):
                widget.compact = self.compact
            yield widget
