"""What the engine, the steps, the monitor and the app need of a connection to the host.

`remote.Remote` (asyncssh) implements it; the tests' scripted stand-ins implement it too, so no
caller asks `getattr(remote, "connect", None)`. Annotations only: importing this module loads
neither asyncssh nor the remote module (the first frame needs neither).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from warungin_tui.remote import CommandResult, HostKeyUnknown

OutputCallback = Callable[[str, list[str]], Awaitable[None] | None]
"""Receives (stream, complete lines) as a command prints them."""


class CommandRunner(Protocol):
    """Just enough to ask the host something (the host lock and its records)."""

    async def run(self, command: str, *, timeout: float) -> CommandResult: ...


class RemoteLink(Protocol):
    """One connection to the target host."""

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None:
        """Open the connection unless it is open (raises remote.RemoteError subclasses)."""

    async def trust_host_key(self, error: HostKeyUnknown) -> None:
        """Record the key the operator accepted, then `connect` again."""

    async def run(
        self,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback | None = None,
        record: str | None = None,
    ) -> CommandResult: ...

    async def forward_local(self, remote_host: str, remote_port: int) -> int: ...

    async def close(self) -> None: ...


RemoteFactory = Callable[[Any], RemoteLink]
"""Builds the connection for a TargetConfig (tests pass a scripted stand-in)."""
