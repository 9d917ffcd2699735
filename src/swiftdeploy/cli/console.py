"""One output service for every command, so wording and colour stay consistent.

Rich honours NO_COLOR and plain pipes by itself; commands call the named
methods here instead of printing.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console as RichConsole
from rich.markup import escape

from swiftdeploy.errors import ManifestError, SwiftDeployError

if TYPE_CHECKING:
    from swiftdeploy.policy.events import PolicyEvent


class Console:
    def __init__(self, *, progress_to_stderr: bool = False) -> None:
        # With --json, stdout carries only JSON: progress lines go to stderr instead.
        self.out = RichConsole(stderr=progress_to_stderr, highlight=False, soft_wrap=True)
        self.err = RichConsole(stderr=True, highlight=False, soft_wrap=True)

    def step(self, text: str) -> None:
        """A phase header in the seeds' style: `==> Checking infrastructure policy`."""
        self.out.print(f"[bold]==>[/bold] {escape(text)}")

    def info(self, text: str) -> None:
        self.out.print(f"  {escape(text)}")

    def passed(self, text: str) -> None:
        self.out.print(f"  [green]\\[PASS][/green] {escape(text)}")

    def failed(self, text: str) -> None:
        self.out.print(f"  [red]\\[FAIL][/red] {escape(text)}")

    def tag(self, label: str, text: str, *, style: str = "bold") -> None:
        """A bracketed status line such as `[DENY] reason` or `[OK] Stack is healthy`."""
        self.out.print(f"  [{style}]\\[{escape(label)}][/{style}] {escape(text)}")

    def policy(self, event: PolicyEvent) -> None:
        """A policy question or answer from the core, worded by policy_output."""
        from swiftdeploy.cli.policy_output import report

        report(self, event)

    def success(self, text: str) -> None:
        self.out.print(f"[green]{escape(text)}[/green]")

    def failure(self, text: str) -> None:
        """The outcome of a command that ran but did not release (exit 1)."""
        self.out.print(f"[red]{escape(text)}[/red]")

    def warning(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {escape(text)}")

    def json(self, payload: Any) -> None:
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
        sys.stdout.flush()

    def report_error(self, exc: SwiftDeployError) -> None:
        if isinstance(exc, ManifestError) and exc.problems:
            for problem in exc.problems:
                self.err.print(f"[red]error:[/red] {escape(problem)}")
        else:
            from swiftdeploy.cli.policy_output import error_text

            self.err.print(f"[red]error:[/red] {escape(error_text(exc))}")
        if exc.hint:
            self.err.print(f"  hint: {escape(exc.hint)}")


def counted(count: int, noun: str) -> str:
    """`1 snapshot`, `2 snapshots`: every noun we count takes a plain -s."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@functools.cache
def console(*, progress_to_stderr: bool = False) -> Console:
    return Console(progress_to_stderr=progress_to_stderr)
