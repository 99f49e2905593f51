"""Secrets seen in output never survive redaction; ordinary lines pass untouched."""

from __future__ import annotations

import hashlib
import json
import threading
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import parse_config
from warungin_tui.engine import engine as engine_module
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.output_file import output_file_path, read_full_output
from warungin_tui.journal import read_journal
from warungin_tui.outcome import StepStatus
from warungin_tui.redact import (
    DETAIL_CHARS,
    LINE_CHARS,
    MASK,
    STRING_CHARS,
    LineRedactor,
    StreamRedactor,
    clip,
    excerpt,
    redact_block,
    redact_text,
    redact_value,
    window,
)
from warungin_tui.remote import CommandResult
from warungin_tui.report.model import render_markdown

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAuPemBodyLine1\nQmFzZTY0UGVtQm9keUxpbmUy\n"
    "-----END RSA PRIVATE KEY-----"
)

# (line as it appears in output, the secret that must not survive)
SECRETS = [
    ("postgres://app:s3cretpw@db:5432/x", "s3cretpw"),
    ("postgres://u:S3cretPw@db/x", "S3cretPw"),
    ("REDIS_URL=redis://:R3disPw@redis:6379/0", "R3disPw"),
    ("connecting to redis://:R3disPw@redis:6379/0 ...", "R3disPw"),
    ("amqp://guest:Gu3stPw!@rabbit:5672//", "Gu3stPw!"),
    ("git clone https://x-access-token:T0kenInUrl9@github.com/a/b", "T0kenInUrl9"),
    ("https://0123456789abcdef0123456789abcdef0123@github.com/a/b", "0123456789abcdef0123"),
    ("Authorization: Bearer abcdef123456789", "abcdef123456789"),
    ("Authorization: Basic dXNlcjpQYXNzdzByZA==", "dXNlcjpQYXNzdzByZA=="),
    ('{"headers": {"Authorization": "Bearer zzTopBearer99"}}', "zzTopBearer99"),
    ("curl -H 'authorization: token zzzzyyyyxxxx'", "zzzzyyyyxxxx"),
    ("sent bearer qwertyuiop123456", "qwertyuiop123456"),
    ("password=hunter2", "hunter2"),
    ('{"password": "hunter2", "email": "a@b"}', "hunter2"),
    ('{"password":"hunter3","email":"a@b"}', "hunter3"),
    ("password: correct horse battery", "correct"),
    ('password: "correct horse battery"', "horse battery"),
    ("DB_PASSWORD: topsecret1", "topsecret1"),
    ("DB_PASS=Pa55wordDb", "Pa55wordDb"),
    ("SMTP_PWD=SmtpPwd42", "SmtpPwd42"),
    ("export JWT_SECRET=jwtS3cretValue", "jwtS3cretValue"),
    ("AWS_SECRET_ACCESS_KEY=" + AWS_SECRET, AWS_SECRET),
    ("STRIPE_KEY = stripeKeyValue1", "stripeKeyValue1"),
    ("GITHUB_TOKEN=plainTokenValue", "plainTokenValue"),
    ("export API_KEY=abc123def456", "abc123def456"),
    ("X-Api-Key: hdrApiKey777", "hdrApiKey777"),
    ("//registry.npmjs.org/:_authToken=npmAuthTok3n", "npmAuthTok3n"),
    ("npm token npm_" + "N" * 36, "npm_" + "N" * 36),
    ("psql --password=CliPassw0rd", "CliPassw0rd"),
    ("mysql -uroot -pMyS3cr3tPw -e 'select 1'", "MyS3cr3tPw"),
    ("mysqldump -u root -p'DumpPw9' shop", "DumpPw9"),
    ("sshpass -p 'p4ss word' ssh root@h", "p4ss word"),
    ("charge with sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2", "a1B2c3D4e5F6g7H8i9J0k1L2"),
    ("sk_test_" + "T3stStr1peKey0000000000", "T3stStr1peKey0000000000"),
    ("rk_live_" + "R3strictedKey000000000", "R3strictedKey000000000"),
    ("token ghp_" + "a" * 36, "ghp_" + "a" * 36),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"),
    ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", "AbCdEfGhIjKlMnOp"),
    ("https://hooks.slack.com/services/T0000/B0000/XXXXslackHook", "XXXXslackHook"),
    ("aws AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
    ("ASIAABCDEFGHIJKLMNOP " + AWS_SECRET, AWS_SECRET),
    ("creds: AKIAIOSFODNN7EXAMPLE," + AWS_SECRET, AWS_SECRET),
    ("key AIzaSyA1234567890abcdefghijklmnopqrstu", "AIzaSyA1234567890abcdefghijklmnopqrstu"),
    ('"private_key_id": "0123456789abcdef0123"', "0123456789abcdef0123"),
    (
        '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADAN'
        'GcpKeyBody\\n-----END PRIVATE KEY-----\\n", "client_email": "x@y.iam"}',
        "GcpKeyBody",
    ),
    ("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0NTY3.SflKxwRJSMeKKF2QT4f", "SflKxwRJSMeKKF2QT4f"),
    ("sendgrid SG.abcdefghijklmnop1234.qrstuvwxyzABCDEF5678", "qrstuvwxyzABCDEF5678"),
    ("glpat-AbCdEfGhIjKlMnOpQrSt", "AbCdEfGhIjKlMnOpQrSt"),
    ("whsec_" + "W" * 32, "W" * 32),
    ("ORIGIN=https://UpperCaseTokenAbCd@git.example.com/a.git", "UpperCaseTokenAbCd"),
    ('["LOGIN={\\"user\\": \\"ops\\", \\"password\\": \\"EscJsonPw\\"}"]', "EscJsonPw"),
    ('"G={\\"private_key_id\\": \\"EscKeyId0123\\"}"', "EscKeyId0123"),
    ("DB_PASS=back\\slashPw", "slashPw"),
]


@pytest.mark.parametrize(("line", "secret"), SECRETS)
def test_secret_is_masked(line: str, secret: str) -> None:
    out = redact_text(line)
    assert secret not in out and MASK in out
    assert redact_text(out) == out  # redacting twice changes nothing


@pytest.mark.parametrize(
    "line",
    [
        "warungin-backend  | INFO started on :8000",
        "Step 3/12 : RUN npm ci",
        "1.1.0",
        "",
        " Container warungin-nginx  Started",
        "keyboard layout",
        "GET http://127.0.0.1:8000/api/health (through SSH port forward)",
        "git clone ssh://git@github.com/a/b",
        "mysql -u root -p shop < dump.sql",
        "basic authentication is enabled",
        "max_tokens=100 and compass=north",
        "commit 3f9c2a7d1b4e8f60a5c7d9e1f2a3b4c5d6e7f809",
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
    assert len(first) == 3 and len(second) == 3  # line counts never change
    assert "PRIVATE KEY" not in redact_block(
        "x\n-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
    )


def test_key_block_inside_one_line_keeps_what_follows() -> None:
    line = json.dumps({"private_key": PEM, "client_email": "svc@proj.iam", "DB_PASS": "x1"})
    out = redact_text(line)
    assert "PemBodyLine1" not in out and "UGVtQm9keUxpbmUy" not in out
    assert "svc@proj.iam" in out and '"x1"' not in out


def test_a_batch_is_redacted_as_one_chunk_with_the_same_result_as_line_by_line() -> None:
    lines = [line for line, _ in SECRETS] + ["plain line"] * 50 + PEM.split("\n") + ["tail"]
    chunked = StreamRedactor().lines(lines)
    one_by_one = StreamRedactor()
    assert chunked == [one_by_one.line(line) for line in lines]
    assert chunked[-1] == "tail" and len(chunked) == len(lines)
    # What the side file writes: the same lines, joined, never split back.
    assert StreamRedactor().text(lines) == "\n".join(chunked)
    assert StreamRedactor().text(["short", "y " * 3000], limit=100) == "\n".join(
        StreamRedactor().lines(["short", "y " * 3000], limit=100)
    )


def test_a_chunk_with_other_scripts_is_scanned_in_characters_not_bytes() -> None:
    # Non-ASCII text takes the pre-filter's str path: match offsets are characters, so the
    # right lines are found (in bytes, each "é" would shift them by one).
    lines = ["Café ünïcode " * 20, "résumé DB_PASS=Pa55wordDb", "naïve", "plain token=t0kenVal"]
    out = StreamRedactor().lines(lines)
    assert out[0] == lines[0] and out[2] == "naïve"
    assert "Pa55wordDb" not in out[1] and out[1].startswith("résumé DB_PASS=")
    assert "t0kenVal" not in out[3] and out[3].startswith("plain token=")
    # A character whose lower case is longer ("İ"): offsets differ, every line is redacted.
    assert "t0kenVal" not in StreamRedactor().text(["İstanbul", "plain token=t0kenVal"])


def test_redact_value_reaches_every_string_however_deep() -> None:
    value = {
        "lines": ["ERROR db postgres://u:S3cretPw@db/x", *PEM.split("\n"), "ok"],
        "body": '{"token": "tok3nValue"}',
        "nested": [{"deep": ("DB_PASS=Pa55wordDb",)}, 3, None, True],
        "password": "no-pattern-would-see-this",
        "count": 2,
    }
    out = redact_value(value)
    text = json.dumps(out)
    for secret in ("S3cretPw", "PemBodyLine1", "tok3nValue", "Pa55wordDb", "no-pattern-would"):
        assert secret not in text
    assert out["count"] == 2 and out["nested"][1:] == [3, None, True]
    assert out["lines"][-1] == "ok" and len(out["lines"]) == len(value["lines"])


def test_long_strings_are_cut_after_redaction_saying_how_much() -> None:
    huge = "ERROR " + "frame 42 failed; " * 150_000 + "DB_PASS=Pa55wordDb"
    out = redact_value({"detail": huge}, limit=1000)["detail"]
    assert out.endswith(f"... ({len(huge) - 1000} characters cut)") and len(out) < 1100
    assert clip("short", 10) == "short"
    # Cut first and `sk_live_abc` would be too short to recognise; excerpt redacts first.
    token = "sk_live_" + "Z9" * 12
    assert "Z9Z9" not in excerpt(f"pay {token}", 14)
    # Only a window of a long string is redacted; a token cut by the window's edge is dropped.
    start = window("word " * 399 + token, 1000)
    assert start.endswith("word ") and "sk_" not in start
    long_lines = StreamRedactor().lines(["short", "y " * 3000 + token], limit=100)
    assert long_lines[0] == "short" and long_lines[1].endswith("(5932 characters cut)")


# -- at the engine's boundary ----------------------------------------------------------------
SECRET_LINES = [
    "ERROR connect postgres://u:S3cretPw@db/x failed",
    "ERROR auth with Authorization: Bearer B3arerTok3nValue",
    "ERROR env DB_PASS=Pa55wordDb SMTP_PWD=SmtpPwd42 sk_live_" + "L1ve" * 6,
]
SECRET_VALUES = ["S3cretPw", "B3arerTok3nValue", "Pa55wordDb", "SmtpPwd42", "L1veL1ve"]


class BatchRemote(FakeRemote):
    """Prints `lines` in batches of 1,000, as Remote hands them over, and fails or not."""

    def __init__(self, lines: list[str], exit_status: int = 0) -> None:
        super().__init__()
        self.lines = lines
        self.exit_status = exit_status

    async def run(self, command: str, *, timeout: float, on_output: Any = None) -> CommandResult:
        self.commands.append(command)
        if on_output is not None:
            for start in range(0, len(self.lines), 1000):
                await on_output("stdout", self.lines[start : start + 1000])
        stdout = "\n".join(self.lines) + "\n"
        return CommandResult(command, self.exit_status, stdout, "", False, 0.01)


def make_engine(tmp_path: Path, remote: Any) -> Engine:
    data = tomllib.loads(SAMPLE_CONFIG.read_text())
    data["endpoints"]["api_via_ssh"] = False  # probes go to the mocked HTTP client directly
    config = parse_config(data)
    engine = Engine.start_new(config, tmp_path, operator="Op", remote=remote)
    engine.enforce_gates = False
    return engine


async def test_every_field_the_engine_keeps_is_redacted(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, BatchRemote(SECRET_LINES))
    progress: list[dict[str, Any]] = []
    engine.subscribe(progress.append)
    outcome = await engine.run_step("phase3.error_logs")
    assert outcome.status == StepStatus.FAILED and len(outcome.value["lines"]) == 3
    assert engine.journal is not None
    journal = engine.journal.path.read_text()
    for text in (journal, json.dumps(progress), repr(outcome), repr(engine.run.results)):
        assert [s for s in SECRET_VALUES if s in text] == []
    assert "postgres://u:[REDACTED]@db/x" in outcome.value["lines"][0]
    assert "postgres://u:[REDACTED]@db/x" in outcome.detail  # "first: <line>"


async def test_http_bodies_are_redacted_before_they_are_cut(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, FakeRemote())
    body = json.dumps({"status": "ok", "version": "1.1.0", "dsn": SECRET_LINES[0]})
    handler = lambda request: httpx.Response(200, text=body)  # noqa: E731
    engine.http.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    outcome = await engine.run_step("phase3.health")
    assert "S3cretPw" not in json.dumps(outcome.value) and MASK in outcome.value["body"]
    assert engine.journal is not None and "S3cretPw" not in engine.journal.path.read_text()
    await engine.aclose()


async def test_only_kept_lines_are_redacted_in_the_loop_and_the_side_file_has_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [f"layer {i}" for i in range(20_000)]
    lines[998:1003] = [PEM.split("\n")[0], "KeyBodyA", "KeyBodyB", "KeyBodyC", PEM.split("\n")[-1]]
    lines[4999] = "DB_PASS=LastKeptPw"
    lines[5000] = "DB_PASS=FirstDroppedPw"
    lines[17_000:17_003] = [PEM.split("\n")[0], "LateKeyBody", PEM.split("\n")[-1]]
    in_loop: list[int] = []
    original = StreamRedactor.lines

    def counting(self: StreamRedactor, batch: list[str], limit: int | None = None) -> list[str]:
        if threading.current_thread() is threading.main_thread():
            in_loop.append(len(batch))
        return original(self, batch, limit)

    monkeypatch.setattr(StreamRedactor, "lines", counting)
    engine = make_engine(tmp_path, BatchRemote(lines))
    await engine.run_step("pre.server_accessible")
    assert sum(in_loop) == engine_module.OUTPUT_JOURNAL_LIMIT  # the event loop: kept lines only
    assert engine.run.results["pre.server_accessible"].output_lines == 20_000
    assert engine.journal is not None
    events = [r["event"] for r in read_journal(engine.journal.path)]
    kept = [line for e in events if e["type"] == "step_output" for line in e["lines"]]
    assert len(kept) == 5000 and kept[1003] == "layer 1003" and kept[4999] == "DB_PASS=[REDACTED]"
    assert [line for line in kept[998:1003] if line != MASK] == []
    assert "FirstDroppedPw" not in engine.journal.path.read_text()
    # Past the limit, one event counts what the journal left out (not one a batch).
    counted = [e for e in events if e["type"] == "step_output" and e.get("dropped")]
    assert [e["dropped"] for e in counted] == [15_000]
    # The side file has every line, redacted, and the journal says which file it is.
    (finished,) = [e for e in events if e["type"] == "step_finished"]
    side = finished["output_file"]
    path = output_file_path(engine.journal.path, side["name"])
    assert path.parent.name == engine.journal.path.stem + ".outputs"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == side["sha256"]
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    full = list(read_full_output(path))
    assert side["lines"] == len(full) == 20_000
    assert full[5000] == "DB_PASS=[REDACTED]" and full[19_999] == "layer 19999"
    assert [line for line in full[998:1003] + full[17_000:17_003] if line != MASK] == []
    assert engine.run.results["pre.server_accessible"].output_file == side


async def test_the_report_cites_the_side_file_of_output_it_does_not_show(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, BatchRemote([f"layer {i}" for i in range(12_000)]))
    await engine.run_step("pre.server_accessible")
    side = engine.run.results["pre.server_accessible"].output_file
    assert side is not None and side["lines"] == 12_000
    md = render_markdown(engine.run, engine.config)
    assert f"`{side['name']}` beside the journal, sha256 `{side['sha256']}`" in md
    await engine.aclose()


async def test_a_huge_one_line_error_becomes_a_capped_detail(tmp_path: Path) -> None:
    message = "ERROR " + "stack frame 42 in module; " * 100_000  # 2.6 MB, one line
    engine = make_engine(tmp_path, BatchRemote([message]))
    # The error-log parser puts the first ERROR line into its detail and value, whole.
    outcome = await engine.run_step("phase3.error_logs")
    assert outcome.status == StepStatus.FAILED and outcome.detail.startswith("1 error line")
    assert outcome.detail.endswith(" characters cut)") and len(outcome.detail) < DETAIL_CHARS + 50
    assert len(outcome.value["lines"][0]) < STRING_CHARS + 50
    assert engine.journal is not None
    journal = engine.journal.path.read_text()
    assert len(journal) < LINE_CHARS + 3 * STRING_CHARS + 10_000  # each field capped
    line = engine.run.results["phase3.error_logs"].output[0][1]
    assert line.endswith(" characters cut)") and len(line) < LINE_CHARS + 50


async def test_what_a_person_types_is_redacted_before_the_journal(tmp_path: Path) -> None:
    """A password pasted into a skip reason, an override or a note never reaches the journal."""
    engine = make_engine(tmp_path, FakeRemote([("docker", 1, "down\n")]))
    secret = "hunter" + "2-typed"  # built at run time: the corpus scan of the source stays clean
    engine.skip("pre.backup_space", f"checked by hand, password={secret}")
    await engine.run_step("pre.docker_running")
    engine.override_step("pre.docker_running", f"known issue; DB_PASSWORD={secret}")
    engine.override_gate("pre", f"token {secret} works")  # not a secret shape: kept as typed
    assert engine.journal is not None
    journal = engine.journal.path.read_text()
    assert journal.count(secret) == 1 and "token " + secret in journal
    assert "password=[REDACTED]" in journal and "DB_PASSWORD=[REDACTED]" in journal
    assert secret not in (engine.run.results["pre.backup_space"].note or "")
