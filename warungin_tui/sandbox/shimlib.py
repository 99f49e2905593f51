"""Small pieces shared by the docker shim's modules: errors, stderr lines, option parsing.

Standard library only (the shim must start fast).
"""

from __future__ import annotations

import sys


class ShimError(Exception):
    """Ends the command: message on stderr, exit status `code` (like the docker CLI)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def parse(
    args: list[str], flags: set[str], valued: set[str], *, stop_at_positional: bool = False
) -> tuple[dict[str, str], list[str]]:
    """Cobra-like option parsing: `--opt=v`, `--opt v`, `-o v`, `--` ends the flags; unknown
    flags are errors."""
    opts: dict[str, str] = {}
    rest: list[str] = []
    items = iter(range(len(args)))
    for i in items:
        arg = args[i]
        if arg == "--":  # pflag: the end of the flags, everything after is an argument
            return opts, [*rest, *args[i + 1 :]]
        if not arg.startswith("-") or arg == "-":
            if stop_at_positional:
                return opts, args[i:]
            rest.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in valued:
            if not eq:
                if i + 1 >= len(args):
                    raise ShimError(f"flag needs an argument: {name}")
                value = args[next(items)]
            opts[name] = value
        elif name in flags and not eq:
            opts[name] = ""
        else:
            raise ShimError(f"unknown flag: {name}")
    return opts, rest
