"""Change values in manifest.yaml and keep the operator's comments and layout.

The manifest is the operator's file: SwiftDeploy only ever rewrites the desired release
in it — `services.mode` (after promote/rollback), `services.image` / `services.version`
(`promote canary --image/--version`, and after a rollback, back to what stable runs) and
`local.command` — through a round-trip YAML editor, atomically.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from swiftdeploy.files import atomic_write

# (section, key) → the new value; None removes the key (and a section left empty)
Edits = Mapping[tuple[str, str], Any]


def with_values(text: str, edits: Edits) -> str:
    """The manifest text with each (section, key) set, everything else untouched."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    document: Any = yaml.load(text)
    changed = False
    for (section, key), value in edits.items():
        block = document.get(section)
        old = block.get(key) if block is not None else None
        if old == value:
            continue
        changed = True
        if value is None:
            del block[key]
            if not block:
                del document[section]
            continue
        if block is None:
            document[section] = block = {}
        block[key] = _like(old, value)
    if not changed:
        return text
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def _like(old: Any, value: Any) -> Any:
    """value written as old was: quoted if it was quoted, and quoted whenever YAML would
    read the plain text back as something else (a version such as 2.0 is not a float)."""
    import yaml as pyyaml
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

    if isinstance(value, list):
        return CommentedSeq([_like(None, item) for item in value])
    if not isinstance(value, str):
        return value
    if isinstance(old, ScalarString):
        return type(old)(value)
    try:
        plain_ok = pyyaml.safe_load(value) == value
    except pyyaml.YAMLError:
        plain_ok = False
    return value if plain_ok else DoubleQuotedScalarString(value)


def set_values(path: Path, edits: Edits) -> bool:
    """Set the values; return whether the file changed."""
    original = path.read_text()
    updated = with_values(original, edits)
    if updated == original:
        return False
    atomic_write(path, updated, mode=path.stat().st_mode & 0o777)
    return True


def with_service_mode(text: str, mode: str) -> str:
    """The manifest text with services.mode set to mode, everything else untouched."""
    return with_values(text, {("services", "mode"): mode})


def set_service_mode(path: Path, mode: str) -> bool:
    """Set services.mode; return whether the file changed."""
    return set_values(path, {("services", "mode"): mode})
