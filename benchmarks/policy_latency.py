"""Policy decision latency: embedded regopy vs the real OPA over REST on loopback.

    uv run python benchmarks/policy_latency.py [--n 2000] [--update-docs | --doc PATH]

Not a test: prints p50/p99 and decisions/s for each engine (warm, one keep-alive client).
Targets: embedded p99 ≤ 1 ms, REST p99 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc

from swiftdeploy.policy.binary import find_opa
from swiftdeploy.policy.embedded import EmbeddedEngine
from swiftdeploy.policy.engines import PolicyEngine
from swiftdeploy.policy.opa import OpaServerEngine
from swiftdeploy.policy.server import start_server, stop_server
from swiftdeploy.policy.sources import defaults_dir

HEADING = "## Policy decision latency"

INPUTS = {
    "infra": {"action": "deploy", "disk_free_gb": 107.0, "cpu_load": 0.8, "cpu_count": 8},
    "canary": {"action": "promote", "from": "canary", "to": "stable", "error_rate": 0.002,
               "p99_ms": 120.0, "request_count": 500, "window_s": 30,
               "stable": {"error_rate": 0.001, "p99_ms": 100.0, "request_count": 900}},
}  # fmt: skip


def measure(engine: PolicyEngine, n: int) -> dict[str, float]:
    for domain, payload in INPUTS.items():  # warm-up: compile / open the connection
        for _ in range(50):
            engine.evaluate(domain, payload)
    samples: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        domain = "infra" if i % 2 == 0 else "canary"
        t0 = time.perf_counter()
        engine.evaluate(domain, INPUTS[domain])
        samples.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - started
    q = statistics.quantiles(samples, n=100)
    return {"p50": q[49], "p99": q[98], "per_s": n / total}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--port", type=int, default=18181)
    add_doc_arguments(parser)
    args = parser.parse_args()
    load_before = loadavg()
    results = {"embedded (regopy)": measure(EmbeddedEngine(defaults_dir()), args.n)}
    state = Path(tempfile.mkdtemp(prefix="swiftdeploy-bench-"))
    try:
        server = start_server(defaults_dir(), state, port=args.port, opa_bin=find_opa())
        with OpaServerEngine(server.url, defaults_dir(), token=server.token) as rest:
            results["OPA REST (loopback)"] = measure(rest, args.n)
    finally:
        stop_server(state)
        shutil.rmtree(state, ignore_errors=True)
    load_after = loadavg()
    targets = {"embedded (regopy)": 1.0, "OPA REST (loopback)": 5.0}
    lines = [
        HEADING,
        "",
        *provenance(command_line("benchmarks/policy_latency.py"), load_before, load_after),
        f"{args.n} warm decisions per engine, alternating infra/canary on the shipped "
        "policies; the embedded engine evaluates a precompiled bundle in-process, OPA runs as "
        f"`opa run --server` on 127.0.0.1 ({opa_version()}) queried over one keep-alive "
        "httpx client.",
        "",
        "| engine | p50 (ms) | p99 (ms) | decisions/s | target p99 | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, r in results.items():
        met = "yes" if r["p99"] <= targets[name] else "**no**"
        lines.append(
            f"| {name} | {r['p50']:.3f} | {r['p99']:.3f} | {r['per_s']:.0f} | "
            f"≤ {targets[name]:g} ms | {met} |"
        )
    section = "\n".join([*lines, ""])
    print(section)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, section)


def opa_version() -> str:
    import subprocess

    try:
        out = subprocess.run(
            [find_opa(), "version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "version unknown"
    first = out.splitlines()[0] if out else "version unknown"
    return first.replace("Version: ", "OPA v")


if __name__ == "__main__":
    main()
