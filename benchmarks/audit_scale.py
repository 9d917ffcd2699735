"""Audit at scale: time `swiftdeploy audit` and `audit --verify` on a 1,000,000-event history.

    uv run python benchmarks/audit_scale.py [--events 1000000] [--dir DIR] [--reuse]
        [--repeat 2] [--update-docs | --doc PATH]

Each command runs in its own process; wall time, CPU time and that process's peak RSS
(wait4) are reported. Targets: ≤ 10 s and ≤ 200 MB each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc

from swiftdeploy.history import GENESIS, format_ts, make_event

HEADING = "## Audit at scale"


def generate(path: Path, count: int) -> None:
    """A realistic mix: mostly status samples, with releases, decisions and chaos between."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS
    with path.open("wb", buffering=1 << 20) as out:
        for seq in range(count):
            ts = format_ts(start + timedelta(seconds=seq * 5))
            phase = seq % 1000
            if phase == 0:
                kind, payload = "deploy", {"mode": "stable", "started": ["stable-1"]}
            elif phase == 200:
                kind, payload = "promote", {"from": "stable", "to": "canary", "version": "1.1"}
            elif phase == 400:
                kind, payload = "chaos", {"instance": "canary-1", "mode": "error", "rate": 0.3}
            elif phase == 600:
                kind, payload = (
                    "policy_decision",
                    {
                        "domain": "canary",
                        "allow": False,
                        "reasons": ["error rate 6.00% > 1.00%"],
                        "input": {"error_rate": 0.06, "p99_ms": 620.0},
                        "engine": "embedded",
                        "decision_id": f"d-{seq}",
                        "policy_digest": "sha256:0",
                        "duration_ms": 1.2,
                    },
                )
            elif phase == 800:
                kind, payload = "rollback", {"stopped": "canary-1"}
            else:
                canary = 200 <= phase < 800
                bad = 400 <= phase < 800
                kind, payload = (
                    "status_sample",
                    {
                        "mode": "canary" if canary else "stable",
                        "req_per_s": 7.3,
                        "p99_ms": 620.0 if bad else 42.0,
                        "error_rate": 0.06 if bad else 0.001,
                        "uptime_s": float(phase * 5),
                        "chaos": "error" if bad else "none",
                        "policy": {"infra": "PASS", "canary": "FAIL" if bad else "PASS"},
                    },
                )
            event, line = make_event(seq, prev, kind, payload, ts)
            prev = event["hash"]
            out.write(line)


def timed(argv: list[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS in MB, exit status) of one child process.

    CPU time is reported too because wall time on a shared machine mostly measures the
    neighbours.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an existing history")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/swiftdeploy-audit-bench"))
    parser.add_argument("--repeat", type=int, default=2, help="runs of each command")
    add_doc_arguments(parser)
    args = parser.parse_args()
    load_before = loadavg()
    args.dir.mkdir(parents=True, exist_ok=True)
    history = args.dir / "history.jsonl"
    manifest = args.dir / "manifest.yaml"
    manifest.touch()
    lines_now = 0
    if args.reuse and history.exists():
        with history.open("rb") as handle:
            lines_now = sum(1 for _ in handle)
    if lines_now != args.events:
        for stale in (history, args.dir / "history.jsonl.lock"):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        generate(history, args.events)
        print(f"generated {args.events} events in {time.perf_counter() - started:.1f}s")
    size_mb = history.stat().st_size / 1e6
    print(f"history: {size_mb:.0f} MB, {args.events} events")
    cli = [sys.executable, "-m", "swiftdeploy", "-f", str(manifest), "audit"]
    runs: dict[str, list[tuple[float, float, float, int]]] = {}
    for _ in range(args.repeat):
        for label, argv in (("audit", cli), ("audit --verify", [*cli, "--verify"])):
            seconds, cpu, rss, status = timed(argv)
            runs.setdefault(label, []).append((seconds, cpu, rss, status))
            print(
                f"{label:16s} wall {seconds:6.2f} s  cpu {cpu:6.2f} s  "
                f"peak RSS {rss:6.1f} MB  exit {status}"
            )
    load_after = loadavg()

    def span(values: list[float], fmt: str) -> str:
        low, high = min(values), max(values)
        return (
            f"{low:{fmt}}" if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}} – {high:{fmt}}"
        )

    lines = [
        HEADING,
        "",
        *provenance(command_line("benchmarks/audit_scale.py"), load_before, load_after),
        f"A generated {args.events:,}-event, {size_mb:.0f} MB `history.jsonl` (status samples "
        "with a deploy/promote/chaos/denied decision/rollback every 1,000 events), then "
        "`python -m swiftdeploy -f <dir>/manifest.yaml audit` and `audit --verify`, each in "
        f"its own process, {args.repeat} run(s) each, file in the page cache; wall time, CPU "
        "time and peak RSS from `wait4`.",
        "",
        "| command | wall (s) | CPU (s) | peak RSS (MB) | exit | target | met |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for label, results in runs.items():
        walls = [r[0] for r in results]
        rss = max(r[2] for r in results)
        ok = all(r[3] == 0 for r in results)
        met = "yes" if ok and max(walls) <= 10 and rss <= 200 else "**no**"
        lines.append(
            f"| `{label}` | {span(walls, '.2f')} | {span([r[1] for r in results], '.2f')} | "
            f"{rss:.0f} | {','.join(sorted({str(r[3]) for r in results}))} | "
            f"≤ 10 s, ≤ 200 MB | {met} |"
        )
    section = "\n".join([*lines, ""])
    print(section)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, section)


if __name__ == "__main__":
    main()
