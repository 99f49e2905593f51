"""A real OpenSSH server on 127.0.0.1 for tests and demos: own keys, own config, own port.

It runs the system's `/usr/sbin/sshd` with a throw-away config in a work folder, so the SSH layer
is exercised against the same server software it meets in production (see docs/ssh-notes.md).
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import asyncssh

SSHD = "/usr/sbin/sshd"
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Process names of OpenSSH's per-connection processes (9.8+ split them into sshd-session/-auth).
_SSHD_NAMES = {"sshd", "sshd-session", "sshd-auth"}


def find_free_port() -> int:
    """Return a loopback TCP port that was free a moment ago (sshd cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_map() -> dict[int, list[int]]:
    """Map each pid to its child pids, read from /proc (a snapshot; processes come and go)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name in field 2 may hold spaces and parentheses: split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    """All living descendants of `pid`, parents before children."""
    children = _children_map()
    found: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _is_gone(pid: int) -> bool:
    """True when `pid` has exited; a zombie counts as gone (PID 1 in a container may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].startswith("Z")


class OpenSSHServer:
    """sshd on 127.0.0.1:<free port> accepting one client key for the current user.

    Files live in `workdir`: host and client keys, authorized_keys, sshd_config, known_hosts
    (holding this server's key for "[127.0.0.1]:port") and sshd.log (sshd's stderr).
    """

    host: str = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        *,
        path_prepend: Sequence[Path] = (),
        env: Mapping[str, str] = {},  # noqa: B006 - read only, never mutated
    ) -> None:
        self.workdir = Path(workdir)
        self.path_prepend = [Path(p) for p in path_prepend]
        self.env = dict(env)
        self.port = 0
        self.user = getpass.getuser()
        self.host_key_path = self.workdir / "ssh_host_ed25519_key"
        self.client_key_path = self.workdir / "id_ed25519"
        self.authorized_keys_path = self.workdir / "authorized_keys"
        self.config_path = self.workdir / "sshd_config"
        self.known_hosts_path = self.workdir / "known_hosts"
        self.log_path = self.workdir / "sshd.log"
        self.host_key: asyncssh.SSHKey | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Write keys and config, start sshd, and return once it has sent its SSH banner."""
        if self._process is not None:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Debian's sshd refuses to start without its privilege separation folder.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self._write_keys()
        # The port may be taken between find_free_port() and sshd's bind: try a few.
        last_error = ""
        for _attempt in range(3):
            self.port = find_free_port()
            self._write_config()
            try:
                self._launch(timeout)
            except RuntimeError as exc:
                last_error = str(exc)
                if "Address already in use" in last_error:
                    continue
                raise
            self.known_hosts_path.write_text(self.known_hosts_line() + "\n")
            self.known_hosts_path.chmod(0o600)
            return
        raise RuntimeError(last_error)

    def stop(self) -> None:
        """End the listener, every per-connection sshd and their commands; wait for them."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            # Freeze the listener first so no new connection forks, then freeze the whole tree
            # until it stops growing: once SIGKILLed, orphans are reparented and lost from view.
            os.kill(process.pid, signal.SIGSTOP)
            frozen: list[int] = []
            for _round in range(5):
                new = [pid for pid in _descendants(process.pid) if pid not in frozen]
                if not new:
                    break
                for pid in new:
                    _signal(pid, signal.SIGSTOP)
                frozen.extend(new)
            for pid in [process.pid, *frozen]:
                _signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while not all(_is_gone(pid) for pid in frozen) and time.monotonic() < deadline:
                time.sleep(0.01)
        process.wait(timeout=10)

    def session_pids(self) -> list[int]:
        """Pids of the per-connection sshd processes, for fault injection (SIGKILL, SIGSTOP)."""
        if self._process is None:
            return []
        return [pid for pid in _descendants(self._process.pid) if _comm(pid) in _SSHD_NAMES]

    @property
    def pid(self) -> int | None:
        """Pid of the listening sshd, None when not running."""
        return self._process.pid if self._process else None

    def known_hosts_line(self, port: int | None = None) -> str:
        """This server's key as a known_hosts line for 127.0.0.1 on `port` (default: sshd's)."""
        assert self.host_key is not None, "start() first"
        public = self.host_key.export_public_key().decode().strip()
        return f"[{self.host}]:{port or self.port} {public}"

    def log(self) -> str:
        """What sshd wrote to stderr so far (LogLevel VERBOSE)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> OpenSSHServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------------------------

    def _write_keys(self) -> None:
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key.write_private_key(self.host_key_path)
        self.host_key_path.chmod(0o600)
        client_key = asyncssh.generate_private_key("ssh-ed25519", comment="warungin-tui-test")
        client_key.write_private_key(self.client_key_path)
        self.client_key_path.chmod(0o600)
        client_key.write_public_key(self.client_key_path.with_suffix(".pub"))
        self.authorized_keys_path.write_bytes(client_key.export_public_key())

    def _write_config(self) -> None:
        path = ":".join([*(str(p) for p in self.path_prepend), STANDARD_PATH])
        # sshd uses only the first SetEnv line: every variable goes on that one line.
        assignments = [f"PATH={path}", *(f"{key}={value}" for key, value in self.env.items())]
        set_env = "SetEnv " + " ".join(f'"{item}"' for item in assignments)
        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key_path}",
            f"AuthorizedKeysFile {self.authorized_keys_path}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # Temporary folders are world-traversable; StrictModes would refuse the keys there.
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "AllowTcpForwarding local",
            "MaxSessions 10",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
            set_env,
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def _launch(self, timeout: float) -> None:
        """Start sshd and poll until it answers with a banner; RuntimeError with its log if not."""
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"sshd exited with status {process.returncode} on port {self.port}: "
                    f"{self.log().strip()}"
                )
            if self._banner_ok():
                self._process = process
                return
            time.sleep(0.01)
        process.kill()
        process.wait()
        raise RuntimeError(
            f"sshd did not answer on port {self.port} in {timeout:g} s: {self.log()}"
        )

    def _banner_ok(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"SSH-2.0-")
        except OSError:
            return False


def _signal(pid: int, signum: signal.Signals) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
