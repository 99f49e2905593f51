"""A fake Warungin production host living in one folder: git checkout with a newer commit on
its origin, database dumps, an emulated `docker`, and the stack up on the old release.

Layout under `root` (`layout="separate"`; see LAYOUTS for the others):
    project/          the checkout (git, branch main, one commit behind origin)
    origin.git/       bare repository holding the newer release commit
    backups/db/       database dumps (warungin-YYYYmmdd-HHMM.sql.gz)
    release-backups/  where the tool writes its tar backups (outside the project)
    gitconfig         the SSH sessions' global git config (never the real user's)
    bin/docker        the emulated docker command (docker_shim)
    state/            state.json, service logs, server output; outside project/ so a backup
                      of the project never contains it
"""

from __future__ import annotations

import gzip
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from warungin_tui.sandbox import project_files, scenarios
from warungin_tui.sandbox.state import (
    SERVER_KINDS,
    SERVICES,
    StateStore,
    alive,
    free_port,
    image_id,
    port_open,
    sandbox_processes,
    signal_process,
)

PACKAGE_PARENT = Path(__file__).resolve().parents[2]
# The production stack has been up for three days when the rehearsal starts.
ESTABLISHED_SECONDS = 3 * 24 * 3600
GIT_NAME = "Warungin Release Bot"
GIT_EMAIL = "release-bot@warungin.invalid"
LAYOUTS = {
    "separate": "backup_dir and the dumps outside the project",
    "default": "as sample_config.toml ships: no backup_dir (archives in the project), dumps in "
    "<project>/backups/db",
    "backup-inside": "backup_dir = <project>/backups, dumps in <project>/backups/db",
    "other-owner": "the default layout, the checkout owned by another user (nobody); the login "
    "user (root) lists it in safe.directory",
}
"""Where archives and dumps live on the rehearsal host (docs/backup-and-rollback.md)."""


class RehearsalHost:
    """The rehearsal target's files and processes; `create()` builds it, `stop_all()` ends it."""

    release_added_files = project_files.ADDED_FILES

    def __init__(
        self,
        root: Path,
        scenario: str = "healthy",
        *,
        old_version: str = "1.0.0",
        new_version: str = "1.1.0",
        build_seconds: float = 1.5,
        layout: str = "separate",
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
        self.layout = layout
        self.root = Path(root).resolve()
        self.scenario = scenarios.check(scenario)
        self.old_version = old_version
        self.new_version = new_version
        self.build_seconds = build_seconds  # how long `docker compose build` streams output
        self.store = StateStore(self.state_dir)

    # -- paths and addresses --------------------------------------------------------------------

    @property
    def project_dir(self) -> Path:
        return self.root / "project"

    @property
    def origin_dir(self) -> Path:
        return self.root / "origin.git"

    @property
    def backup_dir(self) -> Path:
        """Where the archives go (the project itself in the default layouts)."""
        if self.layout == "separate":
            return self.root / "release-backups"
        if self.layout == "backup-inside":
            return self.project_dir / "backups"
        return self.project_dir

    @property
    def backup_dir_configured(self) -> bool:
        """False where the config leaves backup_dir out (the default: project_dir)."""
        return self.layout in ("separate", "backup-inside")

    @property
    def db_backups_dir(self) -> Path:
        if self.layout == "separate":
            return self.root / "backups" / "db"
        return self.project_dir / "backups" / "db"

    @property
    def gitconfig_path(self) -> Path:
        return self.root / "gitconfig"

    @property
    def session_env(self) -> dict[str, str]:
        """Environment of every SSH session on this host (the login user's git config)."""
        return {"GIT_CONFIG_GLOBAL": str(self.gitconfig_path)}

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def port(self, service: str) -> int:
        """Loopback port of backend, frontend or nginx (chosen at create())."""
        return int(self.state()["ports"][service])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port('backend')}"

    @property
    def frontend_url(self) -> str:
        """The public URL: nginx, which proxies to the frontend and the API."""
        return f"http://127.0.0.1:{self.port('nginx')}"

    def state(self) -> dict[str, Any]:
        return self.store.read()

    # -- creation -------------------------------------------------------------------------------

    def create(self) -> None:
        """Build everything, then bring the stack up on old_version (production as it is)."""
        if self.project_dir.exists():
            raise FileExistsError(f"{self.project_dir} exists: a rehearsal host is created once")
        folders = (self.bin_dir, self.state_dir / "logs")
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        self._create_git()
        for folder in (self.backup_dir, self.db_backups_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._create_db_backups()
        self._create_gitconfig()
        self._create_docker_command()
        self._create_state()
        done = self.docker("--backdate", str(ESTABLISHED_SECONDS), "compose", "up", "-d")
        if done.returncode != 0:
            raise RuntimeError(f"starting the rehearsal stack failed: {done.stderr.strip()}")

    def _git(self, *args: str, cwd: Path | None = None, age: float = 0) -> None:
        """git with no global or system config (never touch or depend on the user's)."""
        stamp = f"@{int(time.time() - age)} +0000"
        env = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
            "GIT_AUTHOR_NAME": GIT_NAME,
            "GIT_AUTHOR_EMAIL": GIT_EMAIL,
            "GIT_COMMITTER_NAME": GIT_NAME,
            "GIT_COMMITTER_EMAIL": GIT_EMAIL,
        }
        subprocess.run(
            ["git", *args], cwd=cwd or self.root, env=env, check=True, capture_output=True
        )

    def _create_git(self) -> None:
        _write_tree(self.project_dir, project_files.old_files(self.old_version))
        project = self.project_dir
        self._git("init", "-q", "-b", "main", cwd=project)
        self._git("config", "user.name", GIT_NAME, cwd=project)
        self._git("config", "user.email", GIT_EMAIL, cwd=project)
        self._git("add", "-A", cwd=project)
        self._git("commit", "-q", "-m", f"Release {self.old_version}", cwd=project, age=86400 * 7)
        self._git("init", "-q", "--bare", "-b", "main", str(self.origin_dir))
        self._git("remote", "add", "origin", str(self.origin_dir), cwd=project)
        self._git("push", "-q", "-u", "origin", "main", cwd=project)
        # The newer commit is made in a throw-away clone, so the checkout has not fetched it
        # yet: `git status` there says "up to date" until the playbook's `git pull`.
        clone = self.root / ".release-clone"
        self._git("clone", "-q", str(self.origin_dir), str(clone))
        files = project_files.release_files(self.old_version, self.new_version)
        _write_tree(clone, files)
        self._git("add", "-A", cwd=clone)
        message = f"Release {self.new_version}: shift caching, request dedup, 2FA enforcement"
        self._git("commit", "-q", "-m", message, cwd=clone, age=3600)
        self._git("push", "-q", "origin", "main", cwd=clone)
        shutil.rmtree(clone)
        if scenarios.leaks_settings(self.scenario):
            dotenv = project / ".env"
            dotenv.write_text(project_files.LEAKY_DOTENV)
            dotenv.chmod(0o600)

    def _create_db_backups(self) -> None:
        newest = scenarios.newest_backup_age_hours(self.scenario)
        for extra in (0, 24, 48):
            when = time.time() - (newest + extra) * 3600
            name = time.strftime("warungin-%Y%m%d-%H%M.sql.gz", time.localtime(when))
            path = self.db_backups_dir / name
            dump = "-- PostgreSQL database dump\n-- Dumped from database version 15.10\n"
            path.write_bytes(gzip.compress(dump.encode(), mtime=int(when)))
            os.utime(path, (when, when))

    def _create_gitconfig(self) -> None:
        """The login user's git config; the other-owner layout hands the checkout to `nobody`
        and lists it in safe.directory, as the pre-check tells an operator to do."""
        text = ""
        if self.layout == "other-owner":
            text = f"[safe]\n\tdirectory = {self.project_dir}\n"
            subprocess.run(
                ["chown", "-R", "nobody:", str(self.project_dir)], check=True, capture_output=True
            )
        self.gitconfig_path.write_text(text)

    def _create_docker_command(self) -> None:
        script = f"""#!/bin/sh
# Emulated docker for the Warungin rehearsal host (no Docker engine here).
# -S: the shim needs only the standard library; skipping site saves ~30 ms per call.
PYTHONPATH={shlex.quote(str(PACKAGE_PARENT))}${{PYTHONPATH:+:$PYTHONPATH}}
# Cache bytecode in the user's cache folder (never in the source tree), even where the
# environment disables it: compiling on every call would add ~20 ms per docker command.
PYTHONPYCACHEPREFIX={shlex.quote(str(_pycache_dir()))}
unset PYTHONDONTWRITEBYTECODE
export PYTHONPATH PYTHONPYCACHEPREFIX
exec {shlex.quote(sys.executable)} -S -m warungin_tui.sandbox.docker_shim \\
    --state {shlex.quote(str(self.state_dir))} "$@"
"""
        docker = self.bin_dir / "docker"
        docker.write_text(script)
        docker.chmod(0o755)

    def _create_state(self) -> None:
        ports: dict[str, int] = {}
        while len(set(ports.values())) < len(SERVER_KINDS):
            ports = {kind: free_port() for kind in SERVER_KINDS}
        built_at = time.time() - ESTABLISHED_SECONDS
        images = {
            spec.name: {
                "version": self.old_version,
                "id": image_id(spec.name, self.old_version),
                "built_at": built_at,
            }
            for spec in SERVICES
            if spec.built
        }
        services = {
            spec.name: {
                "state": "removed",
                "version": "",
                "image_id": "",
                "container_id": "",
                "created_at": 0.0,
                "started_at": 0.0,
                "finished_at": None,
                "exit_code": 0,
                "pid": None,
                "pid_start": None,
            }
            for spec in SERVICES
        }
        self.store.write(
            {
                "scenario": self.scenario,
                "project_dir": str(self.project_dir),
                "old_version": self.old_version,
                "new_version": self.new_version,
                "build_seconds": self.build_seconds,
                "ports": ports,
                "images": images,
                "services": services,
                "scenario_state": {"first_session_query_at": None, "drop_done": False},
            }
        )

    # -- running commands -----------------------------------------------------------------------

    def docker(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run this host's `docker` in the project folder (as an operator on the server would)."""
        return subprocess.run(
            [str(self.bin_dir / "docker"), *args],
            cwd=cwd or self.project_dir,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def script_health(self, service: str, states: list[str]) -> None:
        """Make the next `docker compose ps` calls show these Health values for `service`, one
        per call (then its real health again): e.g. unhealthy twice, then it recovers."""
        with self.store.update() as st:
            st.setdefault("health_script", {})[service] = list(states)

    def server_pids(self) -> list[int]:
        """Pids of the fake servers and shims working on this host right now."""
        return [pid for pid, _ in sandbox_processes(self.state_dir)]

    @property
    def day_file(self) -> Path:
        """The monitoring day's clock (scenario `monitoring`), read by the emulated services."""
        return self.state_dir / "day.json"

    def start_day(self, speed: float, origin: float | None = None) -> float:
        """Start the monitoring day's clock (scenario `monitoring`); returns its origin (epoch).

        The monitor must run on the same clock: `warungin-tui monitor --speed S --origin O`."""
        origin = time.time() if origin is None else origin
        data = json.dumps({"origin": origin, "speed": speed})
        tmp = self.state_dir / "day.json.tmp"
        tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, self.day_file)
        return origin

    # -- teardown -------------------------------------------------------------------------------

    def stop_all(self, timeout: float = 10.0) -> None:
        """End every server and shim process of this host and wait until their ports are closed.

        Idempotent. Finds processes by their command line (`--state <this state dir>`), so a
        server whose pid never reached state.json is found too; shims are ended with the
        servers, so none can start a new one behind our back."""
        if not self.store.path.exists():
            return
        deadline = time.monotonic() + timeout
        sig = signal.SIGTERM  # first round; whoever is still there a second later gets KILL
        while found := sandbox_processes(self.state_dir):
            for pid, _start in found:
                signal_process(pid, sig)
            wait_until = min(deadline, time.monotonic() + 1.0)
            while any(alive(*p) for p in found) and time.monotonic() < wait_until:
                time.sleep(0.01)
            if time.monotonic() >= deadline:
                raise RuntimeError(f"rehearsal processes would not end: {found}")
            sig = signal.SIGKILL
        state = self.state()
        ports = list(state["ports"].values())
        with self.store.update() as st:
            for svc in st["services"].values():
                if svc["state"] == "running":
                    svc.update(
                        state="exited",
                        exit_code=137,
                        pid=None,
                        pid_start=None,
                        finished_at=time.time(),
                    )
        while any(port_open(port) for port in ports) and time.monotonic() < deadline:
            time.sleep(0.01)


def _pycache_dir() -> Path:
    """Per-user bytecode cache shared by all rehearsal hosts (a per-host one would recompile
    the standard library for every new host). Never a world-writable folder: a planted .pyc
    there would run as us."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "warungin-tui" / "pycache"


def _write_tree(base: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
