"""`docker compose` container life cycle for the rehearsal host: down, up, stop, start,
restart, exec and config, on the state file; backend, frontend and nginx run as real servers.

The read-only views (ps, logs) and build live in docker_shim.py, which subclasses Compose.
Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from warungin_tui.sandbox import containers, formats, scenarios
from warungin_tui.sandbox.shimlib import ShimError, err, parse
from warungin_tui.sandbox.state import (
    PROJECT,
    SERVICES,
    SPECS,
    StateStore,
    alive,
    container_id,
    port_open,
    start_time,
    terminate,
)

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
NETWORK = f"{PROJECT}_default"
READY_TIMEOUT = 10.0


class Compose:
    """`docker compose` against the state of one rehearsal host."""

    def __init__(self, store: StateStore, compose_file: Path, backdate: float) -> None:
        self.store = store
        self.compose_file = compose_file
        self.project_dir = compose_file.parent  # where VERSION is read at build time
        self.backdate = backdate  # seconds: RehearsalHost starts "production" as if up for days
        self.booting: list[tuple[str, subprocess.Popen[bytes]]] = []

    # -- containers ---------------------------------------------------------------------------

    def names(self, given: list[str]) -> list[str]:
        for name in given:
            if name not in SPECS:
                raise ShimError(f"no such service: {name}")
        return given or [spec.name for spec in SERVICES]

    def start(self, st: dict[str, Any], name: str, *, create: bool) -> None:
        """Start a container; an HTTP service's readiness is awaited later in ready(), so that
        several servers boot in parallel, as compose starts containers."""
        spec, svc = SPECS[name], st["services"][name]
        started = time.time() - self.backdate
        if create:
            image = st["images"].get(name, {"version": spec.image.rsplit(":", 1)[-1], "id": ""})
            svc.update(
                created_at=started,
                container_id=container_id(name, started),
                version=image["version"],
                image_id=image["id"],
            )
            (self.store.dir / "logs" / f"{name}.log").unlink(missing_ok=True)
        err(f" Container {spec.container}  Starting")
        svc.update(state="running", started_at=started, finished_at=None, exit_code=0)
        if spec.server:
            self.booting.append((name, self.spawn(st, name, started)))
            return
        lines = formats.service_startup_lines(name, started)
        (self.store.dir / "logs").mkdir(exist_ok=True)
        with (self.store.dir / "logs" / f"{name}.log").open("a", encoding="utf-8") as log:
            log.writelines(line + "\n" for line in lines)
        err(f" Container {spec.container}  Started")

    def spawn(self, st: dict[str, Any], name: str, started: float) -> subprocess.Popen[bytes]:
        """Start the service's HTTP server as a detached process."""
        spec, svc, port = SPECS[name], st["services"][name], st["ports"][name]
        if port_open(port):
            svc.update(state="exited", exit_code=128)
            raise ShimError(
                "Error response from daemon: driver failed programming external connectivity on "
                f"endpoint {spec.container}: Bind for 127.0.0.1:{port} failed: port is already "
                "allocated"
            )
        options = {
            "--kind": str(spec.server),
            "--port": str(port),
            "--state": str(self.store.dir),
            "--version": svc["version"],
            "--new-version": st["new_version"],
            "--scenario": st["scenario"],
            "--started-at": repr(started),
            "--backend-port": str(st["ports"]["backend"]),
            "--frontend-port": str(st["ports"]["frontend"]),
            "--env-file": str(self.project_dir / ".env"),
        }
        argv = [sys.executable, "-S", "-m", "warungin_tui.sandbox.services"]
        argv += [item for pair in options.items() for item in pair]
        env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
        (self.store.dir / "run").mkdir(exist_ok=True)
        with (self.store.dir / "run" / f"{name}.out").open("ab") as out:
            # A session of its own: the server outlives this call, and stop kills its group.
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=self.store.dir,
                env=env,
                start_new_session=True,
            )
        svc.update(pid=proc.pid, pid_start=start_time(proc.pid))
        return proc

    def ready(self, st: dict[str, Any]) -> None:
        """Wait until every server started by this call accepts connections (with a deadline)."""
        deadline = time.monotonic() + READY_TIMEOUT
        booting, self.booting = self.booting, []
        for name, proc in booting:
            port, container = st["ports"][name], SPECS[name].container
            while not port_open(port, timeout=0.5):
                if proc.poll() is not None or time.monotonic() > deadline:
                    terminate(proc.pid)
                    svc = st["services"][name]
                    svc.update(state="exited", exit_code=proc.returncode or 1, pid=None)
                    raise ShimError(
                        f"Error response from daemon: container {container} exited while "
                        f"starting; see {self.store.dir}/run/{name}.out"
                    )
                time.sleep(0.01)
            err(f" Container {container}  Started")

    def stop(self, st: dict[str, Any], name: str, *, remove: bool) -> None:
        svc, container = st["services"][name], SPECS[name].container
        if svc["state"] == "running":
            err(f" Container {container}  Stopping")
            terminate(svc.get("pid"), svc.get("pid_start"))
            svc.update(state="exited", pid=None, pid_start=None, finished_at=time.time())
            err(f" Container {container}  Stopped")
        if remove and svc["state"] != "removed":
            err(f" Container {container}  Removing")
            svc.update(state="removed")
            (self.store.dir / "logs" / f"{name}.log").unlink(missing_ok=True)
            err(f" Container {container}  Removed")

    def observed(self, st: dict[str, Any]) -> dict[str, Any]:
        """The state with crashed servers (process gone) shown as exited, like docker would."""
        for name, svc in st["services"].items():
            if svc["state"] == "running" and SPECS[name].server:
                if not alive(svc.get("pid"), svc.get("pid_start")):
                    svc.update(state="exited", exit_code=137, finished_at=time.time())
        return st

    def health(self, st: dict[str, Any], name: str, now: float) -> str:
        svc = st["services"][name]
        if svc["state"] != "running" or not SPECS[name].healthcheck:
            return ""
        scripted = st.get("health_script", {}).get(name)
        if scripted:  # a test's script: `ps` shows these states, one per call
            return str(scripted[0])
        if name == "backend" and scenarios.backend_down(st["scenario"], self.store.day(), now):
            return "unhealthy"
        return scenarios.compose_health(
            st["scenario"], name, svc["version"], st["new_version"], svc["started_at"], now
        )

    # -- subcommands ----------------------------------------------------------------------------

    def cmd_down(self, args: list[str]) -> int:
        parse(args, {"-v", "--volumes", "--remove-orphans"}, {"-t", "--timeout", "--rmi"})
        with self.store.update() as st:
            existing = [
                s.name for s in reversed(SERVICES) if st["services"][s.name]["state"] != "removed"
            ]
            for name in existing:
                self.stop(st, name, remove=True)
        if existing:
            err(f" Network {NETWORK}  Removing")
            err(f" Network {NETWORK}  Removed")
        return 0

    def cmd_up(self, args: list[str]) -> int:
        flags = {
            "-d",
            "--detach",
            "--build",
            "--no-deps",
            "--wait",
            "--force-recreate",
            "--no-recreate",
            "--remove-orphans",
            "--no-build",
            "--quiet-pull",
        }
        opts, given = parse(args, flags, {"--wait-timeout", "-t", "--timeout", "--pull"})
        names = self.names(given)
        if "--build" in opts and (code := self.cmd_build(names)):
            return code
        with self.store.update() as st:
            self.observed(st)
            if all(svc["state"] == "removed" for svc in st["services"].values()):
                err(f" Network {NETWORK}  Creating")
                err(f" Network {NETWORK}  Created")
            for name in names:
                svc, container = st["services"][name], SPECS[name].container
                image = st["images"].get(name)
                stale = image is not None and svc.get("image_id") != image["id"]
                if svc["state"] != "removed" and (stale or "--force-recreate" in opts):
                    err(f" Container {container}  Recreate")
                    self.stop(st, name, remove=True)
                    err(f" Container {container}  Recreated")
                    self.start(st, name, create=True)
                elif svc["state"] == "running":
                    err(f" Container {container}  Running")
                elif svc["state"] == "exited":
                    self.start(st, name, create=False)
                else:
                    err(f" Container {container}  Creating")
                    err(f" Container {container}  Created")
                    self.start(st, name, create=True)
            self.ready(st)
        if "--wait" in opts:
            return self.wait(names, float(opts.get("--wait-timeout") or 60))
        return 0

    def wait(self, names: list[str], timeout: float) -> int:
        """`up --wait`: poll until every service with a healthcheck is healthy."""
        waiting = [n for n in names if SPECS[n].healthcheck]
        for name in waiting:
            err(f" Container {SPECS[name].container}  Waiting")
        deadline = time.monotonic() + timeout
        while True:
            st, now = self.observed(self.store.read()), time.time()
            health = {n: self.health(st, n, now) for n in waiting}
            for name, value in health.items():
                if value in ("unhealthy", "") or st["services"][name]["state"] != "running":
                    raise ShimError(f"container {SPECS[name].container} is unhealthy")
            if all(value == "healthy" for value in health.values()):
                for name in waiting:
                    err(f" Container {SPECS[name].container}  Healthy")
                return 0
            if time.monotonic() > deadline:
                raise ShimError("timeout waiting for services to be healthy")
            time.sleep(0.1)

    def cmd_stop(self, args: list[str]) -> int:
        _, given = parse(args, set(), {"-t", "--timeout"})
        with self.store.update() as st:
            for name in reversed(self.names(given)):
                self.stop(st, name, remove=False)
        return 0

    def cmd_start(self, args: list[str]) -> int:
        _, given = parse(args, set(), set())
        with self.store.update() as st:
            self.observed(st)
            for name in self.names(given):
                if st["services"][name]["state"] == "exited":
                    self.start(st, name, create=False)
            self.ready(st)
        return 0

    def cmd_restart(self, args: list[str]) -> int:
        _, given = parse(args, {"--no-deps"}, {"-t", "--timeout"})
        with self.store.update() as st:
            self.observed(st)
            for name in self.names(given):
                if st["services"][name]["state"] != "removed":
                    self.stop(st, name, remove=False)
                    self.start(st, name, create=False)
            self.ready(st)
        return 0

    def cmd_exec(self, args: list[str]) -> int:
        _, rest = parse(
            args,
            {"-T", "--no-TTY", "-d", "--detach", "--privileged", "-i"},
            {"-e", "--env", "-u", "--user", "-w", "--workdir", "--index"},
            stop_at_positional=True,
        )
        if len(rest) < 2:
            raise ShimError("'exec' requires at least 2 arguments")
        service, command = rest[0], rest[1:]
        self.names([service])
        st = self.observed(self.store.read())
        if st["services"][service]["state"] != "running":
            raise ShimError(f'service "{service}" is not running')
        return containers.run(service, command, self.store)

    def cmd_config(self, args: list[str]) -> int:
        opts, _ = parse(args, {"--services", "-q", "--quiet"}, {"--format"})
        if "--services" in opts:
            print("\n".join(spec.name for spec in SERVICES))
        elif not ({"-q", "--quiet"} & opts.keys()):
            print(self.compose_file.read_text(), end="")
        return 0

    def cmd_build(self, args: list[str]) -> int:
        raise NotImplementedError  # docker_shim.Shim provides it
