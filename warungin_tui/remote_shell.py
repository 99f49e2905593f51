"""One long-lived `sh` per connection that runs each command as its own child.

Every SSH exec pays the login shell's start-up (root's `.bashrc` here: ~80 ms) and a channel
round trip; this driver pays them once per connection. The client sends one line per request
(`j ID SECONDS COMMAND RECORD` to start a command, `k ID` to stop one), each a shell command
line the driver `eval`s: the command is one single-quoted word, so nothing in it is ever
interpreted by the driver. Each command runs under `timeout(1)` (host-side deadline and kill,
as in remote.py), and two relays copy its stdout and stderr to the channel in framed chunks:

    ID o N\\n<N bytes>     a chunk of stdout (`e` for stderr), raw bytes: binary, long lines,
                          a missing last newline and framing look-alikes all pass untouched
    ID x STATUS\\n         the command ended (`-` if its status could not be read); sent after
                          the last chunk of both streams
    0 r VERSION PID\\n     the driver is ready (after a newline: a login script's output
                          before it, skipped, may lack its last one)

Chunks of concurrent commands never interleave: a relay writes a whole frame while holding a
token read from a FIFO (a lock that needs no polling and no extra process). When the channel's
stdin ends (the client closed it, or the connection or its sshd went away) the driver TERMs
every command still running, as the per-command watcher of remote.py does. Only POSIX sh and
coreutils are needed (the host may lack python); where the driver cannot start, remote.py runs
each command in its own exec channel instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shlex
from collections.abc import Awaitable, Callable
from typing import cast

import asyncssh

PROTOCOL = "1"
REQUIRED_TOOLS = "timeout dd cat mkfifo mktemp tail rm mv wc sleep"
"""Commands the driver checks for before it says it is ready (all coreutils)."""

START_TIMEOUT_S = 15.0  # the login shell's start-up included
MAX_LOGIN_NOISE_BYTES = 1 << 20  # what a login script may print before the driver starts
MAX_HEADER_BYTES = 64  # a frame header is a few digits and letters: more is a broken stream
MAX_FRAME_BYTES = 1 << 20  # relays send at most 64 KiB a frame
MAX_BUFFERED_BYTES = 4 << 20  # per command: past this the reader waits for the consumer
STDERR_KEPT_BYTES = 2000  # the driver's own stderr, kept to say why it stopped

# `r STREAM` copies stdin to the channel (fd 4) in frames; the lock is the token on fd 5.
# `j ID SECONDS COMMAND RECORD` starts a command in the background; with a record folder the
# command writes its output there (hostrecords.py: pid, boot_id, out, err, status) and two
# `tail --pid` feed the relays, so a stalled channel can block only the tails, never the
# command; without one it writes to pipes read by the relays.
_DRIVER = r"""
umask 077
for t in {tools}; do
  command -v "$t" >/dev/null 2>&1 || {{ echo "the host has no $t" >&2; exit 3; }}
done
D=$(mktemp -d "${{TMPDIR:-/tmp}}/warungin-tui-sh.XXXXXXXX" 2>/dev/null) || {{
  echo "cannot make a private folder with mktemp -d in ${{TMPDIR:-/tmp}}" >&2; exit 3; }}
if ! {{ mkfifo -- "$D/lock" && exec 5<>"$D/lock"; }} 2>/dev/null; then
  rm -rf -- "$D"; echo "cannot make a FIFO in $D" >&2; exit 3
fi
echo >&5
exec 4>&1 2>/dev/null
nl='
'
r() {{
  t=$f.$1
  while LC_ALL=C dd bs=65536 count=1 of="$t" 2>"$t.n"; do
    n=
    while read -r a b _; do case $b in byte|bytes) n=$a;; esac; done <"$t.n"
    case $n in ''|*[!0-9]*) n=$(($(wc -c <"$t"))) || break;; esac
    [ "$n" -gt 0 ] || break
    read -r _ <&5; printf '%s %s %s\n' "$i" "$1" "$n" >&4; cat -- "$t" >&4; echo >&5
  done
  rm -f -- "$t" "$t.n"
}}
j() {{
  (
    i=$1 f=$D/$1 d=$4 s=
    if [ -n "$d" ] && {{ (umask 077 && mkdir -p -- "$d") && rm -f -- "$d/status" "$d/pid" \
        && true >"$d/out" && true >"$d/err"; }} 2>/dev/null; then
      timeout --kill-after={kill_after} "$2" sh -c "$3" </dev/null >"$d/out" 2>"$d/err" 4>&- 5>&- &
      p=$!
      echo "$p" >"$d/pid"; echo "$p" >"$f.pid"
      cat /proc/sys/kernel/random/boot_id >"$d/boot_id" 2>/dev/null
      {{ [ -e "$f.k" ] || [ -e "$D/down" ]; }} && kill -TERM "$p"
      tail -c +1 -s 0.05 -f --pid="$p" -- "$d/out" 5>&- | r o &
      tail -c +1 -s 0.05 -f --pid="$p" -- "$d/err" 5>&- | r e &
      wait "$p"; s=$?
      echo "$s" >"$d/status.new" && mv -f -- "$d/status.new" "$d/status"
      wait
    else
      {{ {{ timeout --kill-after={kill_after} "$2" sh -c "$3" </dev/null 3>&- 4>&- 5>&- &
          p=$!
          echo "$p" >"$f.pid"
          {{ [ -e "$f.k" ] || [ -e "$D/down" ]; }} && kill -TERM "$p"
          wait "$p"; echo "$?" >"$f.s"
        }} 2>&1 >&3 3>&- | r e; }} 3>&1 | r o
      read -r s <"$f.s"
    fi
    rm -f -- "$f.pid" "$f.k" "$f.s"
    read -r _ <&5; printf '%s x %s\n' "$i" "${{s:--}}" >&4; echo >&5
  ) </dev/null >/dev/null 2>&1 &
}}
k() {{ true >"$D/$1.k"; read -r p <"$D/$1.pid" && kill -TERM "$p"; }} 2>/dev/null
read -r _ <&5; printf '\n0 r {protocol} %s\n' "$$" >&4; echo >&5
while IFS= read -r l; do eval "$l"; done
true >"$D/down"
for x in "$D"/*.pid; do read -r p <"$x" && kill -TERM "$p"; done 2>/dev/null
n=0; while [ $n -lt 1000 ]; do echo; n=$((n+1)); done >&5
n=0; while [ $n -lt 200 ]; do set -- "$D"/*.pid; [ -e "$1" ] || break; sleep 0.1; n=$((n+1)); done
rm -rf -- "$D"
"""
# (At the end the driver puts 1000 tokens in the lock: a relay killed while holding it, by a
# write to the gone channel, would otherwise leave the others waiting for ever.)


def driver_command(kill_after_s: int) -> str:
    """The exec command that starts the driver (the outer `sh -c` makes it independent of the
    user's login shell, which runs once, here)."""
    script = _DRIVER.format(tools=REQUIRED_TOOLS, kill_after=kill_after_s, protocol=PROTOCOL)
    return "sh -c " + shlex.quote(script)


class DriverProcess(asyncssh.SSHClientProcess[bytes]):
    """The driver's channel; tells when sshd reports the driver's end. Its children may keep
    the channel's output open after it died (killed, say): that report is the only sign."""

    on_exit: Callable[[str], None] | None = None

    def exit_status_received(self, status: int) -> None:
        super().exit_status_received(status)
        if self.on_exit is not None:
            self.on_exit(f"exit status {status}")

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        super().exit_signal_received(signal, core_dumped, msg, lang)
        if self.on_exit is not None:
            self.on_exit(f"signal {signal}")


async def open_driver(conn: asyncssh.SSHClientConnection, command: str) -> DriverProcess:
    """`conn.create_process(command, encoding=None)`, as a DriverProcess."""
    _, session = await conn.create_session(DriverProcess, command, encoding=None)
    process = cast(DriverProcess, session)
    await process.redirect(
        asyncssh.PIPE, asyncssh.PIPE, asyncssh.PIPE, 65536, send_eof=True, recv_eof=True
    )
    return process


def _one_line_word(text: str) -> str:
    """`text` as one single-quoted shell word on one line: each newline becomes `$nl`, which
    the driver sets to a newline (`read` reads one line per request)."""
    return shlex.quote(text).replace("\n", "'\"$nl\"'")


class ShellUnavailable(Exception):
    """The driver could not be started; `reason` says why, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ShellJob:
    """One command in the shell: its output chunks as they arrive, then its exit status."""

    def __init__(self, shell: RemoteShell, job_id: int) -> None:
        self.shell = shell
        self.id = job_id
        self.chunks: list[tuple[str, bytes]] = []
        self.buffered = 0
        self.status: int | None = None
        self.finished = False
        self.failure: str | None = None
        """Set when the shell or the connection ended before the command's status arrived."""
        self.lost_connection = False
        self._arrived = asyncio.Event()
        self._space = asyncio.Event()

    @property
    def over(self) -> bool:
        return self.finished or self.failure is not None

    async def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for output or the end; True if something arrived."""
        if not self._arrived.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._arrived.wait()
        arrived = self._arrived.is_set()
        self._arrived.clear()
        return arrived

    def take(self) -> list[tuple[str, bytes]]:
        chunks, self.chunks, self.buffered = self.chunks, [], 0
        self._space.set()
        return chunks

    def kill(self) -> None:
        """Stop the command on the host (TERM to its `timeout`, KILL follows there)."""
        if not self.over:
            self.shell.send(f"k {self.id}\n")

    def release(self) -> None:
        """The caller is done with this job: later frames for it are dropped."""
        self.shell.forget(self)
        self._space.set()

    def _push(self, stream: str, data: bytes) -> None:
        self.chunks.append((stream, data))
        self.buffered += len(data)
        self._arrived.set()

    def _finish(self, status: int | None) -> None:
        self.status, self.finished = status, True
        self._arrived.set()

    def _fail(self, reason: str, lost_connection: bool) -> None:
        if not self.finished:
            self.failure, self.lost_connection = reason, lost_connection
        self._arrived.set()
        self._space.set()

    async def _room(self) -> None:
        """Wait while this job holds more unread output than allowed (backpressure)."""
        while self.buffered > MAX_BUFFERED_BYTES and self.shell.holds(self):
            self._space.clear()
            await self._space.wait()


class RemoteShell:
    """The client end of one driver: sends requests, reads and routes its frames."""

    def __init__(self, process: DriverProcess) -> None:
        self._process = process
        process.on_exit = self._driver_ended
        self._jobs: dict[int, ShellJob] = {}
        self._ids = itertools.count(1)
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stderr = bytearray()
        self.failure: str | None = None
        self.pid: int | None = None
        """The driver's pid on the host, once it is ready."""
        self._tasks = [
            asyncio.create_task(self._read_frames()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(
        cls, open_process: Callable[[str], Awaitable[DriverProcess]], kill_after_s: int
    ) -> RemoteShell:
        """Start the driver; ShellUnavailable if it says it cannot run or does not answer."""
        process = await open_process(driver_command(kill_after_s))
        shell = cls(process)
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                await asyncio.shield(shell._ready)
        except TimeoutError:
            shell.close()
            raise ShellUnavailable(f"no answer within {START_TIMEOUT_S:g} s") from None
        except BaseException:  # it said it cannot run, or the caller was cancelled
            shell.close()
            raise
        return shell

    @property
    def usable(self) -> bool:
        return self.failure is None

    def submit(self, command: str, seconds: str, record: str | None) -> ShellJob:
        """Start `command` (run with `sh -c` under `timeout SECONDS`); `record`: a shell word."""
        job = ShellJob(self, next(self._ids))
        if self.failure is not None:
            job._fail(self.failure, lost_connection=False)
            return job
        self._jobs[job.id] = job
        where = record or "''"
        self.send(f"j {job.id} {seconds} {_one_line_word(command)} {where}\n")
        return job

    def send(self, line: str) -> None:
        if self.failure is not None:
            return  # the driver is gone: it already stopped every command it ran
        try:
            self._process.stdin.write(line.encode("utf-8"))
        except (OSError, asyncssh.Error) as exc:
            self._fail_all(f"cannot write to the remote shell: {exc}", lost_connection=True)

    def forget(self, job: ShellJob) -> None:
        if self._jobs.get(job.id) is job:
            del self._jobs[job.id]

    def holds(self, job: ShellJob) -> bool:
        return self._jobs.get(job.id) is job

    def close(self) -> None:
        """End the driver (closing its stdin stops every command it still runs)."""
        for task in self._tasks:
            task.cancel()
        self._process.close()
        self._fail_all("the remote shell was closed", lost_connection=False)

    def _driver_ended(self, how: str) -> None:
        if not self._ready.done():
            return  # its stdout ends too: the reader reports, with what the driver said
        self._fail_all(f"the remote shell ended ({how})", lost_connection=False)

    def _fail_all(self, reason: str, lost_connection: bool) -> None:
        if self.failure is None:
            self.failure = reason
        if not self._ready.done():
            said = self._stderr.decode("utf-8", "replace").strip().splitlines()
            self._ready.set_exception(ShellUnavailable(said[-1][:200] if said else reason))
            self._ready.exception()  # retrieved here: start() may have given up already
        for job in list(self._jobs.values()):
            job._fail(reason, lost_connection)

    async def _read_stderr(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            while chunk := await self._process.stderr.read(4096):
                self._stderr = (self._stderr + chunk)[-STDERR_KEPT_BYTES:]

    async def _read_frames(self) -> None:
        """Route every frame to its job until the driver's stdout ends."""
        buffer = bytearray()
        frame: tuple[int, str, int] | None = None  # job id, stream, bytes still to come
        try:
            while chunk := await self._process.stdout.read(65536):
                buffer += chunk
                position = 0
                while position < len(buffer):
                    if frame is not None:
                        job_id, stream, missing = frame
                        data = bytes(buffer[position : position + missing])
                        position += len(data)
                        missing -= len(data)
                        frame = (job_id, stream, missing) if missing else None
                        if (job := self._jobs.get(job_id)) is not None:
                            job._push(stream, data)
                            await job._room()
                        continue
                    if not self._ready.done():  # a login script may print before the driver
                        end = buffer.find(b"\n", position)
                        if end < 0:
                            if len(buffer) > MAX_LOGIN_NOISE_BYTES:
                                raise ValueError("no ready line from the remote shell")
                            break
                        if not buffer.startswith(b"0 r ", position):
                            position = end + 1
                            continue
                    end = buffer.find(b"\n", position, position + MAX_HEADER_BYTES)
                    if end < 0:
                        if len(buffer) - position >= MAX_HEADER_BYTES:
                            raise ValueError(f"no frame header: {bytes(buffer[position:][:40])!r}")
                        break  # the rest of the header is still on its way
                    frame = self._header(bytes(buffer[position:end]))
                    position = end + 1
                del buffer[:position]
        except (asyncssh.Error, OSError) as exc:
            self._fail_all(f"connection lost: {exc}", lost_connection=True)
            return
        except ValueError as exc:  # a broken stream: nothing after it can be trusted
            self._fail_all(f"the remote shell's output broke its protocol ({exc})", False)
            self._process.close()
            return
        await asyncio.wait(self._tasks[1:], timeout=1)  # what it said on stderr, if anything
        said = self._stderr.decode("utf-8", "replace").strip().splitlines()
        why = f": {said[-1][:200]}" if said else ""
        self._fail_all(f"the remote shell ended{why}", lost_connection=False)

    def _header(self, header: bytes) -> tuple[int, str, int] | None:
        """Act on one header; a data header returns the frame whose bytes follow it."""
        parts = header.decode("ascii").split(" ")
        if len(parts) < 3 or not parts[0].isdigit():
            raise ValueError(f"bad frame header {header[:40]!r}")
        job_id, kind, value = int(parts[0]), parts[1], parts[2]
        if kind in ("o", "e"):
            size = int(value)
            if not 0 < size <= MAX_FRAME_BYTES:
                raise ValueError(f"bad frame size {size}")
            return job_id, "stdout" if kind == "o" else "stderr", size
        if kind == "x":
            if (job := self._jobs.get(job_id)) is not None:
                job._finish(int(value) if value.isdigit() else None)
            return None
        if kind == "r" and job_id == 0:
            if value != PROTOCOL:
                raise ValueError(f"protocol {value}, expected {PROTOCOL}")
            self.pid = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
            if not self._ready.done():
                self._ready.set_result(None)
            return None
        raise ValueError(f"bad frame header {header[:40]!r}")
