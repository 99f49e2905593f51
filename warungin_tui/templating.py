"""Fill `{name}` templates: shell-quoted for commands, verbatim for messages and URLs."""

from __future__ import annotations

import shlex
import string
from collections.abc import Mapping, Sequence
from typing import Any

from warungin_tui.errors import WarunginError


class TemplateValueMissing(WarunginError, KeyError):
    """A template names a value the run does not know (yet)."""

    title = "Value not known yet"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"the value {{{self.name}}} is not known yet (an earlier step records it)"


def shell_quote(value: Any) -> str:
    """One shell word per value; a list becomes several quoted words."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return " ".join(shlex.quote(str(item)) for item in value)
    return shlex.quote(str(value))


class _Formatter(string.Formatter):
    def __init__(self, quote: bool) -> None:
        self.quote = quote

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int):
            raise TemplateValueMissing(str(key))
        if key not in kwargs:
            raise TemplateValueMissing(key)
        return kwargs[key]

    def format_field(self, value: Any, format_spec: str) -> str:
        if self.quote:
            return shell_quote(value)
        if isinstance(value, Sequence) and not isinstance(value, str | bytes):
            return " ".join(str(item) for item in value)
        return format(value, format_spec)


_SHELL = _Formatter(quote=True)
_PLAIN = _Formatter(quote=False)


def render_command(template: str, values: Mapping[str, Any]) -> str:
    """Every substituted value reaches the remote shell as literal argument(s)."""
    return _SHELL.vformat(template, (), values)


def render_plain(template: str, values: Mapping[str, Any]) -> str:
    return _PLAIN.vformat(template, (), values)
