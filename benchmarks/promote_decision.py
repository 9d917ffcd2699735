"""How long `promote stable` takes to decide once its window is already measured (issue 17).

    uv run python benchmarks/promote_decision.py [--runs 10] [--rate 300] [--window 30]
        [--update-docs | --doc PATH]

Deploys a temporary project on the local runtime (real nginx, real demo-service processes,
the collector beside them, analysis.source: proxy), then under a paced keep-alive load
repeats: `promote canary --version 2.N.0`, let --window + 2 seconds of traffic pass (so the
collector has covered the whole window), and time `promote stable --window W`, which judges
that window at once and promotes. Target ≤ 1 s (before the collector: the window itself,
30 s, plus the decision). Not a test: nothing is asserted; the deployment is torn down.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc
from _live import LiveProject, PacedLoad

HEADING = "## Promote stable with a measured window"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rate", type=float, default=300.0, help="total requests/s")
    parser.add_argument("--threads", type=int, default=4, help="keep-alive connections")
    parser.add_argument("--window", type=float, default=30.0, help="promote stable --window")
    add_doc_arguments(parser)
    args = parser.parse_args()

    load_before = loadavg()
    decisions: list[float] = []  # the whole promotion
    dry_runs: list[float] = []
    starts: list[float] = []
    refused: list[str] = []
    bound = args.runs * (args.window + 20) + 120
    with LiveProject() as project:
        project.ok("deploy")
        with PacedLoad(
            project.port, rate=args.rate, threads=args.threads, max_seconds=bound
        ) as load:
            for run in range(args.runs):
                project.ok("promote", "canary", "--version", f"2.{run}.0")
                time.sleep(args.window + 2)  # the whole window is behind us, measured
                window = ("--window", f"{args.window:g}")
                planned = project.run("promote", "stable", *window, "--dry-run")
                dry_runs.append(planned.seconds)  # measure + decide, nothing applied
                result = project.run("promote", "stable", *window)
                if result.code != 0:
                    refused.append(f"run {run + 1}: exit {result.code}")
                    print(result.output, file=sys.stderr)
                decisions.append(result.seconds)
                starts.append(project.run("--help").seconds)  # the CLI's own start-up
                print(f"run {run + 1}/{args.runs}: {decisions[-1]:.2f}s", file=sys.stderr)
        failures = load.failures(load.samples)
    load_after = loadavg()

    def row(label: str, values: list[float]) -> str:
        ordered = sorted(values)
        return (
            f"| {label} | {len(ordered)} | {statistics.median(ordered):.2f} | "
            f"{ordered[round(0.95 * (len(ordered) - 1))]:.2f} | {ordered[-1]:.2f} |"
        )

    worst = max(dry_runs)
    lines = [
        HEADING,
        "",
        *provenance(command_line("benchmarks/promote_decision.py"), load_before, load_after),
        f"A temporary project on the local runtime (real nginx, real demo-service processes, "
        f"the collector beside them; `analysis.source: proxy`). {len(decisions)} runs of "
        f"`promote canary --version 2.N.0`, {args.window:g} s + 2 s of paced load "
        f"({args.rate:g} req/s requested from {args.threads} keep-alive connections), then "
        f"`promote stable --window {args.window:g}` timed as the operator sees it (a fresh CLI "
        f"process; `swiftdeploy --help` alone took a median {statistics.median(starts):.2f} s "
        "here), first with `--dry-run` (the decision alone), then for real. Both judge the window "
        "that just passed from the collector.",
        "",
        "| promote stable | runs | median (s) | p95 (s) | max (s) |",
        "|---|---:|---:|---:|---:|",
        row("`--dry-run`: judge the window and decide", dry_runs),
        row("the promotion: decide, switch traffic, drain and stop the old stable", decisions),
        "",
        f"Target: the decision ≤ 1 s — **{'met' if worst <= 1 else 'missed'}** (worst "
        f"{worst:.2f} s, CLI start-up included); before "
        f"the collector it was the window itself ({args.window:g} s) plus the decision. "
        f"Failed requests during the run: {failures}"
        + (f"; commands that failed: {refused}" if refused else "")
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
