"""What the host knows about a command: the record its wrapper leaves, and how to ask for it.

Every command of a run leaves a folder on the host (remote.py's recorded wrapper): `pid` (of the
command's `timeout` process), `boot_id`, its output in `out` and `err`, and `status` once it
ended. After a dropped connection the engine asks that folder instead of guessing: still
running, finished with a status, or unknown. The folders live in the SSH user's cache
(`~/.cache/warungin-tui/runs/<run id>/<step>-<attempt>/`), outside the project, so a backup or
the rollback's restore never touches them; they are removed when the run's host lock is
released.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum

RECORDS_ROOT = '"$HOME"/.cache/warungin-tui/runs'
"""A shell word: where the run folders live on the host (the SSH user's cache)."""

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RECORDS_KEPT_DAYS = 14  # records of runs that never ended are pruned after this
STOP_WAIT_S = 8  # after TERM, how long `stop` waits for the status before it sends KILL
STOPPED_BY_DROP = frozenset({129, 143})
"""Exit statuses of a command stopped from outside by a signal: the wrapper's TERM when the SSH
channel closes (143, remote.py) or a hangup (129). Learned for an interrupted step, they mean the
dropped connection stopped the command before it completed: interrupted, not failed."""


def record_id(run_id: str, step_id: str, attempt: int) -> str:
    """The journaled name of one attempt's record: `<run id>/<step>-<attempt>`."""
    for part in (run_id, step_id):
        if not _SAFE_NAME.fullmatch(part):
            raise ValueError(f"not a safe record name: {part!r}")
    return f"{run_id}/{step_id}-{attempt}"


def record_dir(record: str) -> str:
    """The record's folder as a shell word (the home part expanded by the host's shell)."""
    return f"{RECORDS_ROOT}/{shlex.quote(record)}"


def run_records_dir(run_id: str) -> str:
    if not _SAFE_NAME.fullmatch(run_id):
        raise ValueError(f"not a safe run id: {run_id!r}")
    return f"{RECORDS_ROOT}/{shlex.quote(run_id)}"


class HostState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    GONE = "gone"
    """The process is gone (or the host rebooted) and no status was written: outcome unknown."""
    MISSING = "missing"
    """No record on the host: the command may never have started; outcome unknown."""


@dataclass(frozen=True)
class HostCommand:
    """What the host said about one recorded command."""

    state: HostState
    status: int | None = None
    pid: int | None = None

    @property
    def known(self) -> bool:
        return self.state in (HostState.RUNNING, HostState.FINISHED)


# Prints `state=...` plus `status=N` or `pid=N`. A process counts as ours only while the boot id
# is the one recorded and its command line is still `timeout` (pids are reused). Between the
# process's end and the status file there is a moment: wait up to a second for the file.
_PROBE = (
    'd={dir}; if [ ! -d "$d" ] || [ ! -f "$d/pid" ]; then echo state=missing; exit 0; fi; '
    'p=$(cat -- "$d/pid"); b=$(cat -- "$d/boot_id" 2>/dev/null); '
    'alive() {{ [ "$b" = "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" ] '
    '&& tr "\\000" " " <"/proc/$p/cmdline" 2>/dev/null | grep -q "^timeout "; }}; '
    'if [ ! -f "$d/status" ] && alive; then echo state=running; echo "pid=$p"; exit 0; fi; '
    'i=0; while [ ! -f "$d/status" ] && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done; '
    'if [ -f "$d/status" ]; then echo state=finished; echo "status=$(cat -- "$d/status")"; '
    "else echo state=gone; fi"
)

# Streams the record's output files (from their start) until the process ends.
_FOLLOW = (
    'd={dir}; p=$(cat -- "$d/pid") || exit 3; '
    'tail -c +1 -s 0.2 -f --pid="$p" "$d/err" >&2 & t=$!; '
    'tail -c +1 -s 0.2 -f --pid="$p" "$d/out"; wait $t'
)

# TERMs the command (timeout(1) passes it on to the command's process group), waits for it to
# end, and KILLs it if it did not.
_STOP = (
    'd={dir}; p=$(cat -- "$d/pid") || exit 3; '
    'tr "\\000" " " <"/proc/$p/cmdline" 2>/dev/null | grep -q "^timeout " || exit 0; '
    'kill -TERM "$p" 2>/dev/null; i=0; '
    'while [ -d "/proc/$p" ] && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done; '
    'if [ -d "/proc/$p" ]; then kill -KILL "$p" 2>/dev/null; fi; exit 0'
)


def probe_command(record: str) -> str:
    return _PROBE.format(dir=record_dir(record))


def follow_command(record: str) -> str:
    return _FOLLOW.format(dir=record_dir(record))


def stop_command(record: str) -> str:
    return _STOP.format(dir=record_dir(record), ticks=STOP_WAIT_S * 10)


def forget_run_command(run_id: str) -> str:
    """Remove a run's records (only the tool's own folder under the user's cache)."""
    return f"rm -rf -- {run_records_dir(run_id)}"


def prune_command(days: int = RECORDS_KEPT_DAYS) -> str:
    """Remove run folders untouched for `days` (runs that never ended); the tool's own only."""
    return (
        f"[ -d {RECORDS_ROOT} ] && find {RECORDS_ROOT} -mindepth 1 -maxdepth 1 -type d "
        f"-mtime +{int(days)} -exec rm -rf -- {{}} + ; true"
    )


def parse_probe(stdout: str) -> HostCommand:
    """Read the probe's answer; anything else (a stand-in remote) means the host did not say."""
    fields = dict(
        line.split("=", 1) for line in stdout.splitlines() if "=" in line and line[0] != "="
    )
    try:
        state = HostState(fields.get("state", ""))
    except ValueError:
        return HostCommand(HostState.MISSING)
    number = fields.get("status") if state == HostState.FINISHED else fields.get("pid")
    value = int(number) if number is not None and number.strip().isdigit() else None
    if state == HostState.FINISHED:
        if value is None:
            return HostCommand(HostState.GONE)
        return HostCommand(state, status=value)
    if state == HostState.RUNNING:
        return HostCommand(state, pid=value)
    return HostCommand(state)
