"""What every verb reads from the Click context (kept apart so no verb imports cli.main)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def manifest_path_from(ctx: click.Context) -> Path:
    """The manifest path chosen with the global -f option."""
    root: Any = ctx.find_root().obj
    return root if isinstance(root, Path) else Path("manifest.yaml")
