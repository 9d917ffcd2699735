"""Change one value in manifest.yaml and keep the operator's comments and layout.

The manifest is the operator's file: SwiftDeploy only ever rewrites
`services.mode` (after promote/rollback), through a round-trip YAML editor, atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from swiftdeploy.files import atomic_write


def set_service_mode(path: Path, mode: str) -> bool:
    """Set services.mode; return whether the file changed."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    original = path.read_text()
    document: Any = yaml.load(original)
    services = document["services"]
    if services.get("mode") == mode:
        return False
    services["mode"] = mode
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    atomic_write(path, buffer.getvalue(), mode=path.stat().st_mode & 0o777)
    return True
