"""Runtimes run instances and route traffic; lifecycle code talks only to `Runtime`.

A runtime is one folder here (its runtime class, the files it renders, its pre-flight
checks) plus one line in `registry.RUNTIMES`. Every other module learns the names from
there: the manifest's `runtime` choice, the CLI's `--runtime`, `init`'s files and
`validate`'s checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from swiftdeploy.errors import UsageError
from swiftdeploy.runtime.registry import RUNTIMES

if TYPE_CHECKING:
    from swiftdeploy.manifest import Manifest
    from swiftdeploy.project import Project
    from swiftdeploy.runtime.base import Runtime


def runtime_class(name: str) -> type[Runtime]:
    if name not in RUNTIMES:
        known = ", ".join(sorted(RUNTIMES))
        raise UsageError(f"runtime {name!r} is not available here (known: {known})")
    module_name, _, class_name = RUNTIMES[name].partition(":")
    found: type[Runtime] = getattr(importlib.import_module(module_name), class_name)
    return found


def runtime_for(name: str, project: Project, manifest: Manifest) -> Runtime:
    return runtime_class(name)(project, manifest)
