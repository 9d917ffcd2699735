"""Finding the OPA binary: $SWIFTDEPLOY_OPA, then PATH, then the install-opa cache."""

from __future__ import annotations

import os
from pathlib import Path

from swiftdeploy._process import which
from swiftdeploy.errors import PolicyUnavailable

OPA_VERSION = "1.22.2"
CACHE_BIN = Path.home() / ".cache" / "swiftdeploy" / "bin" / "opa"


def find_opa() -> str:
    """Path of the opa binary; PolicyUnavailable (exit 3) when there is none."""
    env = os.environ.get("SWIFTDEPLOY_OPA")
    if env:
        if Path(env).is_file() and os.access(env, os.X_OK):
            return env
        raise PolicyUnavailable(
            f"policy engine unavailable: SWIFTDEPLOY_OPA={env} is not an executable file"
        )
    found = which("opa")
    if found:
        return found
    if CACHE_BIN.is_file() and os.access(CACHE_BIN, os.X_OK):
        return str(CACHE_BIN)
    raise PolicyUnavailable(
        "policy engine unavailable: opa binary not found",
        hint="run scripts/install-opa, or set SWIFTDEPLOY_OPA",
    )
