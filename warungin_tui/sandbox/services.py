"""The fake Warungin services that answer HTTP: backend API, frontend page, nginx in front.

Run by the docker shim as a detached process per service
(`python -m warungin_tui.sandbox.services --kind backend --port N ...`), so a probe meets a real
socket that exists only while the emulated container runs. Standard library only, so it starts
fast. Application log lines go to `<state>/logs/<kind>.log`, read back by `docker compose logs`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from warungin_tui.sandbox import scenarios

PAGE = """<!doctype html>
<html lang="id">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="app-version" content="{version}">
  <title>Warungin POS</title>
  <script type="module" crossorigin src="/assets/index-7f3a9c.js"></script>
  <link rel="stylesheet" href="/assets/index-2b81d0.css">
</head>
<body>
  <div id="root"><noscript>Warungin POS needs JavaScript.</noscript></div>
</body>
</html>
"""
BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def iso_now() -> str:
    """UTC time as the backend logs and reports it: 2025-12-31T14:30:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def nginx_now() -> str:
    """UTC time in nginx's access-log form: 31/Dec/2025:14:30:00 +0000."""
    return datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class AppLog:
    """Appends lines to the service's log file; one lock, because handlers run in threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            self._file.write(line + "\n")


class Service(ThreadingHTTPServer):
    """One fake service: its settings, its log, and the HTTP server itself."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.log = AppLog(Path(args.state) / "logs" / f"{args.kind}.log")
        self.leaked = leaked_settings(args)
        super().__init__(("127.0.0.1", args.port), Handler)


class Handler(BaseHTTPRequestHandler):
    """Routes a request to the behaviour of the service's kind."""

    server: Service
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's stderr log: each kind writes its own application log."""

    def version_string(self) -> str:
        return "nginx/1.27.3" if self.server.args.kind != "backend" else "uvicorn"

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        kind = self.server.args.kind
        if kind == "backend":
            self._backend()
        elif kind == "frontend":
            page = PAGE.format(version=self.server.args.version)
            if self.server.leaked:  # a build that baked the .env into the page
                settings = json.dumps(self.server.leaked)
                script = f"<script>window.__ENV__ = {settings}</script>"
                page = page.replace("</title>", f"</title>\n  {script}")
            data = page.encode()
            self._send(200, data, "text/html")
            self._access_log(200, len(data))
        else:
            self._proxy(body)

    # -- backend ----------------------------------------------------------------------------

    def _backend(self) -> None:
        args = self.server.args
        now = time.time()
        path = self.path.split("?", 1)[0]
        if path == "/api/health" and self.command in ("GET", "HEAD"):
            # Health checks are left out of the access log, as most production backends do.
            status, health = scenarios.backend_health(
                args.scenario, args.version, args.new_version, args.started_at, now, iso_now()
            )
            payload: dict[str, object] = dict(health)
            if self.server.leaked:
                payload["settings"] = self.server.leaked
            self._json(status, payload)
            return
        if scenarios.backend_broken(args.scenario, args.version, args.new_version):
            status, payload = 500, {"error": "Internal Server Error"}
        elif scenarios.backend_starting(args.scenario, args.started_at, now):
            status, payload = 503, {"error": "Service starting"}
        elif path == "/api/auth/login" and self.command == "POST":
            status, payload = 401, {"error": "Invalid credentials"}
        else:
            status, payload = 404, {"error": "Not Found"}
        self._json(status, payload)
        self.server.log.write(f"{iso_now()} INFO  {self.command} {path} {status}")

    # -- nginx ------------------------------------------------------------------------------

    def _proxy(self, body: bytes) -> None:
        """Forward to backend (/api/...) or frontend, like the nginx in front of them."""
        args = self.server.args
        port = args.backend_port if self.path.startswith("/api/") else args.frontend_port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("content-type", "user-agent")
        }
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            upstream = conn.getresponse()
            data = upstream.read()
            kind = upstream.getheader("Content-Type", "text/html")
            self._send(upstream.status, data, kind)
            self._access_log(upstream.status, len(data))
        except OSError as exc:
            self._send(502, BAD_GATEWAY.encode(), "text/html")
            stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S")
            self.server.log.write(
                f"{stamp} [error] 29#29: *1 connect() failed ({exc.__class__.__name__}) while "
                f'connecting to upstream, request: "{self.command} {self.path} HTTP/1.1"'
            )
            self._access_log(502, len(BAD_GATEWAY))
        finally:
            conn.close()

    # -- helpers ----------------------------------------------------------------------------

    def _access_log(self, status: int, size: int) -> None:
        agent = self.headers.get("User-Agent", "-")
        self.server.log.write(
            f'172.18.0.1 - - [{nginx_now()}] "{self.command} {self.path} HTTP/1.1" '
            f'{status} {size} "-" "{agent}"'
        )

    def _json(self, status: int, payload: dict[str, object]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _startup_lines(args: argparse.Namespace) -> list[str]:
    """Start-up log lines, stamped with the container's start (days ago for the initial stack)."""
    moment = datetime.fromtimestamp(args.started_at or time.time(), UTC)
    if args.kind == "backend":
        stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = [
            f"{stamp} INFO  Starting Warungin POS backend v{args.version}",
            f"{stamp} INFO  Connected to PostgreSQL at postgres:5432/warungin",
            f"{stamp} INFO  Connected to Redis at redis:6379",
        ]
        lines += [f"{stamp} ERROR  settings dump: {line}" for line in leaked_settings(args)]
        errors = scenarios.backend_startup_errors(args.scenario, args.version, args.new_version)
        lines += [f"{stamp} {line}" for line in errors]
        if not errors:
            lines.append(f"{stamp} INFO  Migrations up to date")
        return [*lines, f"{stamp} INFO  Listening on http://0.0.0.0:8000"]
    stamp = moment.strftime("%Y/%m/%d %H:%M:%S")
    return [
        f'{stamp} [notice] 1#1: using the "epoll" event method',
        f"{stamp} [notice] 1#1: nginx/1.27.3",
        f"{stamp} [notice] 1#1: start worker processes",
    ]


def leaked_settings(args: argparse.Namespace) -> list[str]:
    """secrets-in-output: the lines of the .env the container was started with."""
    if not scenarios.leaks_settings(args.scenario) or not args.env_file:
        return []
    try:
        text = Path(args.env_file).read_text(encoding="utf-8")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _repeat_errors(log: AppLog) -> None:
    """errors-in-logs: live traffic keeps failing while the broken release runs."""
    while True:
        time.sleep(scenarios.ERROR_LOG_INTERVAL)
        log.write(
            f"{iso_now()} ERROR  Unhandled exception in POST /api/orders: KeyError 'store_id'"
        )


def _register(state: Path, kind: str) -> None:
    """Append our pid (and start time, against pid reuse) so stop_all can always find us."""
    stat = Path(f"/proc/{os.getpid()}/stat").read_text()
    start = stat[stat.rindex(")") + 2 :].split()[19]
    with (state / "pids.log").open("a", encoding="utf-8") as file:
        file.write(f"{os.getpid()} {start} {kind}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="warungin-sandbox-service")
    parser.add_argument("--kind", choices=["backend", "frontend", "nginx"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--new-version", required=True)
    parser.add_argument("--scenario", default="healthy")
    parser.add_argument("--started-at", type=float, default=0.0)
    parser.add_argument("--backend-port", type=int, default=0)
    parser.add_argument("--frontend-port", type=int, default=0)
    parser.add_argument("--env-file", default="")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    _register(Path(args.state), args.kind)
    service = Service(args)
    for line in _startup_lines(args):
        service.log.write(line)
    if args.kind == "backend" and scenarios.backend_logs_errors_repeatedly(
        args.scenario, args.version, args.new_version
    ):
        threading.Thread(target=_repeat_errors, args=(service.log,), daemon=True).start()
    service.serve_forever()


if __name__ == "__main__":
    main()
