"""The one place policy decisions are worded and coloured: every verb and the dashboard.

Core code hands over events (policy/events.py) and raises PolicyDenied with the domain,
reasons and input only; the titles, what a deny blocks, the facts line and the tags are here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swiftdeploy.errors import PolicyDenied, SwiftDeployError

if TYPE_CHECKING:
    # Lines are written to a Reporter: the CLI's Console, or the dashboard's collected log.
    from swiftdeploy.lifecycle import Reporter as Lines
    from swiftdeploy.policy.events import PolicyEvent

# domain -> (title, what a deny blocks)
_TITLES = {
    "infra": ("infrastructure policy", "Deployment"),
    "canary": ("canary safety policy", "Promotion"),
}
# a rollout analysis' verdict -> (tag, colour)
_VERDICTS = {
    "pass": ("PASS", "green"),
    "fail": ("FAIL", "red"),
    "inconclusive": ("INCONCLUSIVE", "yellow"),
}


def _title(domain: str) -> tuple[str, str]:
    return _TITLES.get(domain, (f"{domain} policy", "Action"))


def facts_line(policy_input: dict[str, Any]) -> str:
    """The facts on one line, as the seeds print them: `disk_free=107.0GB  cpu_load=0.80`."""
    parts: list[str] = []
    if "disk_free_gb" in policy_input:
        parts.append(f"disk_free={policy_input['disk_free_gb']}GB")
    if "cpu_load" in policy_input:
        parts.append(f"cpu_load={policy_input['cpu_load']:.2f}")
    if policy_input.get("error_rate") is not None:
        parts.append(f"error_rate={policy_input['error_rate'] * 100:.2f}%")
    if "p99_ms" in policy_input:
        p99 = policy_input["p99_ms"]
        parts.append(f"p99={p99:.0f}ms" if p99 is not None else "p99=n/a")
    if "request_count" in policy_input:
        parts.append(f"requests={policy_input['request_count']}")
    if not parts:
        parts.append(f"{policy_input.get('from', '?')} -> {policy_input.get('to', '?')}")
    return "  ".join(parts)


def _denied(domain: str) -> str:
    title, blocked = _title(domain)
    return f"{blocked} denied by {title}"


def error_text(exc: SwiftDeployError) -> str:
    """An error's one line: its message, or for a gate's deny (raised wordless) the table's."""
    if isinstance(exc, PolicyDenied) and not exc.message:
        return _denied(exc.domain)
    return exc.message


def eval_denied(domain: str) -> str:
    """`policy eval`'s error on a deny: the domain as the operator typed it."""
    return f"denied by {domain} policy"


def report(out: Lines, event: PolicyEvent) -> None:
    """Word one event: `==> Checking ...` and the facts, [PASS], [DENY]s + [BLOCKED], ..."""
    from swiftdeploy.policy.events import Analysed, Checking, Decided, Unanswered

    if isinstance(event, Analysed):
        label, style = _VERDICTS[event.verdict]
        out.tag(label, "; ".join(event.reasons) or "analysis passed", style=style)
        return
    title, blocked = _title(event.decision.domain if isinstance(event, Decided) else event.domain)
    if isinstance(event, Checking):
        out.step(f"Checking {title}")
        out.info(facts_line(event.input))
    elif isinstance(event, Unanswered):
        out.tag("UNAVAILABLE", event.reason, style="red")
        out.tag("BLOCKED", f"{blocked} refused: the policy engine cannot answer")
    elif not event.decision.allow:
        for reason in event.decision.deny:
            out.tag("DENY", reason, style="red")
        out.tag("BLOCKED", _denied(event.decision.domain), style="red bold")
    elif event.decision.overridden:
        override = "policy engine unavailable; allowed by explicit override"
        out.tag("OVERRIDE", override, style="yellow")
    else:
        out.tag("PASS", title[0].upper() + title[1:], style="green")
