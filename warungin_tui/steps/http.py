"""HTTP probe steps, run from the operator's side (through an SSH port forward when asked)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from warungin_tui import background_import
from warungin_tui.outcome import Outcome, StepStatus
from warungin_tui.playbook import StepSpec
from warungin_tui.redact import redact_text, window
from warungin_tui.steps.base import StepContext
from warungin_tui.templating import render_plain

if TYPE_CHECKING:
    import httpx

    from warungin_tui.remote_api import RemoteLink

BODY_KEPT = 4000
MAX_BODY_BYTES = 1024 * 1024  # read at most this much of an answer (a gzip bomb stops here)
VALUE_BODY_CHARS = 500  # the part of the body kept in the step's value (the journal)


@dataclass
class HttpAnswer:
    """A probe's answer: the response with at most MAX_BODY_BYTES of its (decoded) body read."""

    response: httpx.Response
    latency_s: float
    url: str
    unread: str = ""
    """Empty when the whole body was read, else what was left unread ("N bytes not read")."""


async def httpx_loaded() -> None:
    """Returns once httpx is imported, without blocking the event loop while it loads.

    httpx costs ~60 ms to import here (it pulls httpcore, and trio and rich where they are
    installed). Imported by the first HTTP probe on the event loop, it stalled every probe beside
    it and the wizard's keys for that long; in a thread it overlaps the SSH connect's waits."""
    await background_import.imported("httpx")


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost (and its subdomains, which resolve to loopback)."""
    if not host:
        return False
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class CaBundleError(Exception):
    """`[endpoints] ca_bundle` cannot be used (missing, unreadable, not PEM certificates)."""


class HttpProber:
    """Shared clients per run: a client per request costs ~19 ms (docs/ssh-notes.md, speed).
    httpx loads in a thread from the prober's creation (a run's engine, after the wizard's first
    frame), so the first request rarely waits for it.

    TLS is verified against the system's CA store (truststore: a company's internal CA that
    the OS trusts works), plus `[endpoints] ca_bundle` when set. Probes from the operator's
    side (the frontend) honour HTTPS_PROXY/HTTP_PROXY/NO_PROXY, except to a loopback address;
    a port-forwarded probe goes to this machine's loopback and never through a proxy."""

    def __init__(self, remote: RemoteLink | None, ca_bundle: str | None = None) -> None:
        self.remote = remote
        self.ca_bundle = ca_bundle
        background_import.start("httpx")
        self._client: httpx.AsyncClient | None = None
        self._proxied: httpx.AsyncClient | None = None

    def tls_context(self) -> ssl.SSLContext:
        """The system's CA store, plus the private CA file of the config, if any."""
        import truststore

        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ca_bundle:
            path = os.path.expanduser(self.ca_bundle)
            try:
                context.load_verify_locations(cafile=path)
            except (OSError, ssl.SSLError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise CaBundleError(
                    f"[endpoints] ca_bundle {path}: cannot be used ({reason}); it must be a "
                    "PEM file of CA certificates"
                ) from None
        return context

    @property
    def client(self) -> httpx.AsyncClient:
        """For port-forwarded probes and loopback addresses: straight there, never a proxy."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                follow_redirects=True, trust_env=False, verify=self.tls_context()
            )
        return self._client

    @client.setter
    def client(self, client: httpx.AsyncClient) -> None:
        """Tests put a client with a mock transport in: every probe then goes through it."""
        self._client = self._proxied = client

    @property
    def proxied_client(self) -> httpx.AsyncClient:
        """For probes from the operator's side: the environment's proxy settings apply."""
        if self._proxied is None:
            import httpx

            self._proxied = httpx.AsyncClient(
                follow_redirects=True, trust_env=True, verify=self.tls_context()
            )
        return self._proxied

    async def request(
        self, method: str, url: str, *, via_ssh: bool, json_body: Any, timeout: float
    ) -> HttpAnswer:
        """The response, the latency in seconds and the URL actually requested."""
        await httpx_loaded()
        import httpx

        target = url
        headers = {}
        if via_ssh:
            if self.remote is None:
                raise RuntimeError("a port-forwarded probe needs an SSH connection")
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            local = await self.remote.forward_local(parts.hostname or "localhost", port)
            target = urlunsplit(parts._replace(netloc=f"127.0.0.1:{local}"))
            headers["Host"] = parts.netloc
        # A proxy elsewhere cannot reach this machine's loopback (it would ask its own), and a
        # rehearsal's probes must never leave the machine: loopback is never proxied.
        direct = via_ssh or is_loopback(urlsplit(target).hostname)
        client = self.client if direct else self.proxied_client
        started = time.perf_counter()
        # httpx timeouts are per phase; asyncio.timeout gives the step a real deadline.
        async with asyncio.timeout(timeout):
            # Only encodings _read_capped can inflate with a cap.
            headers["Accept-Encoding"] = "gzip, deflate"
            request = client.build_request(
                method, target, json=json_body, headers=headers, timeout=timeout
            )
            streamed = await client.send(request, stream=True)
            try:
                body, unread = await _read_capped(streamed)
            finally:
                await streamed.aclose()
        latency = time.perf_counter() - started
        # The body is decoded already: the rebuilt response must not decode it again.
        headers_kept = [
            (k, v) for k, v in streamed.headers.multi_items() if k.lower() != "content-encoding"
        ]
        response = httpx.Response(
            streamed.status_code, headers=headers_kept, content=body, request=streamed.request
        )
        return HttpAnswer(response, latency, target, unread)

    async def aclose(self) -> None:
        for client in {id(c): c for c in (self._client, self._proxied) if c}.values():
            await client.aclose()


async def _read_capped(response: httpx.Response) -> tuple[bytes, str]:
    """At most MAX_BODY_BYTES of the decoded body, and a note of what was left unread.

    gzip/deflate are inflated here with a cap on the output: 64 kB of a gzip bomb would
    otherwise inflate to ~64 MB in one go inside httpx's decoder.
    """
    import httpx

    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflate = zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None
    own = (inflate is not None or encoding == "identity") and not response.is_stream_consumed
    if not own:  # another encoding, or a body already in memory (decoded by httpx)
        inflate = None
    chunks = response.aiter_raw() if own else response.aiter_bytes()
    body = bytearray()
    async for raw in chunks:
        room = MAX_BODY_BYTES - len(body)
        try:
            chunk = inflate.decompress(raw, room + 1) if inflate else raw
        except zlib.error as exc:
            raise httpx.DecodingError(f"cannot inflate the {encoding} answer: {exc}") from None
        if len(chunk) > room:
            body += chunk[:room]
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and encoding == "identity":
                return bytes(body), f"{int(announced) - MAX_BODY_BYTES} bytes not read"
            return bytes(body), f"the rest after {MAX_BODY_BYTES} bytes not read"
        body += chunk
    return bytes(body), ""


def _json_field(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


async def run_http_step(ctx: StepContext, spec: StepSpec) -> Outcome:
    await httpx_loaded()
    import httpx

    assert spec.url is not None and ctx.http is not None
    url = render_plain(spec.url, ctx.values)
    via = spec.via_ssh
    via_ssh = render_plain(via, ctx.values).lower() == "true" if isinstance(via, str) else via
    timeout = ctx.seconds(spec.timeout)
    shown = f"{spec.method} {url}" + (" (through SSH port forward)" if via_ssh else "")
    try:
        answer = await ctx.http.request(
            spec.method, url, via_ssh=via_ssh, json_body=spec.json_body, timeout=timeout
        )
    except TimeoutError:
        return Outcome(StepStatus.FAILED, f"no answer within {timeout:g} s", command=shown)
    except CaBundleError as exc:
        return Outcome(StepStatus.FAILED, str(exc), command=shown)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Outcome(StepStatus.FAILED, f"request failed: {reason}", command=shown)
    response, latency = answer.response, answer.latency_s
    body = response.text[:BODY_KEPT]
    # The answer is redacted before it is cut for showing: a cut could leave half a secret.
    shown_body = redact_text(window(response.text, BODY_KEPT))[:BODY_KEPT]
    ms = round(latency * 1000, 1)
    shown_lines = shown_body.splitlines()[:40]
    if answer.unread:
        shown_lines.append(f"(answer cut at {MAX_BODY_BYTES} bytes: {answer.unread})")
    await ctx.output("stdout", [f"HTTP {response.status_code} in {ms} ms", *shown_lines])
    value = {
        "status_code": response.status_code,
        "latency_ms": ms,
        "body": shown_body[:VALUE_BODY_CHARS],
    }
    if answer.unread:
        value["unread"] = answer.unread
    captures = {}
    for name in spec.captures:
        captures[name] = ms if name.endswith("_ms") else round(latency, 3)
    outcome = Outcome(
        StepStatus.PASSED, value=value, captures=captures, command=shown, exit_code=None
    )
    problems = _check(ctx, spec, response, body, latency)
    problems += _json_captures(spec, response, captures)
    if problems:
        for name in spec.json_captures:  # a failed answer records nothing for later steps
            captures.pop(name, None)
        outcome.status = StepStatus.FAILED
        outcome.detail = f"HTTP {response.status_code}: " + "; ".join(problems)
        return outcome
    outcome.detail = f"HTTP {response.status_code} in {ms} ms"
    warn = spec.expect.latency_warn_ms
    if warn and ms > float(render_plain(warn, ctx.values)):
        outcome.status = StepStatus.WARNING
        outcome.detail += f" (slower than {render_plain(warn, ctx.values)} ms)"
    return outcome


def _json_captures(spec: StepSpec, response: httpx.Response, captures: dict[str, Any]) -> list[str]:
    """Fill `json_captures` from the answer; a missing or empty field is a problem."""
    if not spec.json_captures:
        return []
    try:
        data = response.json()
    except ValueError:
        return ["the answer is not JSON"]
    problems = []
    for name, dotted in spec.json_captures.items():
        got = _json_field(data, dotted)
        if got is None or isinstance(got, dict | list) or not str(got).strip():
            problems.append(f"no {dotted} in the answer")
        else:
            captures[name] = str(got)[:200]
    return problems


def _check(
    ctx: StepContext, spec: StepSpec, response: httpx.Response, body: str, latency: float
) -> list[str]:
    expect = spec.expect
    problems = []
    low, high = expect.status_min, expect.status_max
    if (low is not None and response.status_code < low) or (
        high is not None and response.status_code > high
    ):
        problems.append(f"status not in {low}-{high}")
    if expect.json_equals:
        try:
            data = response.json()
        except ValueError:
            return [*problems, "the answer is not JSON"]
        for field, template in expect.json_equals.items():
            wanted = render_plain(template, ctx.values)
            got = _json_field(data, field)
            if str(got) != wanted:
                problems.append(f"{field} is {got!r}, expected {wanted!r}")
    if expect.body_contains and expect.body_contains not in body:
        problems.append(f"page does not contain {expect.body_contains!r}")
    if expect.latency_max_s:
        limit = float(render_plain(expect.latency_max_s, ctx.values))
        if latency > limit:
            problems.append(f"took {latency:.2f} s, limit {limit:g} s")
    return problems
