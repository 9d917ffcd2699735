"""Progressive rollout under load (issue 9): how fast a bad canary is rolled back, and what
the switching itself costs.

    uv run python benchmarks/rollout_timing.py [--steps 20,50,100] [--interval 5]
        [--chaos-rate 0.5] [--inject-after 1] [--rate 500] [--update-docs | --doc PATH]

One temporary project on the local runtime, under a paced keep-alive load for the whole run:

1. healthy: `promote canary --version 2.0.0` walks every step with no chaos and becomes
   stable. Every error here comes from the switching itself (target 0).
2. chaos: `promote canary --version 3.0.0`; --inject-after seconds into step 2's analysis
   window, `chaos error --rate R` lands on the canary; the rollout must fail that analysis
   and roll back (max_failed_checks 1). Measured from the injection to `rolled_back`
   (target ≤ 2 analysis intervals); the errors clients saw in that time are compared with
   weight * rate * time * request rate.

Not a test: nothing is asserted. The deployment is always torn down.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc
from _live import LiveProject, PacedLoad

HEADING = "## Progressive rollout timing"


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="20,50,100", help="canary.steps, comma-separated")
    parser.add_argument("--interval", type=float, default=5.0, help="canary.interval (s)")
    parser.add_argument("--chaos-rate", type=float, default=0.5)
    parser.add_argument("--inject-after", type=float, default=1.0, help="s into step 2")
    parser.add_argument("--rate", type=float, default=500.0, help="total requests/s")
    parser.add_argument("--threads", type=int, default=4)
    add_doc_arguments(parser)
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    if len(steps) < 2:
        raise SystemExit("--steps needs at least two steps (chaos lands at step 2)")
    bound = (len(steps) + 2) * args.interval * 4 + 120  # every wait below is bounded

    canary = (
        "canary:\n"
        f"  steps: [{', '.join(map(str, steps))}]\n"
        f'  interval: "{args.interval:g}s"\n'
        "  max_failed_checks: 1\n"
    )
    load_before = loadavg()
    marks: dict[str, float] = {}
    outputs: dict[str, str] = {}
    with LiveProject(extra_manifest=canary) as project:
        project.ok("deploy")
        with PacedLoad(
            project.port, rate=args.rate, threads=args.threads, max_seconds=3 * bound
        ) as load:
            time.sleep(1.0)
            # 1. a healthy rollout: the switching alone
            marks["healthy_start"] = time.monotonic()
            healthy = project.popen("promote", "canary", "--version", "2.0.0")
            outputs["healthy"], _ = healthy.communicate(timeout=bound)
            marks["healthy_end"] = time.monotonic()
            healthy_phase = project.rollout().get("phase")
            time.sleep(1.0)

            # 2. chaos at step 2, mid-window
            marks["chaos_start"] = time.monotonic()
            bad = project.popen("promote", "canary", "--version", "3.0.0")
            try:
                if not wait_for(
                    lambda: (
                        project.rollout().get("version") == "3.0.0"
                        and project.rollout().get("step") == 1
                    ),
                    bound,
                ):
                    raise RuntimeError("the rollout never reached step 2")
                marks["step2"] = time.monotonic()
                time.sleep(args.inject_after)
                marks["inject"] = time.monotonic()
                injected = project.run("chaos", "error", "--rate", f"{args.chaos_rate:g}")
                if injected.code != 0:
                    print(f"chaos failed: {injected.output}", file=sys.stderr)
                marks["injected"] = time.monotonic()
                wait_for(
                    lambda: project.rollout().get("phase") in {"rolled_back", "promoted"}, bound
                )
                marks["rolled_back"] = time.monotonic()
            finally:
                outputs["chaos"], _ = bad.communicate(timeout=bound)
                marks["chaos_end"] = time.monotonic()
            chaos_phase = project.rollout().get("phase")
            analyses = project.rollout().get("analyses", [])
            time.sleep(1.0)
    load_after = loadavg()

    for name, output in outputs.items():
        print(f"--- {name} rollout output ---\n{output}", file=sys.stderr)
    samples = load.samples
    healthy_window = load.between(marks["healthy_start"], marks["healthy_end"])
    healthy_errors = load.failures(healthy_window)
    outside = [
        s
        for s in samples
        if not 200 <= s.status < 300 and not marks["inject"] <= s.t <= marks["rolled_back"]
    ]
    chaos_window = load.between(marks["inject"], marks["rolled_back"])
    chaos_errors = load.failures(chaos_window)
    canary_errors = sum(1 for s in chaos_window if s.status >= 500 and s.mode == "canary")
    conn_errors = load.connection_errors(samples)
    canary_errors_t = [s.t for s in chaos_window if s.status >= 500 and s.mode == "canary"]
    to_rollback = marks["rolled_back"] - marks["inject"]
    last_error = (canary_errors_t[-1] - marks["inject"]) if canary_errors_t else float("nan")
    weight = steps[1] / 100
    rate = load.achieved_rate
    exposed = (canary_errors_t[-1] - canary_errors_t[0]) if canary_errors_t else 0.0
    expected = weight * args.chaos_rate * exposed * rate
    canary_share = sum(1 for s in chaos_window if s.mode == "canary")
    verdicts = [f"{a['weight']}%: {a['verdict']}" for a in analyses]

    lines = [
        HEADING,
        "",
        *provenance(command_line("benchmarks/rollout_timing.py"), load_before, load_after),
        f"A temporary project on the local runtime (real nginx, real demo-service processes; "
        f"infra `max_cpu_load` lifted, canary policy unchanged: error rate ≤ 1%, P99 ≤ 500 ms, "
        f"≥ 50 requests). `canary.steps: {steps}`, `interval: {args.interval:g}s`, "
        f"`max_failed_checks: 1`. Paced load of {args.rate:g} req/s requested from "
        f"{args.threads} keep-alive connections for the whole run, no retries: "
        f"{len(samples):,} requests in {load.stopped - load.started:.1f} s = "
        f"**{rate:.0f} req/s achieved** ({load.late} sends more than one period late).",
        "",
        "| run | result | duration (s) | non-2xx + connection errors |",
        "|---|---|---:|---:|",
        f"| healthy rollout, no chaos (2.0.0) | {healthy_phase} | "
        f"{marks['healthy_end'] - marks['healthy_start']:.1f} | **{healthy_errors}** |",
        f"| chaos `error --rate {args.chaos_rate:g}` at step 2 ({steps[1]}%), "
        f"{args.inject_after:g} s into its window (3.0.0) | {chaos_phase} "
        f"(analyses: {', '.join(verdicts)}) | {marks['chaos_end'] - marks['chaos_start']:.1f} "
        f"| {chaos_errors} |",
        "",
        f"- Chaos injection (start of the `chaos` command) → rollout `rolled_back`: "
        f"**{to_rollback:.2f} s = {to_rollback / args.interval:.2f} analysis intervals** "
        f"(target ≤ 2: **{'met' if to_rollback <= 2 * args.interval else 'missed'}**); the "
        f"`chaos` command itself took {marks['injected'] - marks['inject']:.2f} s; the last "
        f"failed canary response came {last_error:.2f} s after the injection.",
        f"- Errors in that time: {chaos_errors} ({canary_errors} were 5xx from the canary, "
        f"of {canary_share} canary responses). Expected ≈ weight × rate × time × request rate "
        f"= {weight:g} × {args.chaos_rate:g} × {exposed:.2f} s (first to last canary error) × "
        f"{rate:.0f} req/s = {expected:.0f}.",
        f"- Errors outside the chaos window (the switching itself, both runs): "
        f"**{len(outside)}** (target 0); connection errors in the whole run: {conn_errors}.",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, section)


if __name__ == "__main__":
    main()
