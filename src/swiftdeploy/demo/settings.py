"""The demo service's settings, from the environment the original task names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from swiftdeploy.errors import UsageError

Mode = Literal["stable", "canary"]


@dataclass(frozen=True)
class Settings:
    mode: Mode = "stable"
    version: str = "0.0.0"
    host: str = "0.0.0.0"
    port: int = 3000
    socket: Path | None = None
    chaos_token: str | None = None
    metrics_enabled: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read MODE, APP_VERSION, APP_HOST, APP_PORT, APP_SOCKET, CHAOS_TOKEN, METRICS_ENABLED.

        CHAOS_TOKEN_FILE names a file holding the token (a Docker secret); CHAOS_TOKEN wins.
        """
        env = os.environ if env is None else env
        mode = env.get("MODE", "stable").strip().lower()
        if mode not in ("stable", "canary"):
            raise UsageError(f"MODE must be 'stable' or 'canary', got {mode!r}")
        version = env.get("APP_VERSION", "0.0.0").strip()
        if not version:
            raise UsageError("APP_VERSION must not be empty")
        raw_port = env.get("APP_PORT", "3000").strip()
        try:
            port = int(raw_port)
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise UsageError(f"APP_PORT must be an integer in 1-65535, got {raw_port!r}")
        metrics = env.get("METRICS_ENABLED", "1").strip().lower()
        if metrics not in ("0", "1", "true", "false", "yes", "no", ""):
            raise UsageError(f"METRICS_ENABLED must be 0 or 1, got {metrics!r}")
        socket = env.get("APP_SOCKET", "").strip()
        return cls(
            mode="canary" if mode == "canary" else "stable",
            version=version,
            host=env.get("APP_HOST", "0.0.0.0").strip() or "0.0.0.0",
            port=port,
            socket=Path(socket) if socket else None,
            chaos_token=env.get("CHAOS_TOKEN") or _token_from_file(env.get("CHAOS_TOKEN_FILE")),
            metrics_enabled=metrics in ("1", "true", "yes", ""),
        )


def _token_from_file(name: str | None) -> str | None:
    if not name:
        return None
    try:
        token = Path(name).read_text().strip()
    except OSError as exc:
        raise UsageError(f"CHAOS_TOKEN_FILE {name!r} cannot be read: {exc.strerror}") from None
    return token or None
