"""The evidence of a failure: the output lines that show why a step failed.

Pure (no Textual, no I/O): the detail pane and anything else that explains a failure read the
same answer. Lines come from the step's output as the run keeps it (already redacted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from warungin_tui.engine.run import StepResult

EVIDENCE_LINES = 4
"""At most this many lines: the pane stays readable; the full output view has the rest."""
ERROR_WORDS = re.compile(
    r"\b(error|errors|failed|failure|fatal|unhealthy|exited|dead|exception|traceback|"
    r"denied|refused|cannot|can't|not found|no such|timed out|timeout|unknown)\b|\bERR!",
    re.IGNORECASE,
)
EXCERPT_RULE = "------"
_MIN_QUOTED = 8
"""A detail shorter than this is not looked for in the lines (a bare '0' or 'ok')."""


def failure_evidence(result: StepResult, limit: int = EVIDENCE_LINES) -> list[str]:
    """The output lines that show the failure, in output order: first the cause a tool quotes
    itself (BuildKit's `------` block), then lines holding the outcome's detail, then those
    naming an error (stderr first); without any, the last lines. Lines the detail already
    quotes in full are left out; empty when nothing else is left (the detail is the evidence)."""
    lines = _output_lines(result.output)
    if not lines:
        return []
    said = " ".join((result.detail or "").split())
    # A line the detail already shows in full is not repeated; one holding the detail is shown.
    lines = [(stream, line) for stream, line in lines if " ".join(line.split()) not in said]
    if not lines:
        return []
    excerpt = _tool_excerpt(lines)
    quoted = [i for i, (_, line) in enumerate(lines) if _quoted(line, said)]
    errors = [i for i, (_, line) in enumerate(lines) if _erroneous(line)]
    errors.sort(key=lambda i: lines[i][0] != "stderr")  # stderr first, each in output order
    chosen: list[int] = []
    for index in [*excerpt, *quoted, *errors]:
        if index not in chosen:
            chosen.append(index)
        if len(chosen) == limit:
            break
    if not chosen:
        chosen = list(range(max(0, len(lines) - min(limit, 2)), len(lines)))
    return [lines[i][1] for i in sorted(chosen)]


def _tool_excerpt(lines: list[tuple[str, str]]) -> list[int]:
    """The lines a tool itself quotes as the cause between two `------` rules (BuildKit prints
    the failed step's last output that way), the last such block."""
    rules = [i for i, (_, line) in enumerate(lines) if line == EXCERPT_RULE]
    if len(rules) < 2:
        return []
    start, end = rules[-2], rules[-1]
    return list(range(start + 1, end))


def _output_lines(output: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(stream, line.strip()) for stream, line in output if line.strip()]


def _quoted(line: str, said: str) -> bool:
    """Whether the line holds the detail's words (a parser's sentence quoting the line)."""
    return len(said) >= _MIN_QUOTED and said in " ".join(line.split())


def _erroneous(line: str) -> bool:
    return ERROR_WORDS.search(line) is not None
