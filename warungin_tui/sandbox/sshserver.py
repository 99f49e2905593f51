"""An in-process asyncssh server in front of the rehearsal host: what `warungin-tui demo` uses,
needing nothing installed (the test suite also covers a real OpenSSH sshd, see openssh.py).

Each exec request runs `/bin/sh -c CMD` as a local subprocess in its own session, with the
host's bin/ (the emulated docker) first on PATH. Output is pumped by hand in chunks with
drain(): SSHServerProcess.redirect() lost output in a trial here (docs/ssh-notes.md, point 13).
Public-key auth only; local port forwarding only to loopback; the ssh-drop scenario's marker
line on stderr makes the server abort the connection, like a network cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import pwd
import signal
from collections.abc import Callable
from pathlib import Path

import asyncssh

from warungin_tui.sandbox.host import RehearsalHost
from warungin_tui.sandbox.scenarios import DROP_MARKER

CHUNK = 65536
MARKER = DROP_MARKER.encode()
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Errors meaning "the client or its channel is gone": stop pumping, end the command.
GONE = (BrokenPipeError, ConnectionError, asyncssh.Error, OSError)


def _split_marker(buffer: bytes) -> tuple[bytes, bytes, bool]:
    """Split stderr bytes into (to forward, to keep for later, marker seen).

    Complete lines are forwarded unless one is the marker; a trailing partial line is held
    back only while it could still become the marker, so prompts are not delayed."""
    *complete, partial = buffer.split(b"\n")
    out: list[bytes] = []
    for line in complete:
        if line.rstrip(b"\r") == MARKER:
            return b"".join(out), b"", True
        out.append(line + b"\n")
    if partial and MARKER.startswith(partial):
        return b"".join(out), partial, False
    return b"".join(out) + partial, b"", False


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the command's whole process group (it leads its own session)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


class _Session(asyncssh.SSHServer):
    """Per-connection callbacks: key auth for one user and key, loopback-only forwarding."""

    def __init__(self, owner: InProcessSSHServer) -> None:
        self.owner = owner
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.owner.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.owner.connections.discard(self.conn)
            for proc, conn in list(self.owner.commands.items()):
                if conn is self.conn:
                    _kill_group(proc)

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        client = self.owner.client_public_key
        return username == self.owner.user and client is not None and key == client

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        return dest_host in LOOPBACK


class InProcessSSHServer:
    """The server, its keys and known_hosts in `workdir`, and the commands it runs."""

    host = "127.0.0.1"

    def __init__(self, rehearsal: RehearsalHost, workdir: Path) -> None:
        self.rehearsal = rehearsal
        self.workdir = Path(workdir)
        self.user = getpass.getuser()
        self.port = 0
        self.client_key_path = self.workdir / "id_ed25519"
        self.known_hosts_path = self.workdir / "known_hosts"
        self.client_public_key: asyncssh.SSHKey | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.commands: dict[asyncio.subprocess.Process, asyncssh.SSHServerConnection] = {}
        self._acceptor: asyncssh.SSHAcceptor | None = None
        home = Path(pwd.getpwuid(os.getuid()).pw_dir)
        self.home = home if home.is_dir() else rehearsal.root

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519", comment="warungin-rehearsal")
        client_key.write_private_key(self.client_key_path)
        self.client_key_path.chmod(0o600)
        client_key.write_public_key(self.client_key_path.with_suffix(".pub"))
        self.client_public_key = client_key.convert_to_public()
        self._acceptor = await asyncssh.create_server(
            lambda: _Session(self),
            self.host,
            0,
            server_host_keys=[host_key],
            process_factory=self._run,
            encoding=None,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
        )
        self.port = self._acceptor.get_port()
        public = host_key.export_public_key().decode().strip()
        self.known_hosts_path.write_text(f"[{self.host}]:{self.port} {public}\n")
        self.known_hosts_path.chmod(0o600)

    def command_pids(self) -> list[int]:
        """Pids (= process groups) of the commands running now."""
        return [proc.pid for proc in self.commands if proc.returncode is None]

    def kill_now(self) -> None:
        """Synchronous part of close(): stop listening, cut connections, kill commands."""
        if self._acceptor is not None:
            self._acceptor.close()
        for conn in list(self.connections):
            conn.abort()
        for proc in list(self.commands):
            _kill_group(proc)

    async def close(self) -> None:
        """Stop the server and every command it runs; wait (bounded) until they are gone."""
        self.kill_now()
        if self._acceptor is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acceptor.wait_closed(), 5)
        for proc in list(self.commands):
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await asyncio.wait_for(proc.wait(), 5)

    # -- one exec request -----------------------------------------------------------------------

    def _env(self, process: asyncssh.SSHServerProcess[bytes]) -> dict[str, str]:
        peer = process.get_extra_info("peername") or ("127.0.0.1", 0)
        env = {
            "PATH": f"{self.rehearsal.bin_dir}:{os.environ.get('PATH', os.defpath)}",
            "HOME": str(self.home),
            "USER": self.user,
            "LOGNAME": self.user,
            "SHELL": "/bin/sh",
            "LANG": "C.UTF-8",
            "SSH_CONNECTION": f"{peer[0]} {peer[1]} {self.host} {self.port}",
            # Tells the shim to cut the connection by marker, not by killing an sshd.
            "WARUNGIN_SANDBOX_SSH": "asyncssh",
            **self.rehearsal.session_env,
        }
        with contextlib.suppress(UnicodeDecodeError):
            # Like OpenSSH's default AcceptEnv: only locale variables from the client.
            env.update((k, v) for k, v in process.env.items() if k == "LANG" or k[:3] == "LC_")
        return env

    async def _run(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        if process.command is None:
            process.stderr.write(b"This rehearsal server only runs commands: ssh HOST CMD\n")
            process.exit(1)
            return
        conn = process.get_extra_info("connection")
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            process.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.home,
            env=self._env(process),
            start_new_session=True,  # one process group to kill on disconnect or close
        )
        self.commands[proc] = conn
        dropped = False

        def drop() -> None:
            nonlocal dropped
            dropped = True
            conn.abort()
            _kill_group(proc)

        feeder = asyncio.create_task(self._feed(process, proc))
        closed = asyncio.create_task(process.channel.wait_closed())
        pumps = [
            asyncio.create_task(self._pump(proc.stdout, process.stdout)),
            asyncio.create_task(self._pump_stderr(proc, process, drop)),
        ]
        try:
            while not all(task.done() for task in pumps):
                await asyncio.wait({*pumps, closed}, return_when=asyncio.FIRST_COMPLETED)
                failed = [t for t in pumps if t.done() and t.exception() is not None]
                if closed.done() or failed:
                    return  # the client went away (finally kills the command)
            code = await proc.wait()
            if not dropped:
                if code >= 0:
                    process.exit(code)
                else:
                    process.exit_with_signal(signal.Signals(-code).name.removeprefix("SIG"))
        except GONE:
            pass
        finally:
            for task in (feeder, closed, *pumps):
                task.cancel()
            _kill_group(proc)
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await asyncio.wait_for(proc.wait(), 5)
            self.commands.pop(proc, None)

    @staticmethod
    async def _pump(source: asyncio.StreamReader | None, sink: asyncssh.SSHWriter[bytes]) -> None:
        assert source is not None
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()

    @staticmethod
    async def _pump_stderr(
        proc: asyncio.subprocess.Process,
        process: asyncssh.SSHServerProcess[bytes],
        drop: Callable[[], None],
    ) -> None:
        """Forward stderr; on the drop marker line, cut the connection instead."""
        assert proc.stderr is not None
        pending = b""
        while chunk := await proc.stderr.read(CHUNK):
            out, pending, seen = _split_marker(pending + chunk)
            if out:
                process.stderr.write(out)
                await process.stderr.drain()
            if seen:
                drop()
                return
        if pending:
            process.stderr.write(pending)
            await process.stderr.drain()

    @staticmethod
    async def _feed(
        process: asyncssh.SSHServerProcess[bytes], proc: asyncio.subprocess.Process
    ) -> None:
        """Copy the client's stdin to the command; forward signals the client sends."""
        assert proc.stdin is not None
        try:
            while True:
                try:
                    data = await process.stdin.read(CHUNK)
                except asyncssh.SignalReceived as exc:
                    sig = getattr(signal, "SIG" + exc.signal, None)
                    if sig is not None:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, sig)
                    continue
                except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                    continue
                if not data:
                    break
                proc.stdin.write(data)
                await proc.stdin.drain()
        except GONE:
            pass
        finally:
            with contextlib.suppress(*GONE):
                proc.stdin.close()


async def start_ssh_server(host: RehearsalHost, workdir: Path) -> InProcessSSHServer:
    """Start an in-process SSH server for `host`; keys and known_hosts go to `workdir`."""
    server = InProcessSSHServer(host, workdir)
    await server.start()
    return server
