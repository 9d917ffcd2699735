"""`python -m swiftdeploy.collector --log PATH --state-dir DIR [--port P] ...`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from swiftdeploy.collector.core import DEFAULT_EXCLUDED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m swiftdeploy.collector",
        description="Measure every request nginx proxied, per track, from its collector log.",
    )
    parser.add_argument("--log", type=Path, required=True, help="nginx's collector log file")
    parser.add_argument(
        "--state-dir", type=Path, required=True, help="where the journal and pid file live"
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to serve on")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see collector.port)")
    parser.add_argument(
        "--prefer-port", type=int, default=0, help="with --port 0: try this port first"
    )
    parser.add_argument("--retention", type=int, default=3600, help="seconds of series kept")
    parser.add_argument(
        "--exclude-path",
        action="append",
        default=None,
        help=f"a path kept out of the analysis (repeatable; default {' '.join(DEFAULT_EXCLUDED)})",
    )
    parser.add_argument(
        "--log-flush-ms",
        type=int,
        default=0,
        help="nginx's access_log flush= for a buffered log (0: unbuffered)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    for flag, port in (("--port", args.port), ("--prefer-port", args.prefer_port)):
        if not 0 <= port <= 65535:
            parser.error(f"{flag} must be 0-65535, got {port}")
    if not 60 <= args.retention <= 7 * 86400:
        parser.error(f"--retention must be 60 s to 7 days, got {args.retention}")
    if not 0 <= args.log_flush_ms <= 10_000:
        parser.error(f"--log-flush-ms must be 0-10000, got {args.log_flush_ms}")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error(f"--host must be a loopback address, got {args.host}")
    from swiftdeploy.collector.server import CollectorProcess, Settings

    settings = Settings(
        log=args.log.resolve(),
        state_dir=args.state_dir.resolve(),
        host=args.host,
        port=args.port,
        preferred_port=args.prefer_port,
        retention_s=args.retention,
        excluded_paths=tuple(args.exclude_path or DEFAULT_EXCLUDED),
        log_flush_s=args.log_flush_ms / 1000,
    )
    try:
        process = CollectorProcess(settings)
    except OSError as exc:
        print(f"collector: cannot start: {exc}", file=sys.stderr)
        return 1
    process.install_signal_handlers()
    process.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
