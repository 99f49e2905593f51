"""Secrets seen in output never survive redaction; ordinary lines pass untouched."""

from __future__ import annotations

import pytest

from warungin_tui.redact import MASK, LineRedactor, redact_block, redact_text

SECRETS = [
    ("postgres://app:s3cretpw@db:5432/x", "s3cretpw"),
    ("Authorization: Bearer abcdef123456789", "abcdef123456789"),
    ("curl -H 'authorization: token zzzzyyyyxxxx'", "zzzzyyyyxxxx"),
    ("password=hunter2", "hunter2"),
    ('{"password": "hunter2", "email": "a@b"}', "hunter2"),
    ("DB_PASSWORD: topsecret1", "topsecret1"),
    ("export API_KEY=abc123def456", "abc123def456"),
    ("sshpass -p 'p4ss word' ssh root@h", "p4ss word"),
    ("token ghp_" + "a" * 36, "ghp_" + "a" * 36),
    ("aws AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
    ("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0NTY3.SflKxwRJSMeKKF2QT4f", "SflKxwRJSMeKKF2QT4f"),
]


@pytest.mark.parametrize(("line", "secret"), SECRETS)
def test_secret_is_masked(line: str, secret: str) -> None:
    out = redact_text(line)
    assert secret not in out and MASK in out


@pytest.mark.parametrize(
    "line",
    [
        "warungin-backend  | INFO started on :8000",
        "Step 3/12 : RUN npm ci",
        "1.1.0",
        "",
        " Container warungin-nginx  Started",
        "keyboard layout",
    ],
)
def test_ordinary_lines_are_untouched(line: str) -> None:
    assert redact_text(line) == line


def test_private_key_block_is_masked_across_lines_and_batches() -> None:
    redactor = LineRedactor()
    first = redactor.lines(["before", "-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXk"])
    second = redactor.lines(["AAAAAAAAAA", "-----END OPENSSH PRIVATE KEY-----", "after"])
    joined = "\n".join(first + second)
    assert "b3BlbnNzaC1rZXk" not in joined and "AAAAAAAAAA" not in joined
    assert first[0] == "before" and second[-1] == "after"
    assert "PRIVATE KEY" not in redact_block(
        "x\n-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
    )
