"""The one exception tree of SwiftDeploy, and the exit codes it maps to.

    SwiftDeployError (exit 1)
    ├── UsageError (exit 2)            bad flags or arguments
    │   └── ManifestError (exit 2)     manifest missing, unreadable or invalid
    ├── PolicyDenied (exit 1)          the policy engine answered "no"
    ├── PolicyUnavailable (exit 3)     the policy engine could not answer (fail closed)
    ├── LockBusy (exit 1)              another command holds the deployment lock
    ├── CommandFailed (exit 1)         an external command (nginx, opa, docker) failed
    ├── HealthTimeout (exit 1)         an instance did not become healthy in time
    ├── HistoryError (exit 1)          history.jsonl cannot be written or does not verify
    ├── StateError (exit 1)            .swiftdeploy/state.json cannot be read
    ├── MetricsUnavailable (exit 1)    a service's /metrics could not be read
    │   └── MetricsError (exit 1)      ... or was not Prometheus text exposition
    ├── DiskFull (exit 1)              no space left to write a file (nothing half-written)
    └── Unsuccessful (exit 1 or 3)     the command printed its result, which was a "no"
                                       (a failed rollout, a dry run the policy would deny)

Core code raises these; only the CLI edge turns them into one-line messages. They are
the one way a verb exits with a code other than 0 (no ctx.exit, no click Exit).
Anything else escaping is a bug and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented process exit statuses (see README, "Exit codes")."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    POLICY_UNAVAILABLE = 3
    INTERRUPTED = 130


class SwiftDeployError(Exception):
    """Root of every error SwiftDeploy reports to the operator."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SwiftDeployError):
    exit_code = ExitCode.USAGE


class ManifestError(UsageError):
    """The manifest is missing or invalid; `problems` lists every error found."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class PolicyDenied(SwiftDeployError):
    """The engine answered "no": what it was asked (domain, input) and why (reasons).

    Core code raises it without words (message ""): how a deny reads to the operator is
    chosen where it is shown, by cli/policy_output.error_text. A CLI verb that judges by
    itself (policy eval, the hardening check) passes its own message.
    """

    def __init__(
        self,
        message: str = "",
        *,
        domain: str = "",
        reasons: list[str] | None = None,
        input: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.domain = domain
        self.reasons = reasons or []
        self.input = input or {}


class PolicyUnavailable(SwiftDeployError):
    exit_code = ExitCode.POLICY_UNAVAILABLE


class LockBusy(SwiftDeployError):
    pass


class CommandFailed(SwiftDeployError):
    """An external command failed; keeps argv, exit status and stderr for the report."""

    def __init__(
        self, message: str, *, argv: list[str], returncode: int | None, stderr: str = ""
    ) -> None:
        super().__init__(message)
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class HealthTimeout(SwiftDeployError):
    pass


class HistoryError(SwiftDeployError):
    pass


class StateError(SwiftDeployError):
    pass


class DiskFull(SwiftDeployError):
    """A write found no space left; the message starts with "disk full:"."""


class MetricsUnavailable(SwiftDeployError):
    """Metrics could not be obtained: connection refused, HTTP error or unparsable body."""


class MetricsError(MetricsUnavailable, ValueError):
    """The body was not Prometheus text exposition format."""


class Unsuccessful(SwiftDeployError):
    """The verb printed its result; what is left is the exit code, with no further message."""

    def __init__(self, exit_code: ExitCode = ExitCode.FAILURE) -> None:
        super().__init__("")
        self.exit_code = exit_code
