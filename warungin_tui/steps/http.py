"""HTTP probe steps, run from the operator's side (through an SSH port forward when asked)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from warungin_tui.playbook import StepSpec
from warungin_tui.run import StepStatus
from warungin_tui.steps.base import Outcome, StepContext
from warungin_tui.templating import render_plain

if TYPE_CHECKING:
    import httpx

    from warungin_tui.remote import Remote

BODY_KEPT = 4000


class HttpProber:
    """One shared client per run: building a client per request costs ~19 ms (SSH-NOTES).
    httpx (~50 ms to import) loads on the first request, not before the wizard's first frame."""

    def __init__(self, remote: Remote | None) -> None:
        self.remote = remote
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(follow_redirects=True, trust_env=False)
        return self._client

    @client.setter
    def client(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def request(
        self, method: str, url: str, *, via_ssh: bool, json_body: Any, timeout: float
    ) -> tuple[httpx.Response, float, str]:
        """Returns the response, the latency in seconds and the URL actually requested."""
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
        started = time.perf_counter()
        # httpx timeouts are per phase; asyncio.timeout gives the step a real deadline.
        async with asyncio.timeout(timeout):
            response = await self.client.request(
                method, target, json=json_body, headers=headers, timeout=timeout
            )
        return response, time.perf_counter() - started, target

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _json_field(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


async def run_http_step(ctx: StepContext, spec: StepSpec) -> Outcome:
    from httpx import HTTPError

    assert spec.url is not None and ctx.http is not None
    url = render_plain(spec.url, ctx.values)
    via = spec.via_ssh
    via_ssh = render_plain(via, ctx.values).lower() == "true" if isinstance(via, str) else via
    timeout = ctx.seconds(spec.timeout)
    shown = f"{spec.method} {url}" + (" (through SSH port forward)" if via_ssh else "")
    try:
        response, latency, _ = await ctx.http.request(
            spec.method, url, via_ssh=via_ssh, json_body=spec.json_body, timeout=timeout
        )
    except TimeoutError:
        return Outcome(StepStatus.FAILED, f"no answer within {timeout:g} s", command=shown)
    except HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Outcome(StepStatus.FAILED, f"request failed: {reason}", command=shown)
    body = response.text[:BODY_KEPT]
    ms = round(latency * 1000, 1)
    await ctx.output("stdout", [f"HTTP {response.status_code} in {ms} ms", *body.splitlines()[:40]])
    value = {"status_code": response.status_code, "latency_ms": ms, "body": body[:500]}
    captures = {}
    for name in spec.captures:
        captures[name] = ms if name.endswith("_ms") else round(latency, 3)
    outcome = Outcome(
        StepStatus.PASSED, value=value, captures=captures, command=shown, exit_code=None
    )
    problems = _check(ctx, spec, response, body, latency)
    if problems:
        outcome.status = StepStatus.FAILED
        outcome.detail = f"HTTP {response.status_code}: " + "; ".join(problems)
        return outcome
    outcome.detail = f"HTTP {response.status_code} in {ms} ms"
    warn = spec.expect.latency_warn_ms
    if warn and ms > float(render_plain(warn, ctx.values)):
        outcome.status = StepStatus.WARNING
        outcome.detail += f" (slower than {render_plain(warn, ctx.values)} ms)"
    return outcome


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
