"""A `docker` command for the rehearsal host: emulates `docker info` and `docker compose
down|build|up|ps|logs|exec|stop|start|restart` with the output formats of Docker 27 / Compose v2.

Run as `python -m warungin_tui.sandbox.docker_shim --state DIR ARGS...` (the host's bin/docker
does this). Containers are entries in DIR/state.json; backend, frontend and nginx are real HTTP
servers (services.py) started and stopped by compose.py, so probes see what really happened.
Standard library only, because every emulated `docker` call pays this module's start-up time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warungin_tui.sandbox import formats, scenarios
from warungin_tui.sandbox.compose import Compose
from warungin_tui.sandbox.shimlib import ShimError, err, parse
from warungin_tui.sandbox.state import (
    PROJECT,
    SERVICES,
    SPECS,
    StateStore,
    cmdline,
    image_id,
    parent_pid,
)

DROP_HOLD_S = 30.0
"""ssh-drop: how long the cut build waits for the watcher's TERM before it ends by itself."""
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
PS_HEADER = ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
PS_FIELDS = ["Name", "Image", "Command", "Service", "RunningFor", "Status", "Ports"]
HEALTH_SUFFIX = {
    "healthy": " (healthy)",
    "unhealthy": " (unhealthy)",
    "starting": " (health: starting)",
}
DROP_AFTER_LINES = 8
HOLD_BUILD = "hold-build"
"""While this file exists in the state folder, `compose build` waits before it ends."""


class Shim(Compose):
    """Compose plus the views (ps, logs) and build."""

    def row(self, st: dict[str, Any], name: str, now: float) -> dict[str, Any]:
        """One container as `docker compose ps --format json` describes it."""
        spec, svc = SPECS[name], st["services"][name]
        running = svc["state"] == "running"
        health = self.health(st, name, now)
        if running:
            status = f"Up {formats.human_duration(now - svc['started_at'])}"
            status += HEALTH_SUFFIX.get(health, "")
        else:
            ago = formats.human_duration(now - (svc.get("finished_at") or now))
            status = f"Exited ({svc.get('exit_code', 0)}) {ago} ago"
        port = st["ports"].get(name)
        publishers = [
            {
                "URL": "127.0.0.1" if port else "",
                "TargetPort": spec.target_port,
                "PublishedPort": port or 0,
                "Protocol": "tcp",
            }
        ]
        ports = f"127.0.0.1:{port}->{spec.target_port}/tcp" if port else f"{spec.target_port}/tcp"
        labels = (
            f"com.docker.compose.project={PROJECT},com.docker.compose.service={name},"
            f"com.docker.compose.version={formats.COMPOSE_VERSION},"
            f"org.opencontainers.image.version={svc['version']}"
        )
        return {
            "Command": f'"{formats.ellipsis(spec.command, 20)}"',
            "CreatedAt": formats.compose_time(svc["created_at"]),
            "ExitCode": 0 if running else svc.get("exit_code", 0),
            "Health": health,
            "ID": svc["container_id"],
            "Image": spec.image,
            "Labels": labels,
            "LocalVolumes": "1" if name in ("postgres", "redis", "loki") else "0",
            "Mounts": "",
            "Name": spec.container,
            "Names": spec.container,
            "Networks": f"{PROJECT}_default",
            "Ports": ports if running else "",
            "Project": PROJECT,
            "Publishers": publishers if running else [],
            "RunningFor": f"{formats.human_duration(now - svc['created_at'])} ago",
            "Service": name,
            "Size": "0B",
            "State": svc["state"],
            "Status": status,
        }

    def cmd_ps(self, args: list[str]) -> int:
        opts, given = parse(
            args,
            {"-a", "--all", "-q", "--quiet", "--services", "--no-trunc"},
            {"--format", "--status", "--filter"},
        )
        st, now = self.observed(self.store.read()), time.time()
        wanted_state = opts.get("--status")
        show_all = bool({"-a", "--all"} & opts.keys()) or wanted_state is not None
        rows = []
        for name in self.names(given):
            state = st["services"][name]["state"]
            if state == "removed" or (state != "running" and not show_all):
                continue
            if wanted_state is None or state == wanted_state:
                rows.append(self.row(st, name, now))
        if any(st.get("health_script", {}).values()):
            self._advance_health_script([r["Service"] for r in rows if r["State"] == "running"])
        fmt = opts.get("--format", "table")
        if "--services" in opts:
            lines = [r["Service"] for r in rows]
        elif {"-q", "--quiet"} & opts.keys():
            lines = [r["ID"] for r in rows]
        elif fmt == "json":
            lines = [json.dumps(r, separators=(",", ":")) for r in rows]
        elif fmt == "table":
            sys.stdout.write(formats.table(PS_HEADER, [[r[f] for f in PS_FIELDS] for r in rows]))
            return 0
        else:  # a Go template such as '{{.Name}}\t{{.Status}}'
            lines = [_template(fmt, r) for r in rows]
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0

    def _advance_health_script(self, shown: list[str]) -> None:
        """Each `ps` that showed a scripted health moves that service's script on by one."""
        with self.store.update() as live:
            for name, states in live.get("health_script", {}).items():
                if name in shown and states:
                    states.pop(0)

    def cmd_logs(self, args: list[str]) -> int:
        opts, given = parse(
            args,
            {"-f", "--follow", "-t", "--timestamps", "--no-color", "--no-log-prefix"},
            {"--tail", "-n", "--since", "--until", "--index"},
        )
        tail = opts.get("--tail", opts.get("-n", "all"))
        try:
            count = None if tail in ("all", "-1") else int(tail)
        except ValueError:
            raise ShimError(f'invalid argument "{tail}" for "-n, --tail" flag') from None
        names = self.names(given)
        st = self.store.read()
        shown = [n for n in names if st["services"][n]["state"] != "removed"]
        width = max((len(SPECS[n].container) for n in shown), default=0)
        prefix = {
            n: "" if "--no-log-prefix" in opts else f"{SPECS[n].container:<{width + 1}} | "
            for n in shown
        }
        offsets: dict[str, int] = {}
        window = _time_window(opts)
        day = self.store.day()
        for name in shown:
            data = self._log_bytes(name, 0)
            offsets[name] = len(data)
            lines = data.decode(errors="replace").splitlines()
            if window is not None:
                lines = _lines_within(lines, *window)
                if name == "backend":
                    lines = _with_burst(lines, st["scenario"], day, *window)
            if count is not None:
                lines = lines[-count:] if count > 0 else []
            sys.stdout.write("".join(f"{prefix[name]}{line}\n" for line in lines))
        sys.stdout.flush()
        while {"-f", "--follow"} & opts.keys():
            time.sleep(0.25)
            for name in shown:
                data = self._log_bytes(name, offsets[name])
                data = data[: data.rfind(b"\n") + 1]
                offsets[name] += len(data)
                for line in data.decode(errors="replace").splitlines():
                    sys.stdout.write(f"{prefix[name]}{line}\n")
            sys.stdout.flush()
            st = self.observed(self.store.read())
            if not any(st["services"][n]["state"] == "running" for n in shown):
                break
        return 0

    def _log_bytes(self, name: str, offset: int) -> bytes:
        try:
            with (self.store.dir / "logs" / f"{name}.log").open("rb") as file:
                file.seek(offset)
                return file.read()
        except FileNotFoundError:
            return b""

    def cmd_build(self, args: list[str]) -> int:
        _, given = parse(
            args,
            {"--no-cache", "--pull", "-q", "--quiet", "--with-dependencies"},
            {"--progress", "--build-arg", "--ssh", "-m", "--memory"},
        )
        targets = [name for name in self.names(given) if SPECS[name].built]
        with self.store.update() as st:  # tests count builds: a retry must never start a second
            st["builds_started"] = int(st.get("builds_started", 0)) + 1
        scenario, extra = st["scenario"], st["scenario_state"]
        version_file = self.project_dir / "VERSION"
        source = version_file.read_text().strip() if version_file.is_file() else "0.0.0"
        failing = "frontend" if "frontend" in targets else (targets[-1] if targets else "")
        fail = scenarios.build_fails(scenario)
        lines = ['#0 building with "default" instance using docker driver', ""]
        built: dict[str, str] = {}
        for name in targets:
            version = scenarios.built_version(scenario, st["images"][name]["version"], source)
            steps = formats.build_steps(
                name,
                version,
                image_id(name, version),
                fail=fail and name == failing,
                first=1 + 7 * len(built),
            )
            lines += steps
            built[name] = version
            if fail and name == failing:
                break
        drop = scenarios.should_drop(scenario, bool(extra.get("drop_done")))
        pause = float(st.get("build_seconds", 1.5)) / max(len(lines), 1)
        for index, line in enumerate(lines):
            if drop and index == DROP_AFTER_LINES:
                time.sleep(0.3)  # let the client receive what was printed before the cut
                return drop_connection(self.store)
            err(line)
            time.sleep(pause)
        while (self.store.dir / HOLD_BUILD).exists():  # a test holds the build while it looks
            time.sleep(0.05)
        if fail:
            return 1
        with self.store.update() as st:
            for name, version in built.items():
                st["images"][name] = {
                    "version": version,
                    "id": image_id(name, version),
                    "built_at": time.time(),
                }
        for name in built:
            err(f" \u2714 Service {name}  Built")
        return 0


def _time_window(opts: dict[str, str]) -> tuple[float, float] | None:
    """[since, until) of `logs --since/--until` as epochs, or None when neither is given."""
    if "--since" not in opts and "--until" not in opts:
        return None
    now = time.time()
    try:
        since = formats.parse_since(opts["--since"], now) if "--since" in opts else 0.0
        until = formats.parse_since(opts["--until"], now) if "--until" in opts else now + 1e9
    except ValueError as exc:
        raise ShimError(str(exc)) from None
    return since, until


def _lines_within(lines: list[str], since: float, until: float) -> list[str]:
    """Lines logged in [since, until); an unstamped line goes with the line before it."""
    kept, stamp = [], 0.0
    for line in lines:
        stamp = formats.line_time(line) or stamp
        if since <= stamp < until:
            kept.append(line)
    return kept


def _with_burst(
    lines: list[str], scenario: str, day: dict[str, Any] | None, since: float, until: float
) -> list[str]:
    """The backend's log plus the monitoring day's burst of ERROR lines, in time order."""
    burst = scenarios.burst_errors(scenario, day, since, until)
    if not burst:
        return lines
    stamped = [(formats.line_time(line) or since, line) for line in lines]
    for at, message in burst:
        iso = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        stamped.append((at, f"{iso.replace('+00:00', 'Z')} {message}"))
    return [line for _, line in sorted(stamped, key=lambda pair: pair[0])]


def stats(store: StateStore, args: list[str]) -> int:
    """`docker stats --no-stream [--format json|TEMPLATE]`: CPU and memory per container."""
    opts, given = parse(args, {"--no-stream", "-a", "--all", "--no-trunc"}, {"--format"})
    if "--no-stream" not in opts:
        raise ShimError("the rehearsal host only answers `docker stats --no-stream`")
    st, now = Compose(store, Path("."), 0).observed(store.read()), time.time()
    day = store.day()
    rows = []
    for spec in SERVICES:
        svc = st["services"][spec.name]
        if svc["state"] != "running" or (given and spec.container not in given):
            continue
        cpu, mem = scenarios.container_load(st["scenario"], day, spec.name, now)
        used = mem / 100 * formats.HOST_MEMORY_MIB
        rows.append(
            {
                "BlockIO": "1.2MB / 0B",
                "CPUPerc": f"{cpu:.2f}%",
                "Container": svc["container_id"][:12],
                "ID": svc["container_id"][:12],
                "MemPerc": f"{mem:.2f}%",
                "MemUsage": f"{used:.1f}MiB / {formats.HOST_MEMORY_MIB / 1024:.2f}GiB",
                "Name": spec.container,
                "NetIO": "12.3kB / 8.1kB",
                "PIDs": "7",
            }
        )
    fmt = opts.get("--format", "table")
    if fmt == "json":
        lines = [json.dumps(r, separators=(",", ":")) for r in rows]
    elif fmt == "table":
        header = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]
        fields = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "PIDs"]
        sys.stdout.write(formats.table(header, [[r[f] for f in fields] for r in rows]))
        return 0
    else:
        lines = [_template(fmt, r) for r in rows]
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def _template(fmt: str, row: dict[str, Any]) -> str:
    """A Go template over one ps row: {{.Field}} and {{json .}}, with \\t escapes."""
    text = fmt.replace("\\t", "\t").replace("\\n", "\n")
    text = re.sub(r"\{\{\s*json\s+\.\s*\}\}", lambda _: json.dumps(row), text)
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: str(row.get(m.group(1), "")), text)


def _sshd_sessions() -> list[int]:
    """Per-connection sshd processes above this one, when they belong to a test sshd.

    Walks the parent chain to the first run of `sshd: user@...` processes and accepts it only
    if the process above them is an sshd started with its own `-f CONFIG` (a fixture), so an
    operator's real login session is never killed."""
    chain: list[tuple[int, list[str]]] = []
    pid = os.getppid()
    while pid > 1 and len(chain) < 12:
        chain.append((pid, cmdline(pid)))
        pid = parent_pid(pid)
    sessions: list[int] = []
    for pid, args in chain:
        title = args[0] if args else ""
        if re.match(r"sshd(-session)?: ", title) and "[listener]" not in title:
            sessions.append(pid)
        elif sessions:
            # The listener; OpenSSH 9.x retitles it "sshd: /usr/sbin/sshd -D -f CFG [listener]".
            words = " ".join(args).replace("sshd:", "").split()
            listener = bool(words) and words[0].rsplit("/", 1)[-1] == "sshd"
            return sessions if listener and "-f" in words else []
    return []


def drop_connection(store: StateStore) -> int:
    """ssh-drop: cut the SSH connection this command runs in, then end."""
    with store.update() as st:
        st["scenario_state"]["drop_done"] = True
    sessions = [] if os.environ.get("WARUNGIN_SANDBOX_SSH") == "asyncssh" else _sshd_sessions()
    if not sessions:
        err(scenarios.DROP_MARKER)  # the in-process asyncssh server aborts on this line
        return 255
    for pid in sessions:
        os.kill(pid, signal.SIGKILL)
    # Our pipes lead nowhere now: keep the interpreter from complaining at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # A real build does not end when the connection does: it runs on until the wrapper's
    # watcher stops it (TERM: exit 143, which the host record keeps). Returning at once raced
    # that TERM, and under load the record said 255, a failed build instead of an interrupted one.
    deadline = time.monotonic() + DROP_HOLD_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return 255


def compose(store: StateStore, args: list[str], backdate: float) -> int:
    """`docker compose ...`: global flags, find the compose file, run the subcommand."""
    opts, rest = parse(
        args,
        {"--dry-run", "--compatibility"},
        {
            "-f",
            "--file",
            "-p",
            "--project-name",
            "--project-directory",
            "--ansi",
            "--progress",
            "--env-file",
            "--profile",
        },
        stop_at_positional=True,
    )
    if not rest or rest[0] in ("help", "--help"):
        print("Usage:  docker compose [OPTIONS] COMMAND")
        return 0
    if rest[0] == "version":
        print(
            formats.COMPOSE_VERSION
            if "--short" in rest
            else f"Docker Compose version v{formats.COMPOSE_VERSION}"
        )
        return 0
    base = Path(opts.get("--project-directory", "."))
    given = opts.get("-f") or opts.get("--file")
    found = [base / name for name in COMPOSE_FILES if (base / name).is_file()]
    if given:
        path = base / given
        if not path.is_file():
            raise ShimError(f"open {path.absolute()}: no such file or directory")
    elif found:
        path = found[0]
    else:
        # Like real compose run outside the project: the operator forgot to cd.
        raise ShimError("no configuration file provided: not found")
    handler = getattr(Shim, "cmd_" + rest[0], None)
    if handler is None:
        raise ShimError(f'unknown docker command: "compose {rest[0]}"')
    return int(handler(Shim(store, path.absolute(), backdate), rest[1:]))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    internal: dict[str, str] = {}
    # Our own options come first (bin/docker puts --state there); the rest is docker's.
    while len(args) >= 2 and args[0] in ("--state", "--backdate"):
        internal[args[0]] = args[1]
        args = args[2:]
    if "--state" not in internal:
        raise SystemExit("docker_shim: --state DIR is required")
    store = StateStore(Path(internal["--state"]))
    try:
        if not args or args[0] in ("-h", "--help", "help"):
            print("Usage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers")
            return 0
        if args[0] in ("--version", "-v"):
            print(f"Docker version {formats.DOCKER_VERSION}, build 478f8eb")
            return 0
        if args[0] == "version":
            print(
                f"Client: Docker Engine - Community\n Version:           "
                f"{formats.DOCKER_VERSION}\n\nServer: Docker Engine - Community\n Engine:\n"
                f"  Version:          {formats.DOCKER_VERSION}"
            )
            return 0
        if args[0] == "info":
            states = [svc["state"] for svc in store.read()["services"].values()]
            running, stopped = states.count("running"), states.count("exited")
            sys.stdout.write(formats.docker_info(running, stopped, len(SERVICES)))
            return 0
        if args[0] == "stats":
            return stats(store, args[1:])
        if args[0] == "compose":
            return compose(store, args[1:], float(internal.get("--backdate", 0)))
        raise ShimError(f"docker: '{args[0]}' is not a docker command.\nSee 'docker --help'")
    except ShimError as exc:
        err(str(exc))
        return exc.code
    except BrokenPipeError:
        return 141
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
