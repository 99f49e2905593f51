"""Remove secrets before anything is written or shown: tokens, URL passwords, key material.

The engine calls this once, where output enters it (output batches, step outcomes, progress):
nothing downstream (journal, screen, `check`, `monitor`, exports) sees raw text. Every pattern
works within one line, so a batch of lines is redacted as one chunk: a cheap pre-filter finds the
few lines that may hold a secret, and only those go through the patterns. Private key blocks are
the one shape that spans lines; `StreamRedactor` carries that state across batches.

The pre-filter is one Aho-Corasick pass (ahocorasick-rs) over the lower-cased chunk for all the
anchor words at once: 30 substring scans took ~100 ms of a 200,000-line build's side file, the
one pass ~10 ms, with the GIL released while it scans.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from ahocorasick_rs import AhoCorasick, BytesAhoCorasick

MASK = "[REDACTED]"

DETAIL_CHARS = 1000
"""A step's detail (one sentence, perhaps with the line that explains it) is cut after this."""
STRING_CHARS = 4000
"""Any other single string (a value's field, a command) is cut after this."""
LINE_CHARS = 12_000
"""An output line is cut after this (Remote already cuts at 10,000 and says so: that passes)."""

# Values: a quoted string, or a run up to whitespace, a quote or a separator. Quantifiers are
# bounded so that a 2.5 MB line cannot make a pattern backtrack quadratically.
# A value may sit in a JSON string inside a JSON string, its quotes escaped: \"...\".
_VALUE = (
    r"(?:\\?\"[^\"\n\\]{0,2000}\\?\"|\\?'[^'\n\\]{0,2000}\\?'"
    r"|(?:[^\s\"',;&<>\\]|\\(?![\"'])){1,2000})"
)
_SECRET_NAME = (
    r"(?:[\w.-]{0,64}(?:password|passwd|passphrase|secret|token|credentials?|private[_-]?key"
    r"(?:[_-]?id)?|api[_-]?key|access[_-]?key|auth[_-]?key)"
    r"|[\w.-]{0,64}[_.-](?:pass|pwd|key))"
)


_QUOTE = re.compile(r"\\?[\"']")


def _mask_value(match: re.Match[str]) -> str:
    """The value masked, its quotes kept (JSON and YAML stay readable; a second pass is a no-op)."""
    value = match["val"]
    quote = _QUOTE.match(value)
    if quote is None or len(value) <= len(quote[0]):
        return f"{match['pre']}{MASK}"
    return f"{match['pre']}{quote[0]}{MASK}{quote[0]}"


_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Userinfo in URLs: scheme://user:pass@, scheme://:pass@ (the user is kept).
    (
        re.compile(
            r"(?P<pre>\b[a-z][a-z0-9+.-]{0,30}://[^/\s:@\"'<>]{0,200}:)[^/\s\"'<>]{1,500}@", re.I
        ),
        rf"\g<pre>{MASK}@",
    ),
    # scheme://token@host: a userinfo without a password is a secret unless it is a plain name.
    (
        re.compile(
            r"(?P<pre>\b[a-z][a-z0-9+.-]{0,30}://)(?!(?-i:[a-z_][a-z0-9_.-]{0,31})@)[^/\s:@\"'<>]{1,500}@",
            re.I,
        ),
        rf"\g<pre>{MASK}@",
    ),
    (re.compile(r"(?P<pre>\bhooks\.slack\.com/services/)[\w/-]{1,300}", re.I), rf"\g<pre>{MASK}"),
    # Authorization headers (any scheme), bearer tokens anywhere.
    (
        re.compile(
            r"(?P<pre>\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)(?:[A-Za-z]+[ \t]+)?"
            r"[^\s\"',;]{1,2000}",
            re.I,
        ),
        rf"\g<pre>{MASK}",
    ),
    (
        re.compile(r"(?P<pre>\bbearer[ \t]+)[A-Za-z0-9._~+/=-]{8,2000}", re.I),
        rf"\g<pre>{MASK}",
    ),
    # NAME=value, NAME: value, "name": "value" for secret-looking names (DB_PASS, SMTP_PWD,
    # JWT_SECRET, AWS_SECRET_ACCESS_KEY, password, api_key, _authToken, ...).
    (
        re.compile(
            rf"(?P<pre>\\?[\"']?\b{_SECRET_NAME}\\?[\"']?[ \t]*[:=][ \t]*)(?P<val>{_VALUE})", re.I
        ),
        _mask_value,
    ),
    # Command-line flags: --password x, --token=x; mysql -pSECRET; sshpass -p x.
    (
        re.compile(
            r"(?P<pre>--(?:password|passwd|pass|token|secret|api-key|access-key)[= ])"
            r"[^\s\"']{1,2000}",
            re.I,
        ),
        rf"\g<pre>{MASK}",
    ),
    (
        re.compile(
            r"(?P<pre>\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]{0,500}?"
            r"[ \t]-p)(?:\"[^\"\n]{0,2000}\"|'[^'\n]{0,2000}'|[^\s\"']{1,2000})"
        ),
        rf"\g<pre>{MASK}",
    ),
    (
        re.compile(r"(?P<pre>\bsshpass[ \t]+-p[ \t]*)(?:\"[^\"\n]*\"|'[^'\n]*'|\S+)"),
        rf"\g<pre>{MASK}",
    ),
    # Well-known token shapes.
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,200}"), MASK),
    (re.compile(r"\bwhsec_[A-Za-z0-9]{16,200}"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,200}"), MASK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,300}"), MASK),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{16,200}"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,300}"), MASK),
    (re.compile(r"\bnpm_[A-Za-z0-9]{30,100}"), MASK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,100}"), MASK),
    (re.compile(r"\bya29\.[0-9A-Za-z_-]{20,2000}"), MASK),
    (re.compile(r"\bSG\.[A-Za-z0-9_-]{16,100}\.[A-Za-z0-9_-]{16,100}"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,4000}\.[A-Za-z0-9_-]{8,4000}\.[A-Za-z0-9_-]{0,4000}"), MASK),
]

# AWS: the key id, and a 40-character secret key anywhere on the same line as one.
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----")
_NOT_NEWLINE = re.compile(r"[^\n]+")

# Every pattern above needs one of these (lower-case) words or shapes on its line: lines
# without any skip the full scan. One automaton pass over a lower-cased batch finds them all
# (a regex with 30 alternatives tries each at every position), which keeps a 200,000-line build
# log cheap to record.
_ANCHORS = (
    *("pass", "pwd", "secret", "token", "key", "credential", "auth", "bearer", "://"),
    *("hooks.slack", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat", "glpat-", "xox"),
    *("k_live", "k_test", "whsec_", "npm_", "aiza", "ya29.", "sg.", "eyj", "akia", "asia"),
    *("mysql", "mariadb"),
)

_FIND_ANCHOR_BYTES = BytesAhoCorasick([anchor.encode("ascii") for anchor in _ANCHORS])
_FIND_ANCHOR = AhoCorasick(_ANCHORS)

_SECRET_KEY_NAME = re.compile(rf"{_SECRET_NAME}", re.I)


def _redact_line(line: str) -> str:
    for pattern, replacement in _PATTERNS:
        line = pattern.sub(replacement, line)
    if _AWS_KEY_ID.search(line):
        line = _AWS_SECRET.sub(MASK, _AWS_KEY_ID.sub(MASK, line))
    return line


def _redact_plain(text: str) -> str:
    """Patterns on the lines of `text` that hold an anchor; the other lines are untouched."""
    lower: str | bytes
    if text.isascii():  # bytes: lower() costs a fraction of str's (same offsets)
        lower = text.encode("ascii").lower()
        found = _FIND_ANCHOR_BYTES.find_matches_as_indexes(lower)
    else:
        lower = text.lower()
        found = _FIND_ANCHOR.find_matches_as_indexes(lower)
    if not found:
        return text
    if "\n" not in text:
        return _redact_line(text)
    lines = text.split("\n")
    if len(lower) != len(text):  # a character whose lower case is longer: offsets differ
        return "\n".join(_redact_line(line) for line in lines)
    line_starts = [0]
    for line in lines[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    # Matches do not overlap, but an anchor hidden by an overlapping one is on the same line.
    for index in {bisect_right(line_starts, start) - 1 for _, start, _ in found}:
        lines[index] = _redact_line(lines[index])
    return "\n".join(lines)


def _mask_lines(text: str) -> str:
    """Every line of a key block becomes MASK; the newlines stay, so line counts do not change."""
    return _NOT_NEWLINE.sub(MASK, text)


class StreamRedactor:
    """Redacts a stream of text chunk by chunk, remembering when it is inside a private key."""

    def __init__(self) -> None:
        self.in_key = False

    def chunk(self, text: str) -> str:
        if not self.in_key and "-----BEGIN" not in text:
            return _redact_plain(text)
        # Key blocks first, so that `"private_key": "<block>"` is then seen as a whole.
        return _redact_plain(self._mask_keys(text))

    def _mask_keys(self, text: str) -> str:
        parts: list[str] = []
        done = 0
        if self.in_key:
            end = _KEY_END.search(text)
            if end is None:
                return _mask_lines(text)
            parts.append(_mask_lines(text[: end.end()]))
            done, self.in_key = end.end(), False
        while (begin := _KEY_BEGIN.search(text, done)) is not None:
            parts.append(text[done : begin.start()])
            end = _KEY_END.search(text, begin.end())
            if end is None:
                self.in_key = True
                parts.append(_mask_lines(text[begin.start() :]))
                return "".join(parts)
            # BEGIN and END on one line (a JSON string with \n): one MASK for the block.
            block = text[begin.start() : end.end()]
            parts.append(MASK if "\n" not in block else _mask_lines(block))
            done = end.end()
        parts.append(text[done:])
        return "".join(parts)

    def lines(self, lines: list[str], limit: int | None = None) -> list[str]:
        """A batch of lines (none containing a newline), redacted as one chunk; with `limit`,
        each line is cut after that many characters (only the part kept is redacted)."""
        if not lines:
            return []
        if limit is None or max(map(len, lines)) <= limit:
            return self.chunk("\n".join(lines)).split("\n")
        windows = [window(line, limit) for line in lines]
        clean = self.chunk("\n".join(windows)).split("\n")
        return [clip(text, limit, len(line)) for text, line in zip(clean, lines, strict=True)]

    def text(self, lines: list[str], limit: int | None = None) -> str:
        """`lines` redacted and joined with newlines, as a file writes them (not split back)."""
        if limit is None or max(map(len, lines), default=0) <= limit:
            return self.chunk("\n".join(lines))
        return "\n".join(self.lines(lines, limit))

    def line(self, line: str) -> str:
        return self.chunk(line)


LineRedactor = StreamRedactor  # the name exports and older callers use


def redact_text(text: str) -> str:
    """Any string, one line or many (a key block inside is masked whole)."""
    return StreamRedactor().chunk(text)


redact_block = redact_text

# Of a string longer than its limit, only this much more than the limit is redacted (a 2.5 MB
# error line is not scanned whole to keep 1,000 characters of it).
WINDOW_MARGIN = 1000
_PARTIAL_TOKEN = re.compile(r"[\w.+/=~:@%-]{1,4000}$")


def window(text: str, limit: int) -> str:
    """The start of `text` worth redacting when `limit` characters are kept. Where the window
    cuts a token (a run of word, URL or base64 characters), the token is dropped: half a
    token is a secret that no pattern recognises."""
    if len(text) <= limit + WINDOW_MARGIN:
        return text
    return _PARTIAL_TOKEN.sub("", text[: limit + WINDOW_MARGIN])


def clip(text: str, limit: int, total: int | None = None) -> str:
    """At most `limit` characters of already redacted text, saying how much of the original
    (`total` characters, when `text` is a redacted window of it) was cut."""
    total = max(len(text), total or 0)
    if total <= limit:
        return text
    kept = text[:limit]
    return f"{kept}... ({total - len(kept)} characters cut)"


def excerpt(text: str, limit: int) -> str:
    """Redact, then cut: cutting first could leave half a secret no pattern recognises."""
    return clip(redact_text(window(text, limit)), limit, len(text))


def redact_value(node: Any, limit: int = STRING_CHARS) -> Any:
    """A JSON-like value with every string redacted and cut at `limit`, however deep.

    A list of strings is one stream (a key block may span its items); a dict entry whose key
    names a secret (`password`, `api_key`, ...) is masked whatever its value looks like.
    """
    if isinstance(node, str):
        return excerpt(node, limit)
    if isinstance(node, dict):
        return {
            key: MASK
            if isinstance(key, str)
            and _SECRET_KEY_NAME.fullmatch(key)
            and node[key] not in (None, "")
            else redact_value(node[key], limit)
            for key in node
        }
    if isinstance(node, list | tuple):
        if (
            node
            and all(isinstance(item, str) for item in node)
            and not any("\n" in i for i in node)
        ):
            return StreamRedactor().lines(list(node), limit)
        return [redact_value(item, limit) for item in node]
    return node
