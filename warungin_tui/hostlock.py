"""One operator at a time on the host: a lock folder made with an atomic `mkdir` (Kamal's idea).

The lock is `<project_dir>/.warungin-tui.lock/`, holding one file, `holder`: a JSON line naming
the operator, the jump box it came from, the run id, the release, the time and the journal.
Inside the project folder because that is the one place every operator of this deployment
can write and must share (two SSH users, one project, one lock); a sibling folder would need
write access to the project's parent. The backup and the rollback's restore leave it out
(template value `{host_lock_dir}`). Every command goes over the run's Remote, values quoted.
"""

from __future__ import annotations

import json
import shlex
import socket
from dataclasses import asdict, dataclass

from warungin_tui.errors import EngineError
from warungin_tui.remote_api import CommandRunner

LOCK_DIR_NAME = ".warungin-tui.lock"
LOCK_TIMEOUT_S = 30.0
_HELD_EXIT = 3


def host_lock_dir(project_dir: str) -> str:
    """The lock folder's path on the host (the `{host_lock_dir}` template value)."""
    return project_dir.rstrip("/") + "/" + LOCK_DIR_NAME


def jump_host() -> str:
    """This machine's name, as recorded in a lock it takes."""
    return socket.gethostname()


@dataclass(frozen=True)
class LockHolder:
    operator: str
    jump_host: str
    run_id: str
    release: str
    since: str
    journal: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> LockHolder | None:
        try:
            data = json.loads(text)
            return cls(**{k: str(data.get(k, "")) for k in cls.__dataclass_fields__})
        except (ValueError, TypeError, AttributeError):
            return None

    def describe(self) -> str:
        return (
            f"{self.operator or '?'} from {self.jump_host or '?'} since {self.since or '?'} "
            f"(run {self.run_id or '?'}, release {self.release or '?'})"
        )


class HostLockHeld(EngineError):
    """Someone else holds the host lock: nothing may change the host until it is released."""

    title = "Host locked"

    def __init__(self, lock_dir: str, holder: LockHolder | None) -> None:
        self.lock_dir, self.holder = lock_dir, holder
        who = holder.describe() if holder else "someone (its holder file is missing or damaged)"
        super().__init__(
            f"The host is locked by {who}. Wait for that run to finish, or break the lock "
            "with a reason (`warungin-tui unlock --reason ...`; the wizard asks for one)."
        )


class HostLockError(EngineError):
    title = "Host lock"


def _quoted(lock_dir: str) -> str:
    return shlex.quote(lock_dir)


async def take_lock(remote: CommandRunner, lock_dir: str, holder: LockHolder) -> LockHolder | None:
    """Take the lock; None when taken, else the current holder (which may be this run)."""
    d = _quoted(lock_dir)
    command = (
        f'd={d}; if mkdir -m 700 -- "$d" 2>/dev/null; then '
        f"printf '%s\\n' {shlex.quote(holder.to_json())} >\"$d/holder.new\" "
        '&& mv -f -- "$d/holder.new" "$d/holder"; exit $?; fi; '
        f'if [ -d "$d" ]; then cat -- "$d/holder" 2>/dev/null; exit {_HELD_EXIT}; fi; '
        'mkdir -m 700 -- "$d"'
    )
    result = await remote.run(command, timeout=LOCK_TIMEOUT_S)
    if result.exit_status == 0:
        return None
    if result.exit_status == _HELD_EXIT:
        found = LockHolder.from_text(result.stdout.strip())
        return found or LockHolder("", "", "", "", "")
    problem = (result.stderr.strip() or result.stdout.strip() or "no answer").splitlines()[-1]
    raise HostLockError(f"cannot take the host lock {lock_dir}: {problem}")


async def read_lock(remote: CommandRunner, lock_dir: str) -> tuple[bool, LockHolder | None]:
    """(held, holder): holder None while held means its file is missing or damaged."""
    d = _quoted(lock_dir)
    command = f'd={d}; if [ -d "$d" ]; then echo held; cat -- "$d/holder" 2>/dev/null; fi; true'
    result = await remote.run(command, timeout=LOCK_TIMEOUT_S)
    lines = result.stdout.splitlines()
    if not lines or lines[0] != "held":
        return False, None
    return True, LockHolder.from_text("\n".join(lines[1:]))


async def release_lock(remote: CommandRunner, lock_dir: str, run_id: str) -> bool:
    """Remove the lock if this run holds it; True when it was removed."""
    d = _quoted(lock_dir)
    mine = shlex.quote(f'"run_id": {json.dumps(run_id)}')
    command = (
        f'd={d}; grep -qF -- {mine} "$d/holder" 2>/dev/null || exit 0; '
        'rm -f -- "$d/holder" "$d/holder.new" && rmdir -- "$d" && echo released'
    )
    result = await remote.run(command, timeout=LOCK_TIMEOUT_S)
    return bool(result.stdout.strip() == "released")


async def break_lock(remote: CommandRunner, lock_dir: str) -> None:
    """Remove the lock whoever holds it: only its own files, then the folder."""
    d = _quoted(lock_dir)
    command = f'd={d}; [ -d "$d" ] || exit 0; rm -f -- "$d/holder" "$d/holder.new"; rmdir -- "$d"'
    result = await remote.run(command, timeout=LOCK_TIMEOUT_S)
    if result.exit_status != 0:
        problem = (result.stderr.strip() or "rmdir failed").splitlines()[-1]
        raise HostLockError(f"cannot remove the host lock {lock_dir}: {problem}")
