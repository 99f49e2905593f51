"""The evidence of a failure: the output lines that show why a step failed.

Pure (no Textual, no I/O): the detail pane and anything else that explains a failure read the
same answer. Lines come from the step's output as the run keeps it (already redacted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from warungin_tui.run import StepResult

EVIDENCE_LINES = 4
"""At most this many lines: the pane stays readable; the full output view has the rest."""
ERROR_WORDS = re.compile(
    r"\b(error|errors|err!|failed|failure|fatal|unhealthy|exited|dead|exception|traceback|"
    r"denied|refused|cannot|can't|not found|no such|timed out|timeout|unknown)\b",
    re.IGNORECASE,
)
_MIN_QUOTED = 8
"""A line shorter than this is not taken as "quoted by the detail" (a bare '0' or 'ok')."""


def failure_evidence(result: StepResult, limit: int = EVIDENCE_LINES) -> list[str]:
    """The output lines that show the failure, in output order: first those the outcome's
    detail quotes, then those naming an error (stderr first); without either, the last lines.
    Empty when the step produced no output (the detail is then all the evidence)."""
    lines = _output_lines(result.output)
    if not lines:
        return []
    detail = result.detail or ""
    quoted = [i for i, (_, line) in enumerate(lines) if _quoted(line, detail)]
    errors = [i for i, (_, line) in enumerate(lines) if _erroneous(line)]
    errors.sort(key=lambda i: lines[i][0] != "stderr")  # stderr first, each in output order
    chosen: list[int] = []
    for index in [*quoted, *errors]:
        if index not in chosen:
            chosen.append(index)
        if len(chosen) == limit:
            break
    if not chosen:
        chosen = list(range(max(0, len(lines) - min(limit, 2)), len(lines)))
    return [lines[i][1] for i in sorted(chosen)]


def _output_lines(output: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(stream, line.strip()) for stream, line in output if line.strip()]


def _quoted(line: str, detail: str) -> bool:
    said = detail.strip()
    if len(line) < _MIN_QUOTED:
        return False
    return line in said or (len(said) >= _MIN_QUOTED and said in line)


def _erroneous(line: str) -> bool:
    return ERROR_WORDS.search(line) is not None
