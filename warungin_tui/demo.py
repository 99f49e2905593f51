"""`warungin-tui demo`: the rehearsal target on loopback, with the wizard (or alone, `--serve`)."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Literal

from warungin_tui.config import ConfigError, journal_dir, load_config


async def _serve(scenario: str, transport: Literal["asyncssh", "openssh"]) -> int:
    from warungin_tui.sandbox.target import RehearsalTarget

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with RehearsalTarget(scenario, transport=transport) as target:
        print(f"rehearsal target up: scenario {scenario}, ssh 127.0.0.1:{target.port}")
        print(f"config: {target.config_path}")
        print("try:    warungin-tui check --phase pre --config " + str(target.config_path))
        print("Ctrl-C stops the target and removes its folder.", flush=True)
        await stop.wait()
    print("rehearsal target stopped", flush=True)
    return 0


async def _wizard(scenario: str, transport: Literal["asyncssh", "openssh"]) -> int:
    from warungin_tui.sandbox.target import RehearsalTarget

    print(f"starting the rehearsal target ({scenario})...", flush=True)
    async with RehearsalTarget(scenario, transport=transport) as target:
        try:
            config = load_config(target.config_path)
        except ConfigError as exc:  # our own config: a bug, but say it plainly
            print("\n".join(exc.lines), file=sys.stderr)
            return 2
        from warungin_tui.app import WarunginApp

        # The in-process SSH server shares this event loop with the wizard.
        app = WarunginApp(config, target.config_path, journal_dir=journal_dir(config))
        app.emergency_cleanups.append(target.kill_now)
        await app.run_async()
        return app.return_code or 0


def run_demo(scenario: str, *, serve: bool, transport: Literal["asyncssh", "openssh"]) -> int:
    try:
        if serve:
            return asyncio.run(_serve(scenario, transport))
        if scenario == "monitoring":
            from warungin_tui.monitoring.demo import run_monitoring_day

            return asyncio.run(run_monitoring_day(transport))
        return asyncio.run(_wizard(scenario, transport))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:  # e.g. sshd missing for --openssh
        print(f"warungin-tui: demo could not start: {exc}", file=sys.stderr)
        return 2
