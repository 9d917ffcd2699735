"""The compose runtime (see runtime.py)."""

from swiftdeploy.runtime.compose.runtime import ComposeRuntime

__all__ = ["ComposeRuntime"]
