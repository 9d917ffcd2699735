"""The one place SwiftDeploy runs external programs (nginx, opa, docker).

Never a shell; always an argv list and a timeout; failures become CommandFailed
carrying the command and its stderr.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from swiftdeploy.errors import CommandFailed


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def which(program: str) -> str | None:
    """Find a program on PATH, also looking in the sbin folders root tools live in."""
    found = shutil.which(program)
    if found:
        return found
    for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        candidate = Path(folder) / program
        if candidate.is_file():
            return str(candidate)
    return None


def run(
    argv: list[str],
    *,
    timeout: float = 60.0,
    check: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> Completed:
    """Run argv to completion and capture its output as text."""
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env=env,
            input=input_text,
        )
    except FileNotFoundError as exc:
        raise CommandFailed(f"{argv[0]}: command not found", argv=argv, returncode=None) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(
            f"{' '.join(argv)} timed out after {timeout:g}s", argv=argv, returncode=None
        ) from exc
    result = Completed(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        last_line = (proc.stderr.strip().splitlines() or [""])[-1]
        raise CommandFailed(
            f"{' '.join(argv)} exited {proc.returncode}: {last_line}",
            argv=argv,
            returncode=proc.returncode,
            stderr=proc.stderr,
        )
    return result
