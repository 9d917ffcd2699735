"""Printing a verb's result: what it did (an Outcome) or would do (a dry run's Plan).

Every verb's --json comes from its result's to_json(); a "no" exits through Unsuccessful.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swiftdeploy.cli.console import console
from swiftdeploy.errors import ExitCode, Unsuccessful

if TYPE_CHECKING:
    from swiftdeploy.lifecycle import Outcome
    from swiftdeploy.plan import Plan


def print_result(result: Outcome | Plan, *, as_json: bool) -> None:
    """Print what a verb did (an Outcome) or would do (a dry run's Plan)."""
    from swiftdeploy.plan import Plan

    if isinstance(result, Plan):
        print_plan(result, as_json=as_json)
    else:
        print_outcome(result, as_json=as_json)


def print_outcome(outcome: Outcome, *, as_json: bool) -> None:
    """Print what a command did; exit 1 when it ran but the release did not happen."""
    if as_json:
        console().json(outcome.to_json())
    elif outcome.succeeded:
        console().success(outcome.summary)
    else:
        console().failure(outcome.summary)
    if not outcome.succeeded:
        raise Unsuccessful()


def print_plan(plan: Plan, *, as_json: bool) -> None:
    """Print a dry run; exit 1 if the policy would deny, 3 if it could not answer."""
    out = console()
    if as_json:
        out.json(plan.to_json())
    else:
        out.step(f"Dry run: {plan.action} (nothing is changed)")
        for step in plan.steps:
            out.info(f"would {step}")
        for name, diff in plan.diffs.items():
            out.step(f"{name} would change")
            out.out.print(diff, markup=False, highlight=False, end="")
        if not plan.diffs:
            out.info("no file would change")
        if plan.domain is not None:
            out.step(f"Policy {plan.domain} would answer")
            if plan.unavailable:
                out.tag("UNAVAILABLE", plan.unavailable, style="red")
            elif plan.allow:
                out.tag("PASS", "allowed", style="green")
            for reason in plan.reasons:
                out.tag("DENY", reason, style="red")
    if plan.unavailable:
        raise Unsuccessful(ExitCode.POLICY_UNAVAILABLE)
    if plan.allow is False:
        raise Unsuccessful()
