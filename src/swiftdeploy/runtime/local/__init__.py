"""The local runtime (see runtime.py)."""

from swiftdeploy.runtime.local.runtime import LocalRuntime

__all__ = ["LocalRuntime"]
