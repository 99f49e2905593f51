"""Remove secrets before anything is written or shown: tokens, URL passwords, key material."""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # user:password@ in URLs
    (re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)", re.I), rf"\g<pre>{MASK}"),
    # Authorization headers and bearer tokens
    (
        re.compile(
            r"(?P<pre>\b(?:authorization|proxy-authorization)\s*[:=]\s*)(?:\w+\s+)?\S+", re.I
        ),
        rf"\g<pre>{MASK}",
    ),
    (re.compile(r"(?P<pre>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), rf"\g<pre>{MASK}"),
    # key=value / key: value / "key": "value" for secret-looking keys
    (
        re.compile(
            r"(?P<pre>[\"']?\b[\w.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|"
            r"access[_-]?key|private[_-]?key)[\w.-]*[\"']?\s*[:=]\s*[\"']?)(?P<val>[^\s\"',;&]+)",
            re.I,
        ),
        rf"\g<pre>{MASK}",
    ),
    # sshpass -p "..."
    (re.compile(r"(?P<pre>\bsshpass\s+-p\s*)(\"[^\"]*\"|'[^']*'|\S+)"), rf"\g<pre>{MASK}"),
    # well-known token shapes
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), MASK),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"), MASK),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), MASK),
]

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")


# Every pattern above needs one of these words or shapes: lines without any skip the full scan,
# which keeps a 100,000-line build log cheap to record.
_MAYBE_SECRET = re.compile(
    r"pass|secret|token|key|auth|bearer|://|gh[pousr]_|AKIA|eyJ|xox[abprs]-", re.I
)


def redact_text(text: str) -> str:
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class LineRedactor:
    """Redacts line by line, remembering when it is inside a private key block."""

    def __init__(self) -> None:
        self.in_key = False

    def line(self, line: str) -> str:
        if self.in_key:
            if _KEY_END.search(line):
                self.in_key = False
            return MASK
        if "-----BEGIN" not in line:
            return redact_text(line)
        begin = _KEY_BEGIN.search(line)
        if begin:
            self.in_key = not _KEY_END.search(line, begin.end())
            return line[: begin.start()] + MASK
        return redact_text(line)

    def lines(self, lines: list[str]) -> list[str]:
        return [self.line(line) for line in lines]


def redact_block(text: str) -> str:
    redactor = LineRedactor()
    return "\n".join(redactor.lines(text.split("\n")))
