"""Runtimes run instances and route traffic; lifecycle code talks only to `Runtime`.

A new runtime is a new module here plus one line in `RUNTIMES`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from swiftdeploy.errors import UsageError

if TYPE_CHECKING:
    from swiftdeploy.manifest import Manifest
    from swiftdeploy.project import Project
    from swiftdeploy.runtime.base import Runtime

RUNTIMES: dict[str, str] = {
    "local": "swiftdeploy.runtime.local:LocalRuntime",
    "compose": "swiftdeploy.runtime.compose:ComposeRuntime",
    "swarm": "swiftdeploy.runtime.swarm:SwarmRuntime",
}


def runtime_for(name: str, project: Project, manifest: Manifest) -> Runtime:
    if name not in RUNTIMES:
        known = ", ".join(sorted(RUNTIMES))
        raise UsageError(f"runtime {name!r} is not available here (known: {known})")
    module_name, _, class_name = RUNTIMES[name].partition(":")
    runtime_class = getattr(importlib.import_module(module_name), class_name)
    runtime: Runtime = runtime_class(project, manifest)
    return runtime
