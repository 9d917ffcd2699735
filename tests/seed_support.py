"""The seed manifest (tests/golden/seed/manifest.yaml): the one copy every test starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SEED_PATH = Path(__file__).resolve().parent / "golden" / "seed" / "manifest.yaml"
SEED = SEED_PATH.read_text(encoding="utf-8")


def seed_text(
    *,
    nginx_port: int | str = 8080,
    network: str = "swiftdeploy-net",
    driver: str = "bridge",
    header: str = "",
    extra: str = "",
) -> str:
    """The seed with its nginx port, network or driver changed, a comment `header` first and
    `extra` top-level YAML last (a `{placeholder}` value stays for the caller's .format())."""
    text = (
        SEED.replace("  port: 8080\n", f"  port: {nginx_port}\n")
        .replace("name: swiftdeploy-net\n", f"name: {network}\n")
        .replace("driver_type: bridge\n", f"driver_type: {driver}\n")
    )
    return header + text + extra


def seed_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED)
    return data
