"""Small helpers for the deployment-log export: times, durations, Markdown quoting, redaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# The key-block markers are redact.py's own, so both modules agree on what a key looks like.
from warungin_tui.redact import _KEY_BEGIN, _KEY_END, MASK, LineRedactor, redact_block, redact_text

LINE_CHARS_KEPT = 500
"""One output line longer than this (minified JSON, a progress bar) is cut in the export."""

# Keys whose values are our own fixed wording (seed labels, playbook titles), never run data.
# They are kept out of redaction because the patterns would mangle them: the seed's
# "Store authorization: 403 for unauthorized" reads like an `authorization:` header.
UNREDACTED_KEYS = frozenset({"label", "title", "seed_ref", "section", "schema"})


def na(reason: str) -> str:
    """The one way a field says it has no value: always with the reason."""
    return f"n/a ({reason})"


def who(by: str | None, entered_by: str | None, *, always: bool = False) -> str:
    """`Ana Putri, entered by Dewi`: the person answering and the operator who typed it.

    `always`: say who entered it even when it is the same person (sign-offs, decisions).
    """
    text = by or "unknown"
    if entered_by and (always or entered_by != by):
        text += f", entered by {entered_by}"
    return text


# -- time ----------------------------------------------------------------------------------------
def parse_at(value: str | None) -> datetime | None:
    """Journal times are ISO 8601; naive ones (never written by us) are taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def fmt_time(moment: datetime | str | None) -> str | None:
    """UTC everywhere: the log is read by people in other time zones, and must sort."""
    if isinstance(moment, str):
        moment = parse_at(moment)
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def long_date(moment: datetime) -> str:
    """The seed's date style: December 31, 2025."""
    return f"{moment:%B} {moment.day}, {moment.year}"


def fmt_minutes(seconds: float) -> str:
    """The seed counts in minutes; a phase under a minute also shows its seconds."""
    seconds = max(seconds, 0.0)
    return f"{seconds / 60:.1f} minutes" + (f" ({seconds:.1f} s)" if seconds < 60 else "")


def fmt_hours(seconds: float) -> str:
    return f"{max(seconds, 0.0) / 3600:.1f} hours"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return f"{seconds:.2f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def fmt_bytes(value: Any) -> str:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return str(value)
    amount, unit = float(size), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if amount < 1024:
            break
        amount, unit = amount / 1024, bigger
    return f"{size} B" if unit == "B" else f"{amount:.1f} {unit} ({size} bytes)"


# -- redaction -----------------------------------------------------------------------------------
def redact_lines(lines: list[str]) -> list[str]:
    """Redact lines as one stream; cut long lines.

    When a key's END line shows without its BEGIN (the BEGIN fell in the part of the output that
    was not kept), everything before the END may be key material: all of it is masked.
    """
    out = LineRedactor().lines([_cut(line) for line in lines])
    open_key = False
    for index, line in enumerate(lines):
        if _KEY_BEGIN.search(line):
            open_key = True
        if _KEY_END.search(line):
            if not open_key:
                out[: index + 1] = [MASK] * (index + 1)
            open_key = False
    return out


def _cut(line: str) -> str:
    if len(line) <= LINE_CHARS_KEPT:
        return line
    return f"{line[:LINE_CHARS_KEPT]}... ({len(line) - LINE_CHARS_KEPT} more characters)"


def redact_tree(node: Any) -> Any:
    """Redact every string of a JSON-like tree, except the values of UNREDACTED_KEYS."""
    if isinstance(node, str):
        return redact_block(node) if "\n" in node else redact_text(node)
    if isinstance(node, dict):
        return {k: v if k in UNREDACTED_KEYS else redact_tree(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        if node and all(isinstance(item, str) for item in node):
            return redact_lines(list(node))  # a list of lines is one stream (key blocks span lines)
        return [redact_tree(item) for item in node]
    return node


# -- Markdown ------------------------------------------------------------------------------------
# `_` is left alone: step ids are full of them, and intraword underscores never emphasise.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def esc(text: Any) -> str:
    """Inline text from the run: one line, Markdown and HTML specials escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code(text: Any, *, in_table: bool = False) -> str:
    """An inline code span that survives backticks in the text (and pipes inside tables)."""
    body = " ".join(str(text).split())
    if in_table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def fence(text: str, info: str = "text") -> str:
    """A fenced block longer than any backtick run inside, so output cannot close it early."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Cells must already be escaped (esc/code); newlines are flattened here."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(" ".join(cell.split()) or " " for cell in row) + " |")
    return "\n".join(lines)
