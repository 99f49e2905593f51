"""Bounded under hostile input: huge HTTP answers, gzip bombs, /dev/zero as a key file, a host
name no resolver takes. Each ends in one clear line, never a MemoryError or a traceback."""

from __future__ import annotations

import gzip
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import TargetConfig, load_config
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import StepKind, StepSpec
from warungin_tui.remote import Remote, RemoteError
from warungin_tui.steps.base import StepContext
from warungin_tui.steps.http import MAX_BODY_BYTES, VALUE_BODY_CHARS, HttpProber, run_http_step

PLAIN_SIZE = 5 * 1024 * 1024
BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # ~64 kB on the wire


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/plain":
            self.send_response(200)
            self.send_header("Content-Length", str(PLAIN_SIZE))
            self.end_headers()
            chunk = b"a" * 65536
            for _ in range(PLAIN_SIZE // len(chunk)):
                try:
                    self.wfile.write(chunk)
                except OSError:  # the client stopped reading: that is the point
                    return
        elif self.path == "/bomb":
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(BOMB)))
            self.end_headers()
            try:
                self.wfile.write(BOMB)
            except OSError:
                return
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def probe(url: str) -> tuple[Any, list[str]]:
    config = load_config(SAMPLE_CONFIG)
    shown: list[str] = []

    async def output(stream: str, lines: list[str]) -> None:
        shown.extend(lines)

    prober = HttpProber(None)
    spec = StepSpec(id="t.http", title="probe", seed_ref="test", kind=StepKind.HTTP, url=url)
    values = {"command_timeout_seconds": "30"}
    ctx = StepContext(config, values, output, lambda _: None, None, prober)
    try:
        return await run_http_step(ctx, spec), shown
    finally:
        await prober.aclose()


async def test_a_huge_answer_is_read_to_1_mib_and_the_rest_noted(http_server: str) -> None:
    outcome, shown = await probe(f"{http_server}/plain")
    assert outcome.status == StepStatus.PASSED
    assert len(outcome.value["body"]) == VALUE_BODY_CHARS  # what the journal keeps
    unread = f"{PLAIN_SIZE - MAX_BODY_BYTES} bytes not read"
    assert outcome.value["unread"] == unread
    assert shown[-1] == f"(answer cut at {MAX_BODY_BYTES} bytes: {unread})"


async def test_a_gzip_bomb_never_inflates_past_the_cap(http_server: str) -> None:
    tracemalloc.start()
    try:
        outcome, _ = await probe(f"{http_server}/bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.status == StepStatus.PASSED
    assert outcome.value["unread"] == f"the rest after {MAX_BODY_BYTES} bytes not read"
    assert peak < 16 * MAX_BODY_BYTES, peak  # 64 MiB inflated whole would be far above


@pytest.mark.parametrize("field", ["known_hosts", "identity_file"])
async def test_dev_zero_as_a_key_file_is_one_line(target_config: TargetConfig, field: str) -> None:
    remote = Remote(target_config.model_copy(update={field: "/dev/zero"}))
    try:
        with pytest.raises(RemoteError) as error:
            await remote.connect()
    finally:
        await remote.close()
    message = str(error.value)
    assert "/dev/zero" in message and "larger than" in message and "\n" not in message


@pytest.mark.parametrize(
    "update",
    [{"host": "h" * 10_000_000}, {"user": "deploy\x00root"}],
    ids=["ten_mb_host", "nul_in_user"],
)
async def test_values_no_resolver_takes_give_one_line(
    target_config: TargetConfig, update: dict[str, str]
) -> None:
    """Validation refuses these; the connection layer still answers in one line if it sees them."""
    remote = Remote(target_config.model_copy(update=update))
    try:
        with pytest.raises(RemoteError) as error:
            await remote.connect()
    finally:
        await remote.close()
    message = str(error.value)
    assert "cannot use this host or user" in message
    assert "\n" not in message and len(message) < 1000


async def test_a_2_5_mb_line_is_cut_in_output_and_detail(target_config: TargetConfig) -> None:
    """A 2.5 MB "one-line" error: each line reaching the journal and the detail stay short."""
    from warungin_tui.remote import MAX_LINE_CHARS
    from warungin_tui.steps.ssh import run_ssh_step

    lines: list[str] = []

    async def output(stream: str, batch: list[str]) -> None:
        lines.extend(batch)

    command = "head -c 2500000 /dev/zero | tr '\\0' x >&2; printf 'y%.0s' $(seq 20000); exit 3"
    spec = StepSpec(id="t.ssh", title="long", seed_ref="test", kind=StepKind.SSH, command=command)
    config = load_config(SAMPLE_CONFIG)
    remote = Remote(target_config)
    ctx = StepContext(config, {"command_timeout_seconds": "30"}, output, lambda _: None, remote)
    try:
        outcome = await run_ssh_step(ctx, spec)
    finally:
        await remote.close()
    assert outcome.status == StepStatus.FAILED and outcome.exit_code == 3
    assert len(outcome.detail) < 400 and outcome.detail.endswith("[...]")
    x_cut = "x" * MAX_LINE_CHARS + f" [... {2_500_000 - MAX_LINE_CHARS} more characters cut]"
    y_cut = "y" * MAX_LINE_CHARS + f" [... {20_000 - MAX_LINE_CHARS} more characters cut]"
    assert x_cut in lines and y_cut in lines  # neither line ended with a newline
    assert all(len(line) < MAX_LINE_CHARS + 50 for line in lines)


async def test_trusting_a_key_after_a_last_line_without_newline(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    """The newline check reads one byte, not the whole known_hosts file."""
    from warungin_tui.remote import HostKeyUnknown

    known_hosts = tmp_path / "known_hosts_no_newline"
    known_hosts.write_text("# a comment without its newline")
    remote = Remote(target_config.model_copy(update={"known_hosts": str(known_hosts)}))
    try:
        with pytest.raises(HostKeyUnknown) as caught:
            await remote.connect()
        await remote.trust_host_key(caught.value)
        lines = known_hosts.read_text().splitlines()
        assert lines[0] == "# a comment without its newline" and len(lines) == 2
        assert (await remote.run("echo ok", timeout=10)).stdout == "ok\n"
    finally:
        await remote.close()
