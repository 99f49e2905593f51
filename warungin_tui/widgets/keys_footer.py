"""A footer that draws its keys as one line of text, redrawn only when the keys change.

Textual 8.2.8's `Footer` recomposes on every `refresh_bindings()`: it removes its `FooterKey`
widgets and mounts new ones (CSS, layout, a full repaint: ~45 ms each time a step starts or
ends, or the cursor moves to a row with other keys), and each new key is `data_bind`-ed to the
footer, which keeps a watcher per key ever made (~144 KiB a key press, upstream
Textualize/textual#6666). Here the keys are one widget's text: a change of keys is a repaint
of one line, nothing is mounted and nothing is bound. The look is `Footer`'s compact one (the
same theme variables); the command palette's key, when shown, is Textual's own `FooterKey`,
mounted once. The keys are not clickable: the tool is keyboard-only.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class ShownKey(NamedTuple):
    """One key as the footer draws it."""

    key: str
    display: str
    description: str
    enabled: bool


class KeysLine(Widget):
    """The keys, left to right, as one line (cut at the right edge, as `Footer`'s are)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keys-line--key", "keys-line--description"}
    DEFAULT_CSS = """
    KeysLine {
        width: 1fr;
        height: 1;
        text-wrap: nowrap;
        .keys-line--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .keys-line--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.keys: tuple[ShownKey, ...] = ()

    def show(self, keys: tuple[ShownKey, ...]) -> None:
        self.keys = keys
        self.refresh()  # one line, fixed size: a repaint, never a layout

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keys-line--key")
        description_style = self.get_component_rich_style("keys-line--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        for shown in self.keys:
            item = Text.assemble((shown.display, key_style), end="")
            if shown.description:
                item.append(f" {shown.description}", style=description_style)
            if not shown.enabled:
                item.stylize(Style(dim=True))
            line.append_text(item)
            line.append(" ")  # Footer's compact margin between keys
        return line


class KeysFooter(Footer):
    """In place of `Footer(compact=True)`; `redraws` counts real changes of its keys (tests
    assert that cursor moves between rows with the same keys cause none)."""

    def __init__(self, *, show_command_palette: bool = True) -> None:
        super().__init__(compact=True, show_command_palette=show_command_palette)
        self.redraws = 0
        self._line = KeysLine()
        self._palette: FooterKey | None = None

    def compose(self) -> ComposeResult:
        yield self._line

    def shown_keys(self, screen: Screen[Any]) -> tuple[ShownKey, ...]:
        """What `Footer` would show: the first binding of each action, in binding order."""
        seen: set[str] = set()
        keys: list[ShownKey] = []
        for _, binding, enabled, _ in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append(
                ShownKey(
                    binding.key, self.app.get_key_display(binding), binding.description, enabled
                )
            )
        return tuple(keys)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            return
        keys = self.shown_keys(screen)
        if keys != self._line.keys:
            self.redraws += 1
            self._line.show(keys)
        if self._palette is None and self.show_command_palette:
            self._mount_palette_key(screen)

    def _mount_palette_key(self, screen: Screen[Any]) -> None:
        """The command palette's key, docked right as `Footer` docks it (mounted once)."""
        if not self.app.ENABLE_COMMAND_PALETTE:
            return
        active = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if active is None:
            return
        binding = active.binding
        self._palette = FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            classes="-command-palette",
            disabled=not active.enabled,
            tooltip=binding.tooltip or binding.description,
        )
        self._palette.compact = self.compact
        self.mount(self._palette)
