"""The data-plane collector: every request nginx proxied, measured per track.

nginx appends one line per request to a log file (`nginx.py` renders the directives); the
resident process (`python -m swiftdeploy.collector`) follows that file (`tail.py`), folds each
line into 1-second buckets per track (`series.py`), persists them in an append-only journal
(`journal.py`), and serves Prometheus exposition and a window query on loopback (`server.py`).
The gate reads the same figures over HTTP or straight from the journal (`query.py`).

Why a tailed file and not syslog datagrams: docs/collector.md.
"""
