"""RehearsalTarget: a rehearsal host served over SSH, with a config.toml pointing at it.

    async with RehearsalTarget("backend-unhealthy") as target:
        config = load_config(target.config_path)   # then run the playbook against it

On exit (also on an exception or cancellation) the SSH server, every command and fake server
are stopped, and a temporary root is removed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import tomli_w

from warungin_tui.sandbox.host import RehearsalHost
from warungin_tui.sandbox.sshserver import InProcessSSHServer, start_ssh_server

if TYPE_CHECKING:
    from warungin_tui.sandbox.openssh import OpenSSHServer

T = TypeVar("T")
START_ORDER = [
    ["postgres", "redis"],
    ["backend", "frontend"],
    ["nginx", "loki", "promtail", "cloudflared"],
]
CONTACTS = {
    "tech_lead": "Tech Lead (rehearsal)",
    "tech_lead_email": "tech.lead@example.invalid",
    "tech_lead_phone": "+00 000 0000",
    "ops_lead": "Ops Lead (rehearsal)",
    "security_lead": "Security Lead (rehearsal)",
    "database_admin": "DBA (rehearsal)",
    "on_call_rotation": "rehearsal rota",
}
# Short limits: a rehearsal should finish in seconds, and fail fast when it goes wrong.
THRESHOLDS = {
    "frontend_load_seconds": 3.0,
    "backup_max_age_hours": 24.0,
    "command_timeout_seconds": 60.0,
    "build_timeout_seconds": 120.0,
    "service_ready_timeout_seconds": 30.0,
    "poll_interval_seconds": 0.5,
    "session_drain_timeout_seconds": 60.0,
    # backend-unhealthy fails after 2 s, not 30: the rehearsal shows the grace, briefly
    "unhealthy_grace_seconds": 2.0,
}


async def _in_thread(func: Callable[[], T]) -> T:
    """Run blocking `func` in a thread without freezing the event loop. If we are cancelled
    meanwhile, leaving the executor waits for `func` to finish, so cleanup then sees every
    process it started."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return await asyncio.wrap_future(pool.submit(func))


class RehearsalTarget:
    """Async context manager: host created, SSH server up, config written."""

    def __init__(
        self,
        scenario: str = "healthy",
        *,
        root: Path | None = None,
        transport: Literal["asyncssh", "openssh"] = "asyncssh",
        release_version: str = "1.1.0",
        old_version: str = "1.0.0",
        build_seconds: float = 1.5,
        layout: str = "separate",
    ) -> None:
        self.scenario = scenario
        self.transport = transport
        self.release_version = release_version
        self._made_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="warungin-"))
        self.host = RehearsalHost(
            self.root,
            scenario,
            old_version=old_version,
            new_version=release_version,
            build_seconds=build_seconds,
            layout=layout,
        )
        self.server: InProcessSSHServer | OpenSSHServer | None = None
        self.config_path = self.root / "config.toml"

    @property
    def port(self) -> int:
        assert self.server is not None, "enter the context first"
        return self.server.port

    async def __aenter__(self) -> RehearsalTarget:
        try:
            await _in_thread(self.host.create)
            if self.transport == "asyncssh":
                self.server = await start_ssh_server(self.host, self.root / "ssh")
            else:
                from warungin_tui.sandbox.openssh import OpenSSHServer  # needs sshd installed

                self.server = OpenSSHServer(
                    self.root / "sshd", path_prepend=[self.host.bin_dir], env=self.host.session_env
                )
                await _in_thread(self.server.start)
            self._write_config()
        except BaseException:
            await self._cleanup()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._cleanup()

    async def _cleanup(self) -> None:
        """Stop in dependency order; every step runs even if an earlier one fails or we are
        cancelled while awaiting (the synchronous kills come first)."""
        server, self.server = self.server, None
        try:
            if isinstance(server, InProcessSSHServer):
                await server.close()
            elif server is not None:
                server.stop()
        finally:
            self._stop_host_and_remove_root()

    def kill_now(self) -> None:
        """Synchronous last-resort cleanup (a hung process about to `os._exit`): kill every
        command and server this target started and remove its folder."""
        try:
            if isinstance(self.server, InProcessSSHServer):
                self.server.kill_now()
            elif self.server is not None:
                self.server.stop()
        finally:
            self._stop_host_and_remove_root()

    def _stop_host_and_remove_root(self) -> None:
        try:
            self.host.stop_all()
        finally:
            if self._made_root:
                shutil.rmtree(self.root, ignore_errors=True)

    def config(self) -> dict[str, Any]:
        """The config as a dict, in the project's config.toml format."""
        server, host = self.server, self.host
        assert server is not None
        config: dict[str, Any] = {
            "target": {
                "host": "127.0.0.1",
                "port": server.port,
                "user": server.user,
                "project_dir": str(host.project_dir),
                "known_hosts": str(server.known_hosts_path),
                "identity_file": str(server.client_key_path),
            },
            "release": {"version": self.release_version, "branch": "main"},
            "endpoints": {"api": host.api_url, "frontend": host.frontend_url, "api_via_ssh": True},
            "services": {
                "expected": [name for group in START_ORDER for name in group],
                "start_order": START_ORDER,
            },
            "database": {
                "service": "postgres",
                "user": "warungin",
                "name": "warungin",
            },
            "operator": {"name": "Rehearsal Operator"},
            "contacts": dict(CONTACTS),
            "thresholds": dict(THRESHOLDS),
            "archive": {
                "dir": str(self.root / "archive"),
                "journal_dir": str(self.root / "journal"),
            },
        }
        # The default layouts leave these out, as sample_config.toml ships.
        if host.backup_dir_configured:
            config["target"]["backup_dir"] = str(host.backup_dir)
        if host.layout == "separate":
            config["database"]["backups_dir"] = str(host.db_backups_dir)
        return config

    def _write_config(self) -> None:
        for folder in ("archive", "journal"):
            (self.root / folder).mkdir(mode=0o700, exist_ok=True)
        text = tomli_w.dumps(self.config())
        # Created 0600 from the start: never readable by others, not even for a moment.
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
