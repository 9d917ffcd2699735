"""Any HTTP service, not only the demo: a stock server (uvicorn on a Unix socket) running an
app SwiftDeploy did not write, behind the real nginx on the local runtime.

The app has no /healthz, no JSON and no /metrics; `services.health.path: /` makes it
deployable and `services.env` gives it its configuration.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle_support import Load, Project, make_project, running
from swiftdeploy.manifest import load_manifest, parse_manifest

pytestmark = pytest.mark.integration

APP_DIR = Path(__file__).resolve().parent / "stock_service"
SERVICE_SETTINGS = """\
  health:
    path: /
    status: 200-299
    timeout: 1s
    interval: 500ms
    start_timeout: 4s
  env:
    GREETING: "hello $HOME, from the manifest"
"""


def uvicorn(app: str) -> str:
    """The manifest's local.command line: a stock server from PyPI on the instance socket."""
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(APP_DIR), "--uds", "{socket}"]
    argv += ["--lifespan", "off", "--no-access-log", app]
    return f"local:\n  command: {json.dumps(argv)}\n"


def use_command(project: Project, app: str) -> None:
    """Point local.command at another app: the next instance SwiftDeploy starts runs it."""
    text = project.manifest.read_text()
    project.manifest.write_text(text[: text.index("local:\n")] + uvicorn(app))


@pytest.fixture
def stock(tmp_path: Path, port: int, nginx_bin: str) -> Iterator[Project]:
    project = make_project(tmp_path, port, nginx_bin, extra=uvicorn("stock_app:app"))
    text = project.manifest.read_text()
    version_line = '  version: "1.0.0"\n'
    project.manifest.write_text(text.replace(version_line, version_line + SERVICE_SETTINGS))
    project.ok("init")  # the rendered files follow services.env
    try:
        yield project
    finally:
        project.teardown_and_check()


def test_a_stock_service_deploys_takes_a_canary_and_is_rolled_back(stock: Project) -> None:
    out = stock.ok("deploy")
    assert "is healthy (mode=stable)" in out, out
    first = stock.get("/")
    assert first.status_code == 200
    # services.env reached the process, `$` and all (no shell, no interpolation).
    assert first.text == "v1 hello $HOME, from the manifest"
    assert stock.get("/metrics").status_code == 404  # no metrics, and it deployed anyway

    use_command(stock, "stock_app:app_v2")
    with Load(stock.port) as load:
        out = stock.ok("promote", "canary")
        assert "is healthy (mode=canary)" in out, out
        assert stock.get("/", **{"X-Canary": "always"}).text.startswith("v2 ")
        assert stock.get("/", **{"X-Canary": "never"}).text.startswith("v1 ")
        stock.ok("rollback")
    assert load.total > 20
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert stock.state()["canary"] is None
    assert stock.get("/", **{"X-Canary": "always"}).text.startswith("v1 ")


def test_promote_canary_command_writes_local_command_and_rollback_restores_it(
    stock: Project,
) -> None:
    stock.ok("deploy")
    before = stock.manifest.read_text()
    line = shlex.join(json.loads(uvicorn("stock_app:app_v2").split("command: ", 1)[1]))
    out = stock.ok("promote", "canary", "--command", line, "--version", "1.1.0")
    assert "is healthy (mode=canary)" in out, out
    assert stock.get("/", **{"X-Canary": "always"}).text.startswith("v2 ")
    assert stock.get("/", **{"X-Canary": "never"}).text.startswith("v1 ")
    written = load_manifest(stock.manifest)
    assert written.local.command == shlex.split(line)
    assert written.services.version == "1.1.0"
    assert "# the operator's comment survives" in stock.manifest.read_text()
    stock.ok("rollback")
    # Back to what stable runs: its command line and version, comments kept.
    assert load_manifest(stock.manifest).local == parse_manifest(before.encode()).local
    assert load_manifest(stock.manifest).services.version == "1.0.0"
    assert stock.get("/", **{"X-Canary": "always"}).text.startswith("v1 ")


def test_a_canary_that_never_passes_is_stopped_and_stable_is_untouched(stock: Project) -> None:
    stock.ok("deploy")
    before = stock.state()
    stable_id = before["stable"]
    assert isinstance(stable_id, str)

    use_command(stock, "stock_app:warming")
    result = stock.run("promote", "canary")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # The reason is its last health answer: status, body and the range it had to be in.
    assert "did not become healthy within 4s: / answered 503: warming up (wanted 200-299)" in (
        result.stderr
    ), result.stderr

    after = stock.state()
    assert after["canary"] is None
    assert after["stable"] == stable_id
    instances = after["instances"]
    assert isinstance(instances, dict)
    assert list(instances) == [stable_id]
    assert instances[stable_id] == before["instances"][stable_id]  # type: ignore[index]
    assert running(int(instances[stable_id]["pid"]))
    # No canary process survives, and every request still reaches stable.
    assert not {pid for pid in stock.stray_pids() if "stock_app:warming" in " ".join(_cmdline(pid))}
    for pin in ("always", "never"):
        assert stock.get("/", **{"X-Canary": pin}).text.startswith("v1 ")


def _cmdline(pid: int) -> list[str]:
    import psutil

    try:
        return psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return []
