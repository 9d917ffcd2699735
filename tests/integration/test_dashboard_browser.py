"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against a real
local deployment (real nginx, real service processes) with a progressive rollout running.

Set SWIFTDEPLOY_DASHBOARD_SCREENSHOTS=DIR to keep a screenshot of each of the three main
states (rollout live, read-only, not running); docs/dashboard/ holds the ones shown there.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dashboard_support import dashboard
from lifecycle_support import Load, Project

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("SWIFTDEPLOY_DASHBOARD_SCREENSHOTS")


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed (scripts/setup --tests installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def progressive(project: Project) -> None:
    yaml = YAML()
    document = yaml.load(project.manifest.read_text())
    document["canary"] = {"steps": [20, 50, 100], "interval": "3s", "max_failed_checks": 2}
    with project.manifest.open("w") as handle:
        yaml.dump(document, handle)
    data = project.root / "policies" / "canary" / "data.json"
    data.write_text(json.dumps({**json.loads(data.read_text()), "min_requests": 20}))


def rollout_phase(project: Project) -> str:
    path = project.root / ".swiftdeploy" / "rollout.json"
    try:
        return str(json.loads(path.read_text())["phase"])
    except (FileNotFoundError, ValueError, KeyError):
        return ""


def shot(page: object, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)  # type: ignore[attr-defined]


def test_the_page_follows_a_rollout_live_and_steers_it_with_the_token(
    project: Project, browser: object
) -> None:
    progressive(project)
    project.ok("deploy")
    with dashboard(project) as dash, Load(project.port, threads=2):
        context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        page = context.new_page()
        page.set_default_timeout(90_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{dash.url}/#token={dash.token}")
        page.wait_for_selector("#track-stable")
        assert page.url == f"{dash.url}/"  # the token left the address bar at once
        assert page.is_visible("#controls")

        rollout = subprocess.Popen(
            project.argv("promote", "canary", "--version", "2.0.0"),
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            page.wait_for_selector("#track-canary[data-version='2.0.0']")
            assert page.text_content("#track-stable .track-name") == "stable"
            # A step's verdict appears without reloading the page.
            page.wait_for_selector("#rollout-steps .step[data-status='passed'] .pill:text('pass')")
            page.click("#btn-pause")
            page.wait_for_selector("#rollout-phase :text('paused')")
            assert rollout_phase(project) == "paused"
            # The exact input the policy judged, one click away, and kept open across updates.
            page.click("#decisions li:first-child summary")
            page.wait_for_selector("#decisions li:first-child pre:text('request_count')")
            rendered = page.get_attribute("body", "data-rendered")
            for _ in range(300):  # the next snapshot re-renders every panel
                if page.get_attribute("body", "data-rendered") != rendered:
                    break
                page.wait_for_timeout(100)
            assert page.get_attribute("body", "data-rendered") != rendered
            assert page.is_visible("#decisions li:first-child pre")
            shot(page, "rollout.png")
            page.click("#btn-resume")
            page.wait_for_selector("#rollout-phase :text('progressing')")
            assert page.text_content("#control-result") == (
                "resume requested: the running rollout picks it up"
            )
            project.ok("promote", "--abort")
            output, _ = rollout.communicate(timeout=120)
        finally:
            if rollout.poll() is None:
                rollout.kill()
                rollout.communicate()
        assert "aborted" in output
        page.wait_for_selector("#rollout-phase :text('aborted')")
        page.wait_for_selector("#timeline li[data-type='dashboard_action']")
        context.close()
        assert errors == []
    via = [e for e in project.history() if e["type"] == "dashboard_action"]
    assert [(e["action"], e["ok"], e["via"]) for e in via] == [
        ("pause", True, "dashboard"),
        ("resume", True, "dashboard"),
    ]


def test_a_read_only_page_refuses_controls_and_a_stopped_one_says_not_running(
    project: Project, browser: object
) -> None:
    project.ok("deploy")
    with dashboard(project, "--read-only") as dash:
        context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 390, "height": 844}, color_scheme="dark"
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{dash.url}/#token=guessed")
        page.wait_for_selector("#track-stable")
        assert not page.is_visible("#controls")
        assert not page.is_visible("#token-form")
        assert "Read-only dashboard" in (page.text_content("#readonly-note") or "")
        status = page.evaluate(
            """async () => (await fetch('/api/control/rollback', {method: 'POST',
                 headers: {'Authorization': 'Bearer guessed'}})).status"""
        )
        assert status == 403
        shot(page, "read-only.png")
        project.ok("teardown")
        page.wait_for_selector("#not-running")
        assert page.text_content("#run-state") == "not running"
        page.set_viewport_size({"width": 1280, "height": 800})
        shot(page, "not-running.png")
        context.close()
    assert not [e for e in project.history() if e["type"] == "dashboard_action"]
