"""What core code tells its reporter about a policy question: events, never words.

The lifecycle and the rollout hand these to `Reporter.policy`; the CLI's console and the
dashboard word and colour them with cli/policy_output, the one table of policy wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swiftdeploy.policy.decision import Decision


@dataclass(frozen=True)
class Checking:
    """A gate is about to ask `domain` about `input` (the facts it will decide on)."""

    domain: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Decided:
    """The engine answered (allowed, denied, or let through by the operator's override)."""

    decision: Decision


@dataclass(frozen=True)
class Unanswered:
    """The engine could not answer, so the gate refuses (fail closed); `reason` is why."""

    domain: str
    reason: str


@dataclass(frozen=True)
class Analysed:
    """A rollout step's analysis: the policy's verdict (pass, fail, inconclusive) and why."""

    verdict: str
    reasons: list[str]


PolicyEvent = Checking | Decided | Unanswered | Analysed
