"""The SSH layer: one asyncssh connection per target, commands with host-side timeouts.

Built on docs/ssh-notes.md: root sessions ignore SSH signals, so the host enforces timeouts;
keepalive turns a dead network into an error; sshd allows 10 channels per connection; output
is read in chunks and split into lines (remote_output.py). Every exception leaving `Remote` is a
`RemoteError` (remote_errors.py, re-exported here with `CommandResult`).

Commands run in the connection's persistent shell (remote_shell.py: the login shell starts once,
commands run side by side over one channel) with the same guarantees as the per-command exec
channel below, which remains the way where that shell cannot start or has broken.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import inspect
import os
import shlex
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from warungin_tui.config import TargetConfig
from warungin_tui.remote_api import OutputCallback
from warungin_tui.remote_errors import AuthenticationFailed as AuthenticationFailed
from warungin_tui.remote_errors import CommandResult as CommandResult
from warungin_tui.remote_errors import ConnectionLost as ConnectionLost
from warungin_tui.remote_errors import HostKeyChanged as HostKeyChanged
from warungin_tui.remote_errors import HostKeyUnknown as HostKeyUnknown
from warungin_tui.remote_errors import HostUnreachable as HostUnreachable
from warungin_tui.remote_errors import RemoteError as RemoteError
from warungin_tui.remote_output import FLUSH_INTERVAL_S, CommandOutput
from warungin_tui.remote_output import MAX_KEPT_CHARS as MAX_KEPT_CHARS
from warungin_tui.remote_output import MAX_LINE_CHARS as MAX_LINE_CHARS
from warungin_tui.remote_shell import (
    DriverProcess,
    RemoteShell,
    ShellJob,
    ShellUnavailable,
    open_driver,
)

_Opened = TypeVar("_Opened")

KILL_AFTER_S = 5  # timeout(1) sends TERM at the deadline and KILL this much later
CLIENT_GRACE_S = 10  # the client gives up this long after the host-side deadline
SHELL_MAX_CONCURRENT = 16  # commands at once in the persistent shell (no channel each: no
# MaxSessions limit; this bounds the load on the host)
CHANNEL_OPEN_ATTEMPTS = 5  # sshd may refuse a channel for a moment (MaxSessions): retry
MAX_KNOWN_HOSTS_BYTES = 16 * 1024 * 1024  # far beyond any real known_hosts; /dev/zero is not
MAX_KEY_FILE_BYTES = 1024 * 1024  # an RSA-16384 private key is ~13 kB

# Every command runs inside this POSIX sh script. timeout(1) puts the command in its own process
# group and TERMs/KILLs that group on the host. Closing a channel does not stop a command that
# never writes (measured: `sleep` lives on), so a watcher reads the channel's stdin, which the
# client never writes, and TERMs the command at EOF: that comes when the client closes the
# channel (client timeout, cancellation) or when the connection's sshd goes away. `wait`'s
# stderr is dropped so dash's "Killed" job notice does not pollute the command's stderr.
_WRAPPER = (
    "exec 3<&0; {inner} </dev/null 3<&- & c=$!; "
    "(while read -r _; do :; done; kill -TERM $c) <&3 >/dev/null 2>&1 & w=$!; "
    "exec 3<&-; wait $c 2>/dev/null; s=$?; kill $w 2>/dev/null; exit $s"
)

# The same, leaving a record on the host in the folder `$d` (see hostrecords.py): the command's
# pid, the host's boot id, its output in `out`/`err` and at the end its exit `status`. The command
# writes to those files, never to the channel: two `tail -f --pid` stream them to the client, so a
# dead network can block only the tails, never the command, and its status is always written. If
# the folder cannot be made, the command runs as above, without a record.
_RECORDED_WRAPPER = (
    "d={record}; exec 3<&0; "
    'if (umask 077 && mkdir -p -- "$d") 2>/dev/null && rm -f -- "$d/status" "$d/pid" '
    '&& : >"$d/out" && : >"$d/err"; then '
    '{inner} </dev/null >"$d/out" 2>"$d/err" 3<&- & c=$!; echo "$c" >"$d/pid"; '
    'cat /proc/sys/kernel/random/boot_id >"$d/boot_id" 2>/dev/null; '
    'tail -c +1 -s 0.05 -f --pid="$c" "$d/out" 3<&- & t=$!; '
    'tail -c +1 -s 0.05 -f --pid="$c" "$d/err" >&2 3<&- & u=$!; '
    "else d=; {inner} </dev/null 3<&- & c=$!; fi; "
    "(while read -r _; do :; done; kill -TERM $c) <&3 >/dev/null 2>&1 & w=$!; "
    "exec 3<&-; wait $c 2>/dev/null; s=$?; "
    'if [ -n "$d" ]; then echo "$s" >"$d/status.new" && mv -f -- "$d/status.new" "$d/status"; '
    "wait $t $u; fi; kill $w 2>/dev/null; exit $s"
)


def _host_pattern(host: str, port: int) -> str:
    """How known_hosts names a host: plain on port 22, "[host]:port" otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


class _Client(asyncssh.SSHClient):
    """Records why a host key was refused and whether the connection has gone."""

    def __init__(self, known_hosts: asyncssh.SSHKnownHosts) -> None:
        self.known_hosts = known_hosts
        self.refused_key: asyncssh.SSHKey | None = None
        self.host_was_known = False
        self.lost = False

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        # Called only for a key known_hosts does not trust: any entry for the host means the key
        # changed, none means it is new. asyncssh alone reports both the same way
        # (docs/ssh-notes.md 9).
        trusted, trusted_ca, *_ = self.known_hosts.match(host, addr, None if port == 22 else port)
        self.refused_key, self.host_was_known = key, bool(trusted or trusted_ca)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class _StreamBroken(Exception):
    """Reading failed because the channel or connection went away (not a callback error)."""


class Remote:
    """One reusable SSH connection to a target, opened on first use and after a drop."""

    def __init__(
        self,
        target: TargetConfig,
        *,
        connect_timeout: float = 10,
        keepalive_interval: float = 5,
        keepalive_count_max: int = 3,
        max_concurrent: int = 5,
        persistent_shell: bool = True,
        shell_max_concurrent: int = SHELL_MAX_CONCURRENT,
    ) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self.known_hosts_path = Path(target.known_hosts).expanduser()
        # sshd allows 10 channels, but at 10 the client still saw refusals; 5 never
        # (docs/ssh-notes.md 5).
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._shell_slots = asyncio.Semaphore(shell_max_concurrent)
        self._connect_lock = asyncio.Lock()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._client: _Client | None = None
        self._forwards: dict[tuple[str, int], asyncssh.SSHListener] = {}
        # One long-lived sh per connection runs the commands (remote_shell.py), unless it
        # cannot start or broke on this connection: then each command gets its own channel.
        self.persistent_shell = persistent_shell
        self._shell: RemoteShell | None = None
        self._shell_starting: asyncio.Task[None] | None = None
        self._shell_lock = asyncio.Lock()
        self.shell_fallback: str | None = None
        """Why commands run one exec channel each on this connection (None: they do not)."""
        self._fallback_told = False

    @property
    def shell_pid(self) -> int | None:
        """The persistent shell's pid on the host while one serves this connection."""
        return self._shell.pid if self._shell is not None and self._shell.usable else None

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._client is not None and not self._client.lost

    async def connect(self) -> None:
        """Open the connection unless it is open; key or agent login only, host key verified."""
        async with self._connect_lock:
            if self.connected:
                return
            self._discard()
            t, where = self.target, f"{self.target.host}:{self.target.port}"
            known_hosts = self._read_known_hosts()
            client = _Client(known_hosts)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    conn = await asyncssh.connect(
                        t.host,
                        t.port,
                        username=t.user,
                        client_factory=lambda: client,
                        config=None,  # ~/.ssh/config is not read: the TOML file says it all
                        known_hosts=known_hosts,
                        server_host_key_algs=self._host_key_algs(known_hosts),
                        client_keys=self._client_keys(),
                        agent_path=None if t.identity_file else (),
                        password=None,
                        kbdint_auth=False,
                        gss_auth=False,
                        keepalive_interval=self.keepalive_interval,
                        keepalive_count_max=self.keepalive_count_max,
                    )
            except asyncssh.HostKeyNotVerifiable as exc:
                if (key := client.refused_key) is None:  # e.g. a revoked key
                    raise RemoteError(f"{where}: host key refused: {exc.reason}") from None
                offered = f"{key.get_algorithm()} key {key.get_fingerprint('sha256')}"
                pattern, path = _host_pattern(t.host, t.port), self.known_hosts_path
                if client.host_was_known:
                    message = f"{pattern} offered {offered}, which does not match {path}"
                    raise HostKeyChanged(message, t.host, t.port, key, path) from None
                message = f"{pattern} is not in {path}; it offered {offered}"
                raise HostKeyUnknown(message, t.host, t.port, key, path) from None
            except asyncssh.PermissionDenied:
                how = f"key {t.identity_file}" if t.identity_file else "SSH agent's keys"
                raise AuthenticationFailed(f"{t.label} refused the {how}") from None
            except TimeoutError:
                waited = _seconds(self.connect_timeout)
                raise HostUnreachable(f"{where}: no SSH answer within {waited} s") from None
            except asyncssh.ConnectionLost as exc:
                raise HostUnreachable(f"{where}: closed during login: {exc.reason}") from None
            except asyncssh.DisconnectError as exc:
                raise RemoteError(f"{where}: SSH login failed: {exc.reason}") from None
            except OSError as exc:  # refused, no route; DNS (socket.gaierror: errno < 0)
                errno = exc.errno or 0
                reason = os.strerror(errno) if errno > 0 else exc.strerror or exc
                raise HostUnreachable(f"{where}: {reason}") from None
            except ValueError as exc:  # idna (UnicodeError), saslprep: values config refuses
                raise RemoteError(f"{where[:80]}: cannot use this host or user: {exc}") from None
            self._conn, self._client = conn, client
            if self.persistent_shell:
                self._shell_starting = asyncio.create_task(self._prestart_shell(conn))
                self._shell_starting.add_done_callback(_retrieve_exception)

    async def trust_host_key(self, error: HostKeyUnknown) -> None:
        """Append the key from `error` to known_hosts (created 0600 in a 0700 folder)."""
        path = self.known_hosts_path
        line = f"{_host_pattern(error.host, error.port)} {error.public_key}\n"
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as file:
                if file.tell() and not _ends_with_newline(path):
                    line = "\n" + line
                file.write(line)
        except OSError as exc:
            raise RemoteError(f"cannot write {path}: {exc.strerror or exc}") from None

    async def run(
        self,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback | None = None,
        record: str | None = None,
    ) -> CommandResult:
        """Run `command` with `sh -c` on the host, ended there after `timeout` seconds.

        `record`: a folder on the host (a shell word, see hostrecords.record_dir) where the
        command's pid, output and exit status are kept, so that its outcome can be asked for
        after a dropped connection. Raises ConnectionLost (with the output so far) if the
        connection drops meanwhile. An exception from `on_output` ends the command and
        propagates unchanged.
        """
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        limit = f"timeout --kill-after={KILL_AFTER_S} {_seconds(timeout)}"
        inner = f"{limit} sh -c {shlex.quote(command)}"
        if record is None:
            script = _WRAPPER.format(inner=inner)
        else:
            script = _RECORDED_WRAPPER.format(inner=inner, record=record)
        # The outer `sh -c` makes the wrapper independent of the user's login shell.
        wrapped = "sh -c " + shlex.quote(script)
        # A NUL cannot travel in the shell's one-line request: such a command gets a channel.
        if "\0" not in command and (shell := await self._running_shell()) is not None:
            async with self._shell_slots:
                if shell.usable:  # else it ended while this command waited: use a channel
                    started = time.monotonic()
                    job = shell.submit(command, _seconds(timeout), record)
                    return await self._collect_job(command, job, timeout, on_output, started)
        async with self._semaphore:
            started = time.monotonic()
            if self.shell_fallback is not None and not self._fallback_told and on_output:
                self._fallback_told = True  # said once, in the first output that can show it
                why = self.shell_fallback
                notice = f"warungin-tui: {why}; each command runs in its own session"
                if inspect.isawaitable(outcome := on_output("stderr", [notice])):
                    await outcome
            process = await self._open_process(wrapped)
            return await self._collect(command, process, timeout, on_output, started)

    async def forward_local(self, remote_host: str, remote_port: int) -> int:
        """Forward 127.0.0.1:<free port> to remote_host:remote_port as the host sees it.

        Cached per destination while the connection lives; ask again after a reconnect.
        """
        await self.connect()
        assert self._conn is not None
        if (listener := self._forwards.get((remote_host, remote_port))) is None:
            try:
                listener = await self._conn.forward_local_port(
                    "127.0.0.1", 0, remote_host, remote_port
                )
            except (asyncssh.Error, asyncssh.ChannelListenError, OSError) as exc:
                where = f"{remote_host}:{remote_port}"
                raise RemoteError(f"cannot forward a local port to {where}: {exc}") from None
            self._forwards[(remote_host, remote_port)] = listener
        return listener.get_port()

    async def close(self) -> None:
        """Close forwards and the connection; a later run() connects again."""
        conn = self._conn
        self._discard()
        if conn is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await conn.wait_closed()

    def _discard(self) -> None:
        """Forget the current connection (dead or alive) and its forwards, closing both."""
        for listener in self._forwards.values():
            listener.close()
        self._forwards.clear()
        if self._shell_starting is not None:
            self._shell_starting.cancel()
        if self._shell is not None:
            self._shell.close()
        self._shell = self._shell_starting = None
        self.shell_fallback = None  # a new connection tries the shell again
        if self._conn is not None:
            self._conn.close()
        self._conn = self._client = None

    def _read_known_hosts(self) -> asyncssh.SSHKnownHosts:
        # A missing file is an empty list: asyncssh would fall back to ~/.ssh/known_hosts.
        path = self.known_hosts_path
        try:
            text = read_capped(path, MAX_KNOWN_HOSTS_BYTES).decode("utf-8")
            return asyncssh.import_known_hosts(text)
        except FileNotFoundError:
            return asyncssh.import_known_hosts("")
        except (OSError, UnicodeDecodeError, ValueError, asyncssh.KeyImportError) as exc:
            raise RemoteError(f"cannot use {path} as known_hosts: {exc}") from None

    def _host_key_algs(self, known_hosts: asyncssh.SSHKnownHosts) -> list[str] | str:
        """Known key types first, then all others (as OpenSSH does).

        asyncssh alone offers only the known types: a host whose key type changed would fail
        key exchange with no key to show, instead of raising HostKeyChanged.
        """
        port = None if self.target.port == 22 else self.target.port
        if not (trusted := known_hosts.match(self.target.host, "", port)[0]):
            return "default"
        algs = [alg for key in trusted for alg in key.sig_algorithms]
        algs += asyncssh.public_key.get_default_public_key_algs()
        return list(dict.fromkeys(alg.decode("ascii") for alg in algs))

    def _client_keys(self) -> list[asyncssh.SSHKey] | tuple[()]:
        """The identity file's key, or () for asyncssh's default: agent and ~/.ssh keys."""
        if not self.target.identity_file:
            return ()
        path = Path(self.target.identity_file).expanduser()
        try:
            return [asyncssh.import_private_key(read_capped(path, MAX_KEY_FILE_BYTES))]
        except ValueError as exc:
            raise AuthenticationFailed(f"cannot use identity file {path}: {exc}") from None
        except OSError as exc:
            raise AuthenticationFailed(
                f"cannot read identity file {path}: {exc.strerror}"
            ) from None
        except asyncssh.KeyImportError as exc:  # e.g. passphrase-protected: use the agent
            raise AuthenticationFailed(f"cannot use identity file {path}: {exc}") from None

    async def _open_process(self, wrapped: str) -> asyncssh.SSHClientProcess[str]:
        # stdin stays an open pipe: the wrapper's watcher waits for its EOF.
        return await self._open_channel(
            lambda conn: conn.create_process(wrapped, encoding="utf-8", errors="replace")
        )

    async def _open_driver(self, command: str) -> DriverProcess:
        return await self._open_channel(lambda conn: open_driver(conn, command))

    async def _open_channel(
        self, open_: Callable[[asyncssh.SSHClientConnection], Awaitable[_Opened]]
    ) -> _Opened:
        """Open a session channel, retrying refusals and reconnecting if the connection died."""
        error: Exception | None = None
        for attempt in range(CHANNEL_OPEN_ATTEMPTS):
            await self.connect()
            conn = self._conn
            assert conn is not None
            try:
                return await open_(conn)
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError) as exc:
                error = exc
                if self._conn is conn and not self.connected:
                    self._discard()  # nothing started yet: safe to retry on a new connection
            await asyncio.sleep(0.05 * 2**attempt)
        raise RemoteError(f"{self.target.label}: cannot open an SSH session: {error}")

    async def _running_shell(self) -> RemoteShell | None:
        """This connection's shell, started on first use; None where it cannot run."""
        if not self.persistent_shell:
            return None
        await self.connect()
        async with self._shell_lock:
            if self.shell_fallback is not None:
                return None
            if self._shell is not None and self._shell.usable:
                return self._shell
            return await self._start_shell()

    async def _prestart_shell(self, conn: asyncssh.SSHClientConnection) -> None:
        """Start the shell right after connecting: its channel, login shell and ready line
        overlap what the caller does before its first command (which waits for it)."""
        async with self._shell_lock:
            if self._conn is conn and self.connected and self._shell is None:
                with contextlib.suppress(RemoteError):  # the first command meets it again
                    await self._start_shell()

    async def _start_shell(self) -> RemoteShell | None:
        """Start this connection's shell (the shell lock held); None where it cannot run."""
        conn = self._conn
        try:
            shell = await RemoteShell.start(self._open_driver, KILL_AFTER_S)
        except ShellUnavailable as exc:
            if self._conn is conn and self.connected:
                self.shell_fallback = f"the remote shell could not start ({exc.reason})"
                return None
            if self._conn is conn:
                self._discard()
            raise RemoteError(
                f"{self.target.label}: connection lost while starting the remote shell"
            ) from None
        if self._conn is not conn:  # a reconnect meanwhile: this shell's connection is gone
            shell.close()
            return None  # this command gets a channel; the next starts a shell
        self._shell = shell
        return shell

    async def _collect_job(
        self,
        command: str,
        job: ShellJob,
        timeout: float,
        on_output: OutputCallback | None,
        started: float,
    ) -> CommandResult:
        """`_collect` for a command of the shell: same outcomes, same guarantees."""
        output, conn, shell = CommandOutput(on_output), self._conn, job.shell
        decoders = {
            stream: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for stream in CommandOutput.STREAMS
        }
        timed_out = False
        try:
            async with asyncio.timeout(timeout + CLIENT_GRACE_S) as deadline:
                while True:
                    arrived = await job.wait(FLUSH_INTERVAL_S)
                    # Read before taking: every chunk precedes the end, so none is left behind.
                    over = job.over
                    for stream, data in job.take():
                        await output.feed(stream, decoders[stream].decode(data))
                    if over:
                        break
                    if not arrived:
                        await output.flush()
        except TimeoutError:
            job.kill()  # TERM on the host; timeout(1) KILLs KILL_AFTER_S later
            if not deadline.expired():  # the callback's own TimeoutError
                raise
            timed_out = True
        except BaseException:
            job.kill()  # cancelled, or the callback failed
            raise
        finally:
            job.release()
        for stream, decoder in decoders.items():
            if tail := decoder.decode(b"", final=True):
                await output.feed(stream, tail)
        status = job.status
        # 124 and 137 are timeout(1)'s verdicts, but only if the deadline has actually passed.
        if status in (124, 137) and time.monotonic() - started >= timeout:
            timed_out = True
        lost = job.failure is not None and not timed_out
        await output.flush(final=True)
        result = output.result(command, status, timed_out, started)
        if not lost:
            return result
        if not job.lost_connection and self._conn is conn and self.connected:
            # The shell ended but the connection lives: its commands were stopped by the
            # driver, or by nobody if it was killed; later commands each get a channel.
            if self._shell is shell:
                self._shell = None
                self.shell_fallback = f"the remote shell stopped ({job.failure})"
            raise ConnectionLost(
                f"{self.target.label}: the remote shell stopped while running {command!r}; "
                "whether it finished on the host is unknown",
                partial=result,
            )
        if self._conn is conn:
            self._discard()
        raise self._lost(command, result)

    def _lost(self, command: str, partial: CommandResult) -> ConnectionLost:
        return ConnectionLost(
            f"{self.target.label}: connection lost while running {command!r}; "
            "whether it finished on the host is unknown",
            partial=partial,
        )

    async def _collect(
        self,
        command: str,
        process: asyncssh.SSHClientProcess[str],
        timeout: float,
        on_output: OutputCallback | None,
        started: float,
    ) -> CommandResult:
        """Stream the output until the command exits, times out, or the connection drops."""
        output, conn = CommandOutput(on_output), self._conn

        async def pump(reader: asyncssh.SSHReader[str], stream: str) -> None:
            while True:
                try:
                    chunk = await reader.read(65536)  # chunks, not lines: 40x faster
                except (asyncssh.DisconnectError, OSError) as exc:
                    raise _StreamBroken from exc
                if not chunk:
                    return
                await output.feed(stream, chunk)

        pumps = [asyncio.create_task(pump(process.stdout, "stdout"))]
        pumps.append(asyncio.create_task(pump(process.stderr, "stderr")))
        reading = asyncio.gather(*pumps)
        timed_out = lost = False
        try:
            async with asyncio.timeout(timeout + CLIENT_GRACE_S) as deadline:
                # Flushing from here, not from a side task, lets callback errors propagate.
                while not (await asyncio.wait({reading}, timeout=FLUSH_INTERVAL_S))[0]:
                    await output.flush()
                reading.result()
                await process.wait_closed()
        except TimeoutError:
            if not deadline.expired():  # the callback's own TimeoutError
                process.close()
                raise
            timed_out = True
            process.close()
        except _StreamBroken:
            lost = True
        except BaseException:
            # Cancelled, or the callback failed: closing the channel ends the command via the
            # wrapper's watcher (terminate()/kill() would not for root, docs/ssh-notes.md 1).
            process.close()
            raise
        finally:
            reading.cancel()
            # A cancelled gather ends holding CancelledError as its exception: retrieve it, or
            # asyncio logs "_GatheringFuture exception was never retrieved" on the way out.
            reading.add_done_callback(_retrieve_exception)
            for task in pumps:
                task.cancel()  # one pump may outlive a gather that failed on the other
        status = _exit_status(process)
        # 124 and 137 are timeout(1)'s verdicts, but only if the deadline has actually passed.
        if status in (124, 137) and time.monotonic() - started >= timeout:
            timed_out = True
        if status is None and not timed_out and not (self._conn is conn and self.connected):
            lost = True  # the channel ended without a status because the connection did
        await output.flush(final=True)
        result = output.result(command, status, timed_out, started)
        if lost:
            if self._conn is conn:
                self._discard()
            raise self._lost(command, result)
        return result


def _exit_status(process: asyncssh.SSHClientProcess[str]) -> int | None:
    """The exit status; death by a signal is reported the shell's way (128 + number)."""
    if process.exit_signal:
        number = getattr(signal, f"SIG{process.exit_signal[0]}", None)
        return None if number is None else 128 + int(number)
    return process.exit_status


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def read_capped(path: Path, limit: int) -> bytes:
    """A local file's bytes, refused (ValueError) past `limit`: /dev/zero must not fill memory."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // 1024} kB: not a file of this kind")
    return data
