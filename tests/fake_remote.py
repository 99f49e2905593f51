"""A scripted stand-in for Remote, for narrow engine unit tests (integration uses real sshd)."""

from __future__ import annotations

from warungin_tui.remote import CommandResult, ConnectionLost, HostKeyUnknown
from warungin_tui.remote_api import OutputCallback


class FakeRemote:
    """Answers commands by substring: the first matching rule's (exit, stdout) is returned.

    Implements remote_api.RemoteLink, like remote.Remote."""

    connected = True

    def __init__(
        self, rules: list[tuple[str, int, str]] | None = None, drop_on: str | None = None
    ) -> None:
        self.rules = rules or []
        self.drop_on = drop_on
        self.commands: list[str] = []

    async def run(
        self,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback | None = None,
        record: str | None = None,
    ) -> CommandResult:
        self.commands.append(command)
        exit_status, stdout = 0, "ok\n"
        for needle, code, text in self.rules:
            if needle in command:
                exit_status, stdout = code, text
                break
        lines = stdout.splitlines()
        if on_output and lines:
            await on_output("stdout", lines)
        if self.drop_on and self.drop_on in command:
            partial = CommandResult(command, None, stdout, "", False, 0.5)
            raise ConnectionLost("connection lost", partial)
        return CommandResult(command, exit_status, stdout, "", False, 0.01)

    async def connect(self) -> None:
        pass

    async def trust_host_key(self, error: HostKeyUnknown) -> None:
        raise AssertionError("a scripted host has a known key")

    async def forward_local(self, host: str, port: int) -> int:
        raise AssertionError("no port forwards in unit tests")

    async def close(self) -> None:
        pass
