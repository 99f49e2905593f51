"""`warungin-tui demo`: the rehearsal target on loopback, with the wizard (or alone, `--serve`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Literal

from warungin_tui.config import Config, ConfigError, archive_dir, journal_dir, load_config


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
        keep_dir = rehearsal_dir(scenario)
        from warungin_tui.sandbox.scenarios import SCENARIOS

        app = WarunginApp(
            config,
            target.config_path,
            journal_dir=journal_dir(config),
            demo_keep_dir=keep_dir,
            demo_scenario=f"{scenario}: {SCENARIOS[scenario]}",
        )
        app.emergency_cleanups.append(target.kill_now)
        try:
            await app.run_async()
        finally:
            # Before the target's folder (which holds them) is removed.
            _tell_kept(keep_dir, keep_rehearsal(config, keep_dir))
        return app.return_code or 0


def rehearsal_dir(scenario: str, *, today: datetime | None = None) -> Path:
    """`<user data>/rehearsals/<date>-<scenario>/`, numbered when that one exists already."""
    from platformdirs import user_data_path

    base = user_data_path("warungin-tui") / "rehearsals"
    stem = f"{(today or datetime.now()):%Y-%m-%d}-{scenario}"
    folder, number = base / stem, 1
    while folder.exists():
        number += 1
        folder = base / f"{stem}-{number}"
    return folder


def keep_rehearsal(config: Config, keep_dir: Path) -> list[Path]:
    """Move the rehearsal's journals and exports out of the target's temporary folder."""
    produced = sorted(journal_dir(config).glob("run-*.jsonl"))
    archive = archive_dir(config)
    if archive.is_dir():
        produced += sorted(
            p for p in archive.iterdir() if p.is_file() and not p.name.startswith(".")
        )
    if not produced:
        return []
    keep_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keep_dir, 0o700)  # mkdir's mode is masked by the umask
    kept = []
    for path in produced:
        destination = keep_dir / path.name
        shutil.move(path, destination)
        os.chmod(destination, 0o600)
        kept.append(destination)
    return kept


def _tell_kept(keep_dir: Path, kept: list[Path]) -> None:
    if not kept:
        print("the demo wrote no journal or export: nothing kept", flush=True)
        return
    print(f"rehearsal kept in {keep_dir}:", flush=True)
    for path in kept:
        print(f"  {path}", flush=True)


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
