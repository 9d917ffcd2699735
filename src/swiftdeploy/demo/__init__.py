"""The instrumented demo service SwiftDeploy deploys (stand-in for a production service).

Start it with `python -m swiftdeploy.demo` or `swiftdeploy demo-service`; configuration comes
from MODE, APP_VERSION, APP_PORT, APP_SOCKET, CHAOS_TOKEN and METRICS_ENABLED.
"""

from __future__ import annotations

from swiftdeploy.demo.app import DemoApp, create_app
from swiftdeploy.demo.settings import Settings

__all__ = ["DemoApp", "Settings", "create_app"]
