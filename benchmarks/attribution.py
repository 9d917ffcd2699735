"""Track attribution across a switch: today's slot symlinks read back vs nginx's own variable.

Not a test: run it by hand on an otherwise idle machine.

    uv run python benchmarks/attribution.py [--rate 5000] [--duration 30]
        [--update-docs | --doc PATH]

The weighted upstream as the local runtime renders it today (twenty `slot-NN.sock`
symlinks re-pointed to switch, no upstream keep-alive) in front of two nginx upstreams
that log the `$request_id` of every request they serve (the truth). The front logs
`$request_id $upstream_addr`; a follower reads that log every 100 ms, as a collector
would, and attributes each line by resolving its slot symlink at that moment. Every 5 s
the canary share moves 0 → 25 → 50 → 100 → 50 → 0 %. Misattributed = lines whose
resolved track is not the upstream that served them. The collector's own routing
(`benchmarks/collector.py`) logs the track nginx routed by, and misattributes none.

--update-docs replaces the "## Track attribution across a switch" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from _doc import add_doc_arguments, command_line, loadavg, provenance, replace_section, target_doc
from _live import free_port, nginx_binary
from collector import nginx_preamble, truth_upstreams, wait_accepting, wrk

HEADING = "## Track attribution across a switch"
SLOTS = 20
SHARES = [0, 5, 10, 20, 10]


def conf(root: Path, port: int) -> str:
    slots = "".join(
        f"        server unix:{root}/slot-{i:02d}.sock max_fails=0;\n" for i in range(SLOTS)
    )
    return f"""\
{nginx_preamble(root)}    log_format truth '$http_x_request_id';
    log_format front '$request_id $upstream_addr';
    upstream app_weighted {{
{slots}    }}
    server {{
        listen 127.0.0.1:{port};
        access_log {root}/front.log front;
        location / {{
            proxy_set_header X-Request-Id $request_id;
            proxy_pass http://app_weighted;
        }}
    }}
{truth_upstreams(root)}}}
"""


def point(root: Path, canary_slots: int) -> None:
    for i in range(SLOTS):
        track = "canary" if i < canary_slots else "stable"
        link, temp = root / f"slot-{i:02d}.sock", root / f".slot-{i:02d}.tmp"
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        os.symlink(root / f"up-{track}.sock", temp)
        os.replace(temp, link)


def follow(root: Path, guesses: dict[str, str], stop: threading.Event) -> None:
    """Read the front log every 100 ms and attribute each line by its slot's link now."""
    position, partial = 0, b""
    path = root / "front.log"
    while True:
        done = stop.is_set()
        with contextlib.suppress(FileNotFoundError), path.open("rb") as handle:
            handle.seek(position)
            data = handle.read()
            position += len(data)
            *lines, partial = (partial + data).split(b"\n")
            for line in lines:
                request_id, _, address = line.decode().partition(" ")
                target = os.readlink(address.removeprefix("unix:"))
                guesses[request_id] = "canary" if "up-canary" in target else "stable"
        if done:
            return
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--duration", type=int, default=30)
    add_doc_arguments(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (scripts/setup --tests installs it)")
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="sdba-") as tmp:
        root = Path(tmp)
        port = free_port()
        point(root, 0)
        (root / "nginx.conf").write_text(conf(root, port))
        nginx = [nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf"), "-e", "error.log"]
        subprocess.run([*nginx, "-t", "-q"], check=True, timeout=30)
        subprocess.run(nginx, check=True, timeout=30)
        guesses: dict[str, str] = {}
        stop, switching = threading.Event(), threading.Event()
        follower = threading.Thread(target=follow, args=(root, guesses, stop))
        switches = 0

        def switch() -> None:
            nonlocal switches
            while not switching.wait(5.0):
                switches += 1
                point(root, SHARES[switches % len(SHARES)])

        switcher = threading.Thread(target=switch)
        try:
            wait_accepting(port)
            follower.start()
            switcher.start()
            run = wrk(
                f"http://127.0.0.1:{port}/work",
                duration=args.duration,
                connections=max(10, args.rate // 50),
                rate=args.rate,
                workdir=root,
            )
            switching.set()
            switcher.join()
            time.sleep(0.5)
            stop.set()
            follower.join()
        finally:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
                os.kill(int((root / "nginx.pid").read_text()), signal.SIGQUIT)
        truth = {}
        for track in ("stable", "canary"):
            for request_id in (root / f"truth-{track}.log").read_text().split():
                truth[request_id] = track
    wrong = sum(1 for rid, track in truth.items() if guesses.get(rid, track) != track)
    unseen = sum(1 for rid in truth if rid not in guesses)
    text = "\n".join(
        [
            HEADING,
            "",
            *provenance(command_line("benchmarks/attribution.py"), load_before, loadavg()),
            f"{len(truth):,} requests at {run['rps']:,.0f} req/s for {args.duration} s through "
            f"today's slot symlinks, {switches} switches of the canary share (every 5 s).",
            "",
            "| attribution | misattributed |",
            "|---|---:|",
            f"| `$upstream_addr` (a slot), its symlink resolved when the line is read "
            f"(every 100 ms) | {wrong:,} ({wrong / max(len(truth), 1):.2%}), "
            f"{wrong / max(switches, 1):,.0f} per switch |",
            "| `$swiftdeploy_track`, the variable nginx routed by (benchmarks/collector.py) | 0 |",
            "",
            f"Lines never read: {unseen}.",
            "",
        ]
    )
    print(text)
    doc = target_doc(args)
    if doc is not None:
        replace_section(doc, text)


if __name__ == "__main__":
    main()
