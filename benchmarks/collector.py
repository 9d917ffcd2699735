"""The data-plane collector: cost, loss, memory, and the syslog transport it replaced.

Not a test: run it by hand on an otherwise idle machine.

    uv run python benchmarks/collector.py [--duration 10] [--repeat 3] [--rate 5000]
        [--loss-duration 60] [--hour-lines 3600000] [--update-docs | --doc PATH]

One nginx (1 worker, no upstream keep-alive, as the local runtime) with the collector's
routing (split_clients + marker files) in front of two nginx `return 200` upstreams on
Unix sockets, each logging what it served (the truth per track). Front servers:
  off       the same routing, access_log off
  file      the collector's log file, followed by the real collector process
  both      the collector's log file AND syslog datagrams to a Unix socket (the alternative)

  throughput   wrk at saturation, off and file alternated in the same run (--repeat times)
  latency      wrk at a fixed 1,000 req/s (wrk's delay()), off vs file: P50/P99
  loss         --rate req/s for --loss-duration s on `both`, the canary share switched every
               5 s (0→25→50→100→50→0 %): requests lost or misattributed per transport
  memory       --hour-lines synthetic lines spread over the last hour (1,000 req/s), read
               by a fresh collector: RSS, ingest rate, journal size, window-query time

--update-docs replaces the "## Data-plane collector" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc
from _live import free_port, nginx_binary
from service_throughput import parse_ms

from swiftdeploy.collector.nginx import directives, mark_slots

HEADING = "## Data-plane collector"
ROOT = Path(__file__).resolve().parents[1]
SHARES = [0, 5, 10, 20, 10]  # canary slots of 20 -> 0, 25, 50, 100, 50 %


def worker_user() -> str:
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"


def nginx_preamble(root: Path) -> str:
    """The top of a benchmark nginx.conf: one worker, every path under root, `http {` open."""
    return f"""\
{worker_user()}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
"""


def truth_upstreams(root: Path) -> str:
    """The two tracks' upstreams: nginx `return 200` servers logging what each one served."""
    return "".join(
        f"    server {{\n        listen unix:{root}/up-{t}.sock;\n"
        f"        access_log {root}/truth-{t}.log truth;\n"
        f"        location / {{ return 200 'ok'; }}\n    }}\n"
        for t in ("stable", "canary")
    )


def front_conf(root: Path, ports: dict[str, int]) -> str:
    d = directives(str(root / "collector.log"), route_dir=str(root / "route"))
    syslog = f"access_log syslog:server=unix:{root}/sys.sock,nohostname swiftdeploy_collector;"
    routing = d.location
    servers = []
    for name, port in ports.items():
        if name == "off":
            logs = "        access_log off;\n"
        elif name == "file":
            logs = d.server
        elif name == "buffered":
            logs = directives(str(root / "collector-buffered.log"), flush_ms=250).server
        else:
            logs = d.server + f"        {syslog}\n"
        servers.append(
            f"    server {{\n        listen 127.0.0.1:{port};\n{logs}"
            f"        location / {{\n{routing}        }}\n    }}\n"
        )
    return f"""\
{nginx_preamble(root)}    log_format truth '$msec';
{d.http}
    upstream app_stable {{ server unix:{root}/up-stable.sock max_fails=0; }}
    upstream app_canary {{ server unix:{root}/up-canary.sock max_fails=0; }}
{"".join(servers)}{truth_upstreams(root)}}}
"""


def wait_accepting(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing on port {port}")


def wrk(
    url: str, *, duration: int, connections: int, rate: int | None, workdir: Path
) -> dict[str, float]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if rate:
        # wrk waits delay() ms before each request of a connection, so each connection
        # sends one request per (delay + response time); ~1 ms of that is the response.
        pause = max(0.0, connections * 1000 / rate - 1.0)
        script = workdir / f"delay-{rate}-{connections}.lua"
        script.write_text(f"function delay() return {pause:.3f} end\n")
        argv += ["-s", str(script)]
    out = subprocess.run(
        [*argv, url], capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.M))
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (total and rps and len(lat) == 3):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return {
        "requests": float(total.group(1)),
        "rps": float(rps.group(1)),
        "p50": parse_ms(lat["50"]),
        "p99": parse_ms(lat["99"]),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


class Collector:
    """The real collector process, started as the lifecycle will start it."""

    def __init__(self, log: Path, state: Path, *, retention: int = 3600, flush_ms: int = 0) -> None:
        argv = [sys.executable, "-m", "swiftdeploy.collector", "--log", str(log)]
        argv += ["--state-dir", str(state), "--retention", str(retention)]
        argv += ["--log-flush-ms", str(flush_ms)]
        self.state = state
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = state / "collector.port"
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the collector did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in httpx.get(f"{self.url}/metrics", timeout=30).text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def per_track(self) -> dict[str, float]:
        totals = {"stable": 0.0, "canary": 0.0}
        for name, value in self.metrics().items():
            if name.startswith("swiftdeploy_requests_total{"):
                track = name.split('track="')[1].split('"')[0]
                totals[track] += value
        return totals

    def wait_lines(self, expected: float, timeout: float = 600) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.metrics().get("swiftdeploy_collector_lines_total", 0) >= expected:
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"the collector did not reach {expected} lines")

    def rss_mb(self) -> tuple[float, float]:
        proc = psutil.Process(self.proc.pid)
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        peak = re.search(r"VmHWM:\s+(\d+) kB", status)
        return proc.memory_info().rss / 2**20, (int(peak.group(1)) / 1024 if peak else 0.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def syslog_receiver(path: Path, counts: dict[str, int], stop: threading.Event) -> None:
    """What a syslog transport would run: count the datagrams nginx managed to send."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(str(path))
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        fields = data.split(b"sd1\t", 1)[-1].split(b"\t")
        track = fields[4].decode() if len(fields) > 4 else "garbage"
        counts[track] = counts.get(track, 0) + 1
    sock.close()


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def live_rig(workdir: Path, args: argparse.Namespace) -> dict[str, object]:
    root = workdir / "live"
    root.mkdir()
    (root / "route").mkdir()
    ports = {name: free_port() for name in ("off", "file", "buffered", "both")}
    (root / "nginx.conf").write_text(front_conf(root, ports))
    counts: dict[str, int] = {}
    stop = threading.Event()
    receiver = threading.Thread(target=syslog_receiver, args=(root / "sys.sock", counts, stop))
    receiver.start()
    nginx = [nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf"), "-e", "error.log"]
    subprocess.run([*nginx, "-t", "-q"], check=True, timeout=30)
    subprocess.run(nginx, check=True, timeout=30)
    collector: Collector | None = None
    buffered: Collector | None = None
    try:
        for port in ports.values():
            wait_accepting(port)
        collector = Collector(root / "collector.log", root / "state")
        buffered = Collector(root / "collector-buffered.log", root / "state-buffered", flush_ms=250)
        results: dict[str, object] = {}
        url = {name: f"http://127.0.0.1:{port}/work" for name, port in ports.items()}
        # -- throughput at saturation, off and file alternated ---------------------------
        runs: dict[str, list[dict[str, float]]] = {"off": [], "file": [], "buffered": []}
        for _ in range(args.repeat):
            for name, results_of in runs.items():
                results_of.append(
                    wrk(url[name], duration=args.duration, connections=32, rate=None, workdir=root)
                )
                time.sleep(0.5)
        results["throughput"] = runs
        # -- latency at a fixed 1,000 req/s ----------------------------------------------
        results["latency"] = {
            name: wrk(url[name], duration=args.duration, connections=10, rate=1000, workdir=root)
            for name in ("off", "file")
        }
        # -- loss and misattribution at --rate, with switches ----------------------------
        before_lines = collector.metrics()["swiftdeploy_collector_lines_total"]
        before_tracks = collector.per_track()
        before_truth = {t: count_lines(root / f"truth-{t}.log") for t in ("stable", "canary")}
        counts.clear()
        switching = threading.Event()

        def switch() -> None:
            index = 0
            while not switching.wait(5.0):
                index += 1
                mark_slots(root / "route", SHARES[index % len(SHARES)])

        switcher = threading.Thread(target=switch)
        switcher.start()
        connections = max(10, args.rate // 50)
        loss_run = wrk(
            url["both"],
            duration=args.loss_duration,
            connections=connections,
            rate=args.rate,
            workdir=root,
        )
        switching.set()
        switcher.join()
        mark_slots(root / "route", 0)
        truth = {
            t: count_lines(root / f"truth-{t}.log") - before_truth[t] for t in ("stable", "canary")
        }
        collector.wait_lines(before_lines + sum(truth.values()), timeout=120)
        seen = {t: v - before_tracks[t] for t, v in collector.per_track().items()}
        time.sleep(1.0)  # the last datagrams
        results["loss"] = {
            "wrk": loss_run,
            "truth": truth,
            "file": seen,
            "syslog": {t: counts.get(t, 0) for t in ("stable", "canary")},
            "connections": connections,
            "metrics": {
                k: v
                for k, v in collector.metrics().items()
                if k.startswith("swiftdeploy_collector")
            },
        }
        return results
    finally:
        for process in (collector, buffered):
            if process is not None:
                process.stop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            os.kill(int((root / "nginx.pid").read_text()), signal.SIGQUIT)
        stop.set()
        receiver.join()


def hour_of_series(workdir: Path, lines: int) -> dict[str, float]:
    """A fresh collector reading an hour-equivalent of lines at 1,000 req/s."""
    root = workdir / "hour"
    root.mkdir()
    log = root / "collector.log"
    now = time.time()
    rng = random.Random(7)
    span = min(3590.0, lines / 1000)
    statuses = [200] * 97 + [404, 500, 503]
    started = time.monotonic()
    with log.open("w") as handle:
        batch = []
        for i in range(lines):
            t = now - span + span * i / lines
            track = "canary" if i % 10 == 0 else "stable"
            batch.append(
                f"sd1\t{t:.3f}\t{rng.choice(statuses)}\t{rng.expovariate(50):.3f}\t0.010"
                f"\t{track}\t\t/api/{i % 50}\n"
            )
            if len(batch) == 10_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
    generated = time.monotonic() - started
    collector = Collector(log, root / "state")
    try:
        ingest_s = collector.wait_lines(lines)
        rss, peak = collector.rss_mb()
        timings = []
        with httpx.Client(timeout=10) as client:
            for _ in range(50):
                t0 = time.perf_counter()
                client.get(f"{collector.url}/v1/window", params={"track": "canary", "seconds": 30})
                timings.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            full = client.get(
                f"{collector.url}/v1/window", params={"track": "stable", "seconds": 3600}
            ).json()
            hour_ms = (time.perf_counter() - t0) * 1000
        time.sleep(1.5)  # one checkpoint
    finally:
        collector.stop()
    journal = root / "state" / "series.journal"
    return {
        "lines": lines,
        "span_s": span,
        "generate_s": generated,
        "ingest_s": ingest_s,
        "rss_mb": rss,
        "peak_mb": peak,
        "journal_kb": journal.stat().st_size / 1024,
        "window30_ms": statistics.median(timings),
        "window3600_ms": hour_ms,
        "hour_requests": float(full["requests"]),
        "log_mb": log.stat().st_size / 2**20,
        "log_disk_mb": log.stat().st_blocks * 512 / 2**20,
    }


def section(live: dict[str, object], hour: dict[str, float], load: tuple[str, str]) -> str:
    tp = live["throughput"]
    assert isinstance(tp, dict)
    off = statistics.median(r["rps"] for r in tp["off"])
    file = statistics.median(r["rps"] for r in tp["file"])
    buffered = statistics.median(r["rps"] for r in tp["buffered"])
    best_off, best_file, best_buffered = (max(r["rps"] for r in tp[k]) for k in tp)
    lat = live["latency"]
    assert isinstance(lat, dict)
    loss = live["loss"]
    assert isinstance(loss, dict)
    truth, seen, sys_seen = loss["truth"], loss["file"], loss["syslog"]
    total = sum(truth.values())
    lost_file = total - sum(seen.values())
    lost_sys = total - sum(sys_seen.values())
    mis_file = abs(seen["canary"] - truth["canary"]) if lost_file == 0 else float("nan")
    w = loss["wrk"]
    m = loss["metrics"]
    lines = [
        HEADING,
        "",
        *provenance(command_line("benchmarks/collector.py"), *load),
        "One nginx worker with the collector's routing (split_clients + per-slot marker "
        "files, no upstream keep-alive as in the local runtime) in front of two nginx "
        "`return 200` upstreams on Unix sockets that log what they served (the truth per "
        "track); the real collector process follows the log file.",
        "",
        "### Throughput at saturation (wrk -c32, same run, alternated)",
        "",
        "| front server | req/s (median) | best run | runs, in order |",
        "|---|---:|---:|---|",
        *[
            f"| {label} | {statistics.median(r['rps'] for r in tp[key]):,.0f} | "
            f"{max(r['rps'] for r in tp[key]):,.0f} | "
            + ", ".join(f"{r['rps']:,.0f}" for r in tp[key])
            + " |"
            for key, label in (
                ("off", "routing, access_log off"),
                ("file", "routing + collector log + collector"),
                ("buffered", "same, nginx log `buffer=64k flush=250ms`"),
            )
        ],
        "",
        f"With the collector, median of runs: {file / off:.1%} of without (loss "
        f"{1 - file / off:.1%}); best run against best run: {best_file / best_off:.1%}; "
        f"buffered log: {buffered / off:.1%} (median), {best_buffered / best_off:.1%} (best). "
        "Ratio within each round (the three runs back to back): "
        + ", ".join(
            f"{f['rps'] / o['rps']:.0%}" for o, f in zip(tp["off"], tp["file"], strict=True)
        )
        + ". The collector process shares the 2 CPUs with nginx and wrk.",
        "",
        "### Latency added per request (wrk at 1,000 req/s)",
        "",
        "| front server | P50 ms | P99 ms |",
        "|---|---:|---:|",
        f"| access_log off | {lat['off']['p50']:.3f} | {lat['off']['p99']:.3f} |",
        f"| collector log | {lat['file']['p50']:.3f} | {lat['file']['p99']:.3f} |",
        "",
        f"### Lost and misattributed requests ({w['rps']:,.0f} req/s achieved for "
        f"{w['requests'] / max(w['rps'], 1):.0f} s, canary share switched every 5 s)",
        "",
        "| transport | stable | canary | lost | misattributed |",
        "|---|---:|---:|---:|---:|",
        f"| truth (what each upstream served) | {truth['stable']:,} | {truth['canary']:,} | | |",
        f"| log file + collector | {seen['stable']:,.0f} | {seen['canary']:,.0f} | "
        f"{lost_file:,.0f} | {mis_file:,.0f} |",
        f"| syslog datagrams (same requests) | {sys_seen['stable']:,} | {sys_seen['canary']:,} | "
        f"{lost_sys:,} ({lost_sys / max(total, 1):.1%}) | |",
        "",
        f"wrk: {w['requests']:,.0f} requests, {w['non2xx']:.0f} non-2xx, "
        f"{loss['connections']} connections. Collector counters: "
        f"unparseable {m.get('swiftdeploy_collector_unparseable_lines_total', 0):.0f}, "
        f"journal errors {m.get('swiftdeploy_collector_journal_errors_total', 0):.0f}.",
        "",
        f"### Memory and disk after an hour-equivalent ({hour['lines']:,.0f} lines over "
        f"{hour['span_s']:.0f} s)",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| collector RSS after ingest | {hour['rss_mb']:.1f} MB |",
        f"| collector peak RSS (VmHWM) | {hour['peak_mb']:.1f} MB |",
        f"| ingest rate (one process) | {hour['lines'] / hour['ingest_s']:,.0f} lines/s |",
        f"| journal on disk | {hour['journal_kb']:,.0f} KiB |",
        f"| log file: length / blocks on disk | {hour['log_mb']:,.0f} MB / "
        f"{hour['log_disk_mb']:,.0f} MB |",
        f"| window query, 30 s (median of 50, HTTP) | {hour['window30_ms']:.2f} ms |",
        f"| window query, 3,600 s | {hour['window3600_ms']:.1f} ms |",
        f"| stable requests in the 3,600 s window | {hour['hour_requests']:,.0f} |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--loss-duration", type=int, default=60)
    parser.add_argument("--hour-lines", type=int, default=3_600_000)
    add_doc_arguments(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (scripts/setup --tests installs it)")
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="sdbc-") as tmp:
        workdir = Path(tmp)
        live = live_rig(workdir, args)
        print(json.dumps({"live": live}, default=str), file=sys.stderr, flush=True)
        hour = hour_of_series(workdir, args.hour_lines)
    text = section(live, hour, (load_before, loadavg()))
    print(text)
    print(json.dumps({"live": live, "hour": hour}, default=str), file=sys.stderr)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, text)


if __name__ == "__main__":
    main()
