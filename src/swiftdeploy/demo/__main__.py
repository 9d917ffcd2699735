"""`python -m swiftdeploy.demo [--server granian|uvicorn] [--openapi]`.

Routed through the CLI so configuration errors print one line and exit 2, like every verb.
"""

from __future__ import annotations

import sys

from swiftdeploy.cli.main import main

if __name__ == "__main__":
    main(["demo-service", *sys.argv[1:]])
