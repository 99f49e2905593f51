"""Which probe results are alerts, and how bad: one function, used when a sample is taken."""

from __future__ import annotations

from typing import Any

CRITICAL = "critical"
WARNING = "warning"


def alerts_for(probes: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Alerts of one round: a failed health check, a service not running (critical); new error
    lines, an unhealthy service, CPU or memory over the threshold, a slow API (warning)."""
    alerts: list[dict[str, str]] = []

    def add(severity: str, key: str, text: str) -> None:
        alerts.append({"severity": severity, "key": key, "text": text})

    health = probes.get("health")
    if health is not None and not health.get("ok"):
        add(CRITICAL, "health", f"API health check failed: {health.get('detail', '')}")
    services = probes.get("services") or {}
    for name in services.get("not_running", []):
        add(CRITICAL, f"not_running:{name}", f"{name} is not running")
    for name in services.get("unhealthy", []):
        add(WARNING, f"unhealthy:{name}", f"{name} is unhealthy")
    logs = probes.get("error_logs") or {}
    if logs.get("errors"):
        add(WARNING, "error_logs", f"{logs['errors']} new error lines")
    resources = probes.get("resources") or {}
    for name in resources.get("over", []):
        use = resources["containers"].get(name, {})
        add(
            WARNING,
            f"resources:{name}",
            f"{name} at {use.get('cpu')}% CPU, {use.get('mem')}% memory",
        )
    latency = probes.get("api_latency")
    if latency is not None and not latency.get("ok"):
        add(WARNING, "api_latency", f"API through the front end: {latency.get('detail', '')}")
    alerted = {probe_of(a["key"]) for a in alerts}
    for name, result in probes.items():
        if not result.get("ok") and name not in alerted and name != "user_activity":
            add(WARNING, f"probe:{name}", f"{name}: {result.get('detail', '')}")
    return alerts


def probe_of(key: str) -> str:
    """The probe whose result raises alerts with this key."""
    head = key.split(":", 1)[0]
    return {"not_running": "services", "unhealthy": "services", "probe": key[6:]}.get(head, head)
