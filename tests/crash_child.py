"""Child process for the crash test: runs a scripted deployment, SIGKILLs itself after write N.

Before dying it saves the in-memory Run snapshot, so the parent can compare it with the rebuild.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import SEED_SERVICES, load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.journal import Journal

SCRIPT_RULES = [
    ("docker info", 0, "Server Version: 28.2.2\n"),
    (
        "ps --all --format json",
        0,
        "\n".join(
            json.dumps(
                {
                    "Name": f"warungin-{s}",
                    "Service": s,
                    "State": "running",
                    "Health": "healthy",
                    "Status": "Up 1 minute (healthy)",
                }
            )
            for s in SEED_SERVICES
        )
        + "\n",
    ),
    ("find ", 0, "1700000000.0 1234 /b/warungin-1.sql.gz\nnow 1700000100\n"),
    ("uname", 0, "host\n 10:00 up 1 day\n"),
]


async def scenario(engine: Engine) -> None:
    engine.tick("pre.smoke_test", note="9/10")
    engine.tick("pre.full_suite")
    engine.sign_off("pre.qa_signoff", "Qa Person")
    engine.record_input("pre.on_call", "Alice")
    for step in [
        "pre.server_accessible",
        "pre.docker_running",
        "pre.services_healthy",
        "pre.db_backups_recent",
        "pre.ssh_working",
    ]:
        await engine.run_step(step)
    engine.skip("pre.ops_briefed", "briefed yesterday")
    engine.tick("pre.zero_high", passed=False, note="one open")
    engine.override_step("pre.zero_high", "accepted by PM")
    engine.override_gate("pre", "rehearsal")
    await engine.run_step("phase1.notify")
    await engine.run_step("phase1.record_commit")
    engine.decide("HOLD FOR REVIEW", authorized_by="Op")
    engine.finish()


def main() -> None:
    crash_after = int(sys.argv[1])
    journal_dir = Path(sys.argv[2])
    snapshot_path = Path(sys.argv[3])
    writes = 0
    original = Journal.append

    def append(self: Journal, event: dict) -> dict:
        nonlocal writes
        if writes == crash_after and os.environ.get("TORN"):
            # Die in the middle of a write: half a line reaches the disk.
            os.write(self._fd, b'{"seq": 99, "event": {"type": "step_fin')
            os.kill(os.getpid(), signal.SIGKILL)
        record = original(self, event)
        writes += 1
        return record

    def after_record(engine: Engine) -> None:
        if writes == crash_after:
            snapshot_path.write_text(json.dumps(engine.run.snapshot(), default=str))
            os.kill(os.getpid(), signal.SIGKILL)

    Journal.append = append  # type: ignore[method-assign]
    config = load_config(SAMPLE_CONFIG)
    original_record = Engine.record

    def record(self: Engine, event: dict) -> dict:
        result = original_record(self, event)
        after_record(self)
        return result

    Engine.record = record  # type: ignore[method-assign]
    remote = FakeRemote(SCRIPT_RULES)
    built = Engine.start_new(config, journal_dir, operator="Op", remote=remote)
    asyncio.run(scenario(built))
    snapshot_path.write_text(json.dumps(built.run.snapshot(), default=str))


if __name__ == "__main__":
    main()
