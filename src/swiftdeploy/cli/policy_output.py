"""Printing policy decisions in the seeds' style, shared by deploy, promote and policy."""

from __future__ import annotations

from typing import Any

from swiftdeploy.cli.console import console
from swiftdeploy.policy.decision import Decision

# domain -> (title, what a deny blocks)
_TITLES = {
    "infra": ("Infrastructure policy", "Deployment"),
    "canary": ("Canary policy", "Promotion"),
}


def _title(domain: str) -> tuple[str, str]:
    return _TITLES.get(domain, (f"{domain.capitalize()} policy", "Operation"))


def facts_line(domain: str, facts: dict[str, Any]) -> str:
    """The measured figures a policy decided on, e.g. `disk_free=107.0GB  cpu_load=0.80`."""

    def num(key: str, fmt: str) -> str:
        value = facts.get(key)
        return format(value, fmt) if isinstance(value, int | float) else "?"

    if domain == "infra":
        return f"disk_free={num('disk_free_gb', '.1f')}GB  cpu_load={num('cpu_load', '.2f')}"
    if domain == "canary":
        rate = facts.get("error_rate")
        pct = f"{rate * 100:.2f}%" if isinstance(rate, int | float) else "?"
        return (
            f"error_rate={pct}  p99={num('p99_ms', '.1f')}ms  requests={num('request_count', 'd')}"
        )
    return "  ".join(f"{key}={value}" for key, value in sorted(facts.items()))


def print_decision(decision: Decision) -> None:
    """`==> Checking ... policy`, the facts, then [PASS] or one [DENY] per reason + [BLOCKED]."""
    out = console()
    title, blocked = _title(decision.domain)
    out.step(f"Checking {title[0].lower()}{title[1:]}")
    out.info(facts_line(decision.domain, decision.input))
    if decision.overridden:
        out.warning(
            f"{title} could not be evaluated; continuing because policy.on_unavailable is allow"
        )
        out.tag("OVERRIDE", title, style="yellow")
        return
    if decision.allow:
        out.passed(title)
        return
    for reason in decision.deny:
        out.tag("DENY", reason, style="red")
    out.tag("BLOCKED", f"{blocked} denied by {title[0].lower()}{title[1:]}", style="red")
