"""Change one value in manifest.yaml and keep the operator's comments and layout.

The manifest is the operator's file: SwiftDeploy only ever rewrites
`services.mode` (after promote/rollback), through a round-trip YAML editor, atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from swiftdeploy.files import atomic_write


def with_service_mode(text: str, mode: str) -> str:
    """The manifest text with services.mode set to mode, everything else untouched."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    document: Any = yaml.load(text)
    services = document["services"]
    if services.get("mode") == mode:
        return text
    services["mode"] = mode
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def set_service_mode(path: Path, mode: str) -> bool:
    """Set services.mode; return whether the file changed."""
    original = path.read_text()
    updated = with_service_mode(original, mode)
    if updated == original:
        return False
    atomic_write(path, updated, mode=path.stat().st_mode & 0o777)
    return True
