"""CLI start-up (issue 3): wall time of `swiftdeploy --help` and `swiftdeploy init`, by hyperfine.

    uv run python benchmarks/init_help.py [--runs 20] [--warmup 3] [--update-docs | --doc PATH]

`init` runs in a temporary project (the lifecycle tests' manifest); after the first run it
re-renders identical files, which is what an operator's repeated `init` does. Targets:
--help ≤ 200 ms, init ≤ 300 ms (mean). Also records the slowest imports of each command
(`python -X importtime`, cumulative) so a regression points at its cause.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _doc import (
    ROOT,
    add_doc_arguments,
    command_line,
    loadavg,
    provenance,
    replace_section,
    target_doc,
)
from _live import MANIFEST

HEADING = "## CLI start-up: --help and init"
TARGETS_MS = {
    "--help": 200.0,
    "init": 300.0,
    "--help (bytecode cached)": 200.0,
    "init (bytecode cached)": 300.0,
}


def cli_binary() -> str:
    for candidate in (Path(sys.executable).parent / "swiftdeploy", ROOT / ".venv/bin/swiftdeploy"):
        if candidate.is_file():
            return str(candidate)
    raise SystemExit("the swiftdeploy entry point is not installed (uv sync)")


def top_imports(argv: list[str], count: int = 5) -> list[tuple[str, float]]:
    """The `count` slowest top-level imports (cumulative ms) while running argv."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    rows: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        top_level = name.startswith(" ") and not name.startswith("  ")
        if cumulative.strip().isdigit() and top_level:
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    add_doc_arguments(parser)
    args = parser.parse_args()
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        raise SystemExit("hyperfine not found")
    cli = cli_binary()
    tmp = Path(tempfile.mkdtemp(prefix="sdbench-init-"))
    load_before = loadavg()
    try:
        manifest = tmp / "manifest.yaml"
        manifest.write_text(MANIFEST.format(port=18080))
        # As run here, and with a bytecode cache the interpreter may write: a venv installed
        # by uv holds no .pyc files, and with PYTHONDONTWRITEBYTECODE=1 (set on this host)
        # every run compiles ~90 modules from source. A private cache prefix measures what an
        # operator's machine does after the first run, without touching the shared venv.
        cached = f"env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={tmp / 'pycache'} "
        commands = {
            "--help": f"{cli} --help",
            "init": f"{cli} -f {manifest} init",
            "--help (bytecode cached)": f"{cached}{cli} --help",
            "init (bytecode cached)": f"{cached}{cli} -f {manifest} init",
        }
        export = tmp / "hyperfine.json"
        subprocess.run(
            [
                hyperfine,
                "--warmup",
                str(args.warmup),
                "--runs",
                str(args.runs),
                "--style",
                "basic",
                "--export-json",
                str(export),
                *[
                    arg
                    for name, cmd in commands.items()
                    for arg in (f"--command-name=swiftdeploy {name}", cmd)
                ],
            ],
            check=True,
            timeout=600,
            stdout=sys.stderr,
        )
        results = {
            r["command"].removeprefix("swiftdeploy "): r
            for r in json.loads(export.read_text())["results"]
        }
        imports = {
            "--help": top_imports(["-m", "swiftdeploy", "--help"]),
            "init": top_imports(["-m", "swiftdeploy", "-f", str(manifest), "init"]),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = loadavg()

    lines = [
        HEADING,
        "",
        *provenance(command_line("benchmarks/init_help.py"), load_before, load_after),
        f"hyperfine `--warmup {args.warmup} --runs {args.runs}` on "
        "`.venv/bin/swiftdeploy --help` and `.venv/bin/swiftdeploy -f <tmp>/manifest.yaml init` "
        "(a temporary project; after the warm-up, init re-renders identical files). "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')} in this "
        "environment and the uv-installed venv holds no `.pyc` files, so the plain rows compile "
        "every imported third-party module from source on every run; the *bytecode cached* rows "
        "run the same command with `env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=<tmp>` "
        "(the cache fills during the warm-up), which is what a normal install sees after its "
        "first run.",
        "",
        "| command | mean (ms) | σ (ms) | median (ms) | min (ms) | max (ms) | user+sys (ms) "
        "| target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name in commands:
        r = results[name]
        mean = r["mean"] * 1000
        lines.append(
            f"| `swiftdeploy {name}` | {mean:.0f} | {r['stddev'] * 1000:.0f} | "
            f"{r['median'] * 1000:.0f} | {r['min'] * 1000:.0f} | {r['max'] * 1000:.0f} | "
            f"{(r['user'] + r['system']) * 1000:.0f} | ≤ {TARGETS_MS[name]:.0f} ms | "
            f"{'yes' if mean <= TARGETS_MS[name] else '**no**'} |"
        )
    lines += [
        "",
        "Slowest top-level imports (`python -X importtime`, cumulative, one run): "
        + "; ".join(
            f"{name}: " + ", ".join(f"`{module}` {ms:.0f} ms" for module, ms in rows)
            for name, rows in imports.items()
        )
        + ".",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, section)


if __name__ == "__main__":
    main()
