"""The swarm runtime (see runtime.py)."""

from swiftdeploy.runtime.swarm.runtime import SwarmRuntime

__all__ = ["SwarmRuntime"]
