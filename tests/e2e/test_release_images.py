"""Each track runs its own image, pinned by ID, on the real Docker Engine (compose runtime).

A second demo image that really differs (a build argument changes its welcome message, a
label marks it) is released as `swift-deploy-1-node:1.1.0`: as a canary beside stable,
rolled back, released again; moving the stable tag and restarting the stable container does
not change what stable runs; promoted, every response comes from the new image. A keep-alive
load that never retries sees 0 failed requests through the whole sequence.
"""

from __future__ import annotations

import json
import time

import pytest
from e2e_support import NEW, NEW_WELCOME, Releases, Stack, docker, pinned, welcome

from kill_after_start import killed_after_start
from lifecycle_support import Load

pytestmark = pytest.mark.e2e


def test_each_track_runs_its_own_pinned_image(stack: Stack, releases: Releases) -> None:
    old, new = releases.old, releases.new
    assert old != new
    labels = json.loads(docker(stack.env, "image", "inspect", "--format",
                               "{{json .Config.Labels}}", NEW))  # fmt: skip
    assert labels["org.swiftdeploy.release"] == "1.1.0"
    releases.use_tag(stack)
    stack.ok("deploy")
    assert pinned(stack, "stable")["id"] == old
    with Load(stack.port, threads=2) as load:
        # A canary of the new image, and the way back.
        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        assert f"image: {NEW}" in stack.manifest.read_text()
        assert pinned(stack, "canary")["id"] == new
        assert welcome(stack, **{"X-Canary": "always"}).startswith(NEW_WELCOME)
        assert welcome(stack, **{"X-Canary": "never"}) == "Welcome to SwiftDeploy [stable]"
        rolled = stack.ok("rollback")
        assert "manifest.yaml set back to what stable runs" in rolled, rolled
        assert f"image: {releases.tag}" in stack.manifest.read_text()
        assert pinned(stack, "stable")["id"] == old
        assert welcome(stack) == "Welcome to SwiftDeploy [stable]"

        # Released again; then the stable tag is moved and the stable container restarted.
        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        docker(stack.env, "tag", NEW, releases.tag)
        stable_container = stack.container("app")
        docker(stack.env, "restart", stable_container)
        assert stack.inspect(stable_container)["Image"] == old
        stack.ok("deploy")  # a canary runs: deploy replaces nothing
        assert stack.inspect(stack.container("app"))["Image"] == old
        assert welcome(stack, **{"X-Canary": "never"}) == "Welcome to SwiftDeploy [stable]"

        stack.ok("promote", "stable", "--window", "3")
    assert load.total > 100
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert pinned(stack, "stable")["id"] == new
    assert stack.inspect(stack.container("app"))["Image"] == new
    for pin in ({}, {"X-Canary": "never"}, {"X-Canary": "always"}):
        for _ in range(5):
            assert welcome(stack, **pin).startswith(NEW_WELCOME), pin
    events = [e for e in stack.history() if e["type"] in ("promote", "rollback")]
    assert events[-1]["artifacts"]["stable"]["id"] == new


def test_a_canary_a_killed_command_started_is_stopped_by_what_it_runs(
    stack: Stack, releases: Releases
) -> None:
    """kill -9 between "canary started" and "state saved": the next command finds the
    container by the image ID it runs, stops it, and stable is untouched."""
    releases.use_tag(stack)
    stack.ok("deploy")
    killed_after_start("compose", "canary", stack.manifest, "promote", "canary", "--image", NEW,
                       "--version", "1.1.0", env=stack.env, timeout=300)  # fmt: skip
    orphan = stack.container("app-canary")
    assert stack.inspect(orphan)["Image"] == releases.new
    state = stack.state()
    assert (state["pending"], state["canary"]) == ("promote canary", None)

    out = stack.ok("rollback")
    runs = f"({releases.new.removeprefix('sha256:')[:12]})"  # how an artifact is named
    assert f"reconcile: stopping orphan-{orphan[:12]}" in out, out
    assert f"{runs} v1.1.0" in out, out
    (event,) = [e for e in stack.history() if e["type"] == "reconcile"]
    assert event["stopped_artifacts"][f"orphan-{orphan[:12]}"]["id"] == releases.new
    assert docker(stack.env, "ps", "-q", "--filter", f"id={orphan}").strip() == ""
    assert pinned(stack, "stable")["id"] == releases.old
    assert welcome(stack) == "Welcome to SwiftDeploy [stable]"


def test_a_promotion_killed_after_replacing_stable_is_finished_by_the_next_one(
    stack: Stack, releases: Releases
) -> None:
    """kill -9 right after `promote stable` recreated the stable service's container (the
    old one is gone): the next command adopts the new one as stable, by the image ID it runs,
    and the promotion run again completes; no request fails meanwhile."""
    releases.use_tag(stack)
    stack.ok("deploy")
    with Load(stack.port, threads=2) as load:
        stack.ok("promote", "canary", "--image", NEW, "--version", "1.1.0")
        time.sleep(4)  # the window promote stable judges
        killed_after_start("compose", "stable", stack.manifest, "promote", "stable",
                           "--window", "3", env=stack.env, timeout=300)  # fmt: skip
        assert stack.inspect(stack.container("app"))["Image"] == releases.new

        status = json.loads(stack.ok("status", "--once", "--json"))
        assert [t["artifact"].split(" (")[1][:12] for t in status["tracks"]] == [
            releases.new.removeprefix("sha256:")[:12]
        ] * 2, status["tracks"]
        # Run again at once: its reconcile routes the canary's share back to the canary
        # track, whose last 3 s were (nearly) all served as stable's while stable was replaced.
        again = stack.run("promote", "stable", "--window", "3")
        assert again.returncode == 1, again.stdout + again.stderr
        assert "reconcile: the interrupted 'promote stable' was rolled back" in again.stdout
        assert "[DENY] inconclusive: " in again.stdout, again.stdout
        time.sleep(4)
        stack.ok("promote", "stable", "--window", "3")
    assert load.failures == 0, (load.statuses, load.errors[:3])
    assert pinned(stack, "stable")["id"] == releases.new
    state = stack.state()
    assert (state["canary"], state["pending"], len(state["instances"])) == (None, None, 1)
    for pin in ({}, {"X-Canary": "never"}, {"X-Canary": "always"}):
        assert welcome(stack, **pin).startswith(NEW_WELCOME), pin
