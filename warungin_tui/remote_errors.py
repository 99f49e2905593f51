"""What a remote command leaves (CommandResult) and every error the SSH layer raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from warungin_tui.errors import WarunginError

if TYPE_CHECKING:
    import asyncssh


@dataclass
class CommandResult:
    """Outcome of one remote command; exit_status is None when no status arrived."""

    command: str
    exit_status: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float


class RemoteError(WarunginError):
    """Anything that went wrong talking to the host; `title` is a short heading for the UI."""

    title = "SSH error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HostUnreachable(RemoteError):
    title = "Host unreachable"


class AuthenticationFailed(RemoteError):
    title = "Authentication failed"


class HostKeyError(RemoteError):
    """A refused host key: what the host offered, and the known_hosts file consulted."""

    def __init__(
        self, message: str, host: str, port: int, key: asyncssh.SSHKey, path: Path
    ) -> None:
        super().__init__(message)
        self.host, self.port, self.known_hosts = host, port, path
        self.fingerprint: str = key.get_fingerprint("sha256")
        self.key_type: str = key.get_algorithm()
        self.public_key: str = key.export_public_key().decode().strip()


class HostKeyUnknown(HostKeyError):
    """No known_hosts entry for the host: ask the operator, then `Remote.trust_host_key`."""

    title = "Unknown host key"


class HostKeyChanged(HostKeyError):
    """known_hosts holds a different key for this host: refuse, it may be an impostor."""

    title = "Host key changed"


class ConnectionLost(RemoteError):
    """The connection dropped during a command; its outcome on the host is unknown."""

    title = "Connection lost"

    def __init__(self, message: str, partial: CommandResult) -> None:
        super().__init__(message)
        self.partial = partial
