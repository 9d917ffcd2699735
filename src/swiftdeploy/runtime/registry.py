"""The runtimes this build knows: a runtime is one folder beside this file plus one line here.

Only names and import paths, importing nothing, so the manifest's `runtime` choice and the
CLI's `--runtime` can be derived from it without loading any runtime.
"""

from __future__ import annotations

RUNTIMES: dict[str, str] = {
    "local": "swiftdeploy.runtime.local:LocalRuntime",
    "compose": "swiftdeploy.runtime.compose:ComposeRuntime",
    "swarm": "swiftdeploy.runtime.swarm:SwarmRuntime",
}
RUNTIME_NAMES: tuple[str, ...] = tuple(RUNTIMES)
DEFAULT_RUNTIME = RUNTIME_NAMES[0]
