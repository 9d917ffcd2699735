"""The one way tests run the CLI: a real `python -m swiftdeploy` with fixed, colourless output.

Every CLI-driving test outside the lifecycle fixtures uses run_cli, so output is the same
in a terminal, under CI and on a developer's laptop: NO_COLOR=1 (Rich drops styles),
COLUMNS=100 (Rich's and Click's width) and TERM=dumb. Variables that would override those
(FORCE_COLOR and friends) are removed, so an exact comparison cannot depend on who runs it.
normalise() replaces the parts that differ between runs, never loosening the comparison.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from seed_support import seed_text

CLI_ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
# Each of these would turn colour or terminal behaviour back on, or point the CLI elsewhere.
_DROPPED = (
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "LINES",
    "SWIFTDEPLOY_MANIFEST",
    "SWIFTDEPLOY_OPA_URL",
)


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    env.update(CLI_ENV)
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `swiftdeploy ARGS` in cwd; env adds to (or overrides) the fixed environment."""
    return subprocess.run(
        [sys.executable, "-m", "swiftdeploy", *args],
        cwd=cwd,
        env=cli_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


_SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_DURATION = re.compile(r"\(\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m)\)")


def expected(text: str) -> str:
    """An expected output written indented in a test: textwrap.dedent it, and turn each line
    that is only `␠` into one space (a unified diff's blank context line, which dedent would
    empty and an editor would strip)."""
    return textwrap.dedent(text).replace("␠\n", " \n")


# What a canary at 100% of traffic changes in the seed project's rendered files, as a dry run
# prints it (`<step>`: the step it is printed after). Exact output, written once for every
# verb that starts a canary.
_CANARY_RENDERING_DIFFS = """\
    ==> nginx.conf would change
    --- nginx.conf (now)
    +++ nginx.conf (after the <step> step)
    @@ -1,5 +1,5 @@
     # generated from manifest.yaml — do not edit (run `swiftdeploy init`)
    -# manifest sha256: <sha256>
    +# manifest sha256: <sha256>
     # target: compose
     worker_processes auto;
     # Each proxied request holds two descriptors (client and upstream): twice worker_connections.
    @@ -42,7 +42,7 @@
             * 19;
         }
         map $swiftdeploy_slot $swiftdeploy_weighted {
    -        default stable;
    +        default canary;
         }
    ␠
         # Explicit temp paths let nginx run unprivileged, without /var/lib/nginx or /var/cache/nginx.
    @@ -64,7 +64,7 @@
         }
    ␠
         upstream app_canary {
    -        server app:3000;
    +        server app-canary:3000;
             keepalive 16;
         }
    ␠
    ==> docker-compose.yml would change
    --- docker-compose.yml (now)
    +++ docker-compose.yml (after the <step> step)
    @@ -1,5 +1,5 @@
     # generated from manifest.yaml — do not edit (run `swiftdeploy init`)
    -# manifest sha256: <sha256>
    +# manifest sha256: <sha256>
     name: swiftdeploy
     networks:
       opa-net:
"""  # noqa: E501


def canary_rendering_diffs(step: str) -> str:
    """The nginx.conf and docker-compose.yml diffs of a canary at 100%, after `step`."""
    return expected(_CANARY_RENDERING_DIFFS).replace("<step>", step)


def normalise(text: str, *, project: Path | None = None, port: int | None = None) -> str:
    """The output with its run-specific parts replaced by placeholders: the project folder by
    `<project>`, the loopback port by `<port>`, sha256 digests by `<sha256>`, RFC 3339 times by
    `<time>` and `(1.2ms)`-style durations by `(<duration>)`."""
    if project is not None:
        # The resolved path too: on some hosts the temp folder is reached through a symlink.
        for path in sorted({str(project.resolve()), str(project)}, key=len, reverse=True):
            text = text.replace(path, "<project>")
    text = _SHA256.sub("<sha256>", text)
    text = _TIMESTAMP.sub("<time>", text)
    text = _DURATION.sub("(<duration>)", text)
    if port is not None:
        text = re.sub(rf"\b{port}\b", "<port>", text)
    return text


class Output(NamedTuple):
    """What one run printed, normalised: compare it to `(code, stdout, stderr)`."""

    code: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """Runs the CLI in one project folder (tests/cli's `cli` fixture) and normalises the
    output with that folder and the test's free port."""

    root: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 60) -> Output:
        result = run_cli(*args, cwd=self.root, env=self.env, stdin=stdin, timeout=timeout)
        return Output(
            result.returncode,
            normalise(result.stdout, project=self.root, port=self.port),
            normalise(result.stderr, project=self.root, port=self.port),
        )

    def seed(self) -> None:
        """Write the seed manifest on this test's free port, then `init` the project."""
        self.manifest.write_text(seed_text(nginx_port=self.port))
        result = self("init")
        assert result.code == 0, result

    def infra_data(self, data: Mapping[str, float]) -> None:
        """Replace the infra policy's data: the shipped limits judge this busy host's load."""
        (self.root / "policies" / "infra" / "data.json").write_text(json.dumps(data))


def demo_artifact(version: str) -> str:
    """How plans and outcomes name the demo service (no local.command) at version: this
    interpreter's fingerprint, as the CLI run by run_cli resolves it."""
    import dataclasses

    from swiftdeploy.artifact import DEMO_REF, resolve_command

    found = resolve_command([sys.executable, "-m", "swiftdeploy.demo"], version)
    return dataclasses.replace(found, ref=DEMO_REF).describe()
