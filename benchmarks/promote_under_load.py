"""Promote and roll back under constant load (issue 6): nothing dropped, each transition timed.

    uv run python benchmarks/promote_under_load.py [--cycles 20] [--rate 500] [--window 2]
        [--update-docs | --doc PATH]

Deploys a temporary project on the local runtime (the real nginx, real service processes),
then, under a paced keep-alive load of --rate req/s on loopback for the whole run, repeats
`promote canary` → `promote stable --window W` → `promote canary` → `rollback`. Every non-2xx
response and every connection error is counted (target 0); each command's wall time is
recorded as the operator sees it (a fresh CLI process; target ≤ 3 s for promote canary).
Not a test: nothing is asserted. The deployment is always torn down.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc
from _live import LiveProject, PacedLoad

HEADING = "## Promote under load"
STEPS = ("promote canary", "promote stable", "promote canary (again)", "rollback")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--rate", type=float, default=500.0, help="total requests/s")
    parser.add_argument("--threads", type=int, default=4, help="keep-alive connections")
    parser.add_argument("--window", type=float, default=2.0, help="promote stable --window")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="bound on the run")
    parser.add_argument(
        "--bytecode-cache",
        action="store_true",
        help="let the CLI cache bytecode in a private folder (see init_help.py)",
    )
    add_doc_arguments(parser)
    args = parser.parse_args()

    load_before = loadavg()
    timings: dict[str, list[float]] = {step: [] for step in STEPS}
    refused: list[str] = []
    cycles_done = 0
    with LiveProject(bytecode_cache=args.bytecode_cache) as project:
        deploy = project.ok("deploy")
        print(f"deploy {deploy.seconds:.2f}s", file=sys.stderr)
        budget_end = time.monotonic() + args.max_seconds
        with PacedLoad(
            project.port, rate=args.rate, threads=args.threads, max_seconds=args.max_seconds + 60
        ) as load:
            time.sleep(1.0)  # let the load settle before the first transition
            for cycle in range(args.cycles):
                if time.monotonic() > budget_end:
                    print("time budget spent; stopping early", file=sys.stderr)
                    break
                plan = (
                    (STEPS[0], ("promote", "canary", "--version", f"2.{cycle}.0")),
                    (STEPS[1], ("promote", "stable", "--window", f"{args.window:g}")),
                    (STEPS[2], ("promote", "canary", "--version", f"3.{cycle}.0")),
                    (STEPS[3], ("rollback",)),
                )
                for step, command in plan:
                    result = project.run(*command)
                    if result.code != 0:
                        refused.append(f"cycle {cycle + 1} {step}: exit {result.code}")
                        print(result.output, file=sys.stderr)
                    timings[step].append(result.seconds)
                cycles_done += 1
                print(
                    f"cycle {cycle + 1}/{args.cycles}: "
                    + "  ".join(f"{s} {timings[s][-1]:.2f}s" for s in STEPS),
                    file=sys.stderr,
                )
            time.sleep(1.0)
        final_mode = project.state().get("canary")
    load_after = loadavg()

    samples = load.samples
    failures = load.failures(samples)
    conn_errors = load.connection_errors(samples)
    statuses: dict[int, int] = {}
    for sample in samples:
        statuses[sample.status] = statuses.get(sample.status, 0) + 1
    errors = sorted({s.error for s in samples if s.error})[:3]

    def row(step: str, values: list[float], minus: float = 0.0) -> str:
        adjusted = [v - minus for v in values]
        return (
            f"| {step} | {len(values)} | {statistics.median(adjusted):.2f} | "
            f"{percentile(adjusted, 0.95):.2f} | {max(adjusted):.2f} |"
        )

    lines = [
        HEADING + (", bytecode cached" if args.bytecode_cache else ""),
        "",
        *provenance(command_line("benchmarks/promote_under_load.py"), load_before, load_after),
        f"A temporary project on the local runtime (real nginx, real demo-service processes; "
        f"the infra policy's `max_cpu_load` lifted as the lifecycle tests do; canary policy "
        f"unchanged). {cycles_done} cycles of `promote canary --version 2.N.0` → "
        f"`promote stable --window {args.window:g}` → `promote canary --version 3.N.0` → "
        f"`rollback`, under a paced load of {args.rate:g} req/s requested from "
        f"{args.threads} keep-alive connections (`GET /` via nginx on 127.0.0.1, no retries) "
        "for the whole run. Times are wall times of each CLI process, as an operator sees "
        "them (Python start-up included"
        + (
            "; with `--bytecode-cache` the CLI and services write bytecode to a private "
            "cache, as after a normal install's first run)."
            if args.bytecode_cache
            else "; no bytecode cache in this environment, so each CLI process compiles its "
            "third-party imports from source — see the start-up section)."
        ),
        "",
        f"Load: {len(samples):,} requests in {load.stopped - load.started:.1f} s = "
        f"**{load.achieved_rate:.0f} req/s achieved** ({load.late} sends more than one "
        f"period late); non-2xx + connection errors: **{failures}** "
        f"(of which connection errors {conn_errors}; target 0); statuses {statuses}"
        + (f"; first errors: {errors}" if errors else "")
        + (f"; commands that failed: {refused}" if refused else "")
        + ".",
        "",
        "| transition | runs | median (s) | p95 (s) | max (s) |",
        "|---|---:|---:|---:|---:|",
        row(STEPS[0], timings[STEPS[0]]),
        row(f"{STEPS[1]} (total, incl. the {args.window:g} s window)", timings[STEPS[1]]),
        row(f"{STEPS[1]} minus its {args.window:g} s window", timings[STEPS[1]], args.window),
        row(STEPS[2], timings[STEPS[2]]),
        row(STEPS[3], timings[STEPS[3]]),
        "",
        f"Targets: 0 errors — **{'met' if failures == 0 else 'missed'}**; promote canary "
        f"≤ 3 s — **{'met' if max(timings[STEPS[0]] + timings[STEPS[2]]) <= 3 else 'missed'}** "
        f"(worst {max(timings[STEPS[0]] + timings[STEPS[2]]):.2f} s). After the run: canary "
        f"{final_mode or 'none'}.",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, section)


if __name__ == "__main__":
    main()
