"""A container a killed command started is recorded by what `docker inspect` says it runs
(no Docker here: the inspect documents are written out as Docker prints them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seed_support import seed_text
from swiftdeploy._process import Completed
from swiftdeploy.runtime import container_orphans
from swiftdeploy.state import DeploymentState, InstanceRecord

IMAGE_ID = "sha256:" + "3fa2c1d4e5f6" + "0" * 52
CANARY = "c" * 64
STABLE = "5" * 64


def inspected(container: str, **config: Any) -> dict[str, Any]:
    env = config.pop("env", ["MODE=canary", "APP_VERSION=1.1.0", "SWIFTDEPLOY_INSTANCE=canary-1"])
    return {
        "Id": container,
        "Image": config.pop("image_id", IMAGE_ID),
        "State": {"Running": config.pop("running", True), "Pid": 4242},
        "Config": {"Image": config.pop("ref", IMAGE_ID), "Env": env},
    }


def test_the_record_names_the_image_id_the_container_was_created_from() -> None:
    info = inspected(CANARY, ref="myorg/api:1.1.0")
    record = container_orphans.orphan_record(
        info, address="app-canary:3000", instance_env="SWIFTDEPLOY_INSTANCE"
    )
    assert record == InstanceRecord(
        id="canary-1",
        track="canary",
        mode="canary",
        version="1.1.0",
        pid=4242,
        address="app-canary:3000",
        log=f"docker logs {CANARY[:12]}",
        container=CANARY,
        artifact={"kind": "image", "ref": "myorg/api:1.1.0", "id": IMAGE_ID, "version": "1.1.0"},
    )
    assert record.pinned() is not None
    assert record.pinned().describe() == "myorg/api:1.1.0 (3fa2c1d4e5f6) v1.1.0"  # type: ignore[union-attr]


def test_without_an_instance_variable_the_record_is_named_after_its_container() -> None:
    record = container_orphans.orphan_record(inspected(CANARY), address="app-canary:3000")
    assert record is not None
    assert record.id == f"orphan-{CANARY[:12]}"
    assert record.artifact == {"kind": "image", "ref": IMAGE_ID, "id": IMAGE_ID, "version": "1.1.0"}


@pytest.mark.parametrize(
    "changes",
    [{"env": ["MODE=canary"]}, {"image_id": ""}, {"ref": ""}],
    ids=["no version", "no image id", "no reference"],
)
def test_a_container_that_does_not_say_what_it_runs_is_unknown(changes: dict[str, Any]) -> None:
    record = container_orphans.orphan_record(inspected(CANARY, **changes), address="a:1")
    assert record is not None
    assert record.artifact is None


def test_a_stopped_container_is_not_an_orphan() -> None:
    assert container_orphans.orphan_record(inspected(CANARY, running=False), address="a:1") is None


def test_adopt_records_only_the_containers_the_state_does_not_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = {CANARY: inspected(CANARY), STABLE: inspected(STABLE, env=["MODE=stable"])}
    monkeypatch.setattr(container_orphans.docker, "inspect", documents.get)
    stable = InstanceRecord(
        id="stable-1", track="stable", mode="stable", version="1.0.0", pid=1,
        address="app:3000", container=STABLE,
    )  # fmt: skip
    state = DeploymentState(instances={"stable-1": stable}, stable="stable-1")
    container_orphans.adopt(
        state, [STABLE, CANARY, "gone"], address="app-canary:3000",
        instance_env="SWIFTDEPLOY_INSTANCE",
    )  # fmt: skip
    assert sorted(state.instances) == ["canary-1", "stable-1"]
    assert state.instances["canary-1"].artifact is not None
    assert (state.stable, state.canary) == ("stable-1", None)  # reconcile stops the orphan


@pytest.mark.parametrize("pending", [None, "promote canary"])
def test_compose_load_adopts_the_canary_container_of_an_interrupted_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pending: str | None
) -> None:
    from swiftdeploy.manifest import load_manifest
    from swiftdeploy.project import Project
    from swiftdeploy.runtime.compose.runtime import ComposeRuntime

    (tmp_path / "manifest.yaml").write_text(seed_text())
    project = Project.at(tmp_path / "manifest.yaml")
    runtime = ComposeRuntime(project, load_manifest(project.manifest_path))
    documents = {CANARY: inspected(CANARY, ref="myorg/api:1.1.0")}
    monkeypatch.setattr(container_orphans.docker, "inspect", documents.get)
    asked: list[tuple[str, ...]] = []

    def compose(state: DeploymentState, *args: str, **_: object) -> Completed:
        asked.append(args)
        listed = f"{CANARY}\n" if args[-1] == "app-canary" else ""
        return Completed(["docker", "compose", *args], 0, listed, "")

    monkeypatch.setattr(runtime, "_compose", compose)
    runtime.save(DeploymentState(pending=pending))
    state = runtime.load()
    if pending is None:  # nothing was interrupted: nothing is looked for
        assert (state.instances, asked) == ({}, [])
        return
    assert asked == [("ps", "-q", "app-canary"), ("ps", "-q", "app")]
    (record,) = state.instances.values()
    assert (record.id, record.container, record.address) == (
        f"orphan-{CANARY[:12]}",
        CANARY,
        "app-canary:3000",
    )
    assert record.pinned().describe() == "myorg/api:1.1.0 (3fa2c1d4e5f6) v1.1.0"  # type: ignore[union-attr]


def _stable_record(container: str) -> InstanceRecord:
    return InstanceRecord(
        id="stable-1", track="stable", mode="stable", version="1.0.0", pid=1,
        address="app:3000", container=container,
    )  # fmt: skip


def test_the_stable_services_unsaved_container_is_stable_once_no_recorded_one_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """promote stable killed after it replaced the stable service's container: the old one
    is gone (dropped from the state), the new one runs the canary's artifact."""
    new = "9" * 64
    documents = {
        CANARY: inspected(CANARY),
        new: inspected(new, env=["MODE=stable", "APP_VERSION=1.1.0"], ref="myorg/api:1.1.0"),
    }
    monkeypatch.setattr(container_orphans.docker, "inspect", documents.get)
    canary = container_orphans.orphan_record(inspected(CANARY), address="app-canary:3000")
    assert canary is not None
    state = DeploymentState(instances={canary.id: canary}, canary=canary.id, canary_weight=100)
    listed = {"app-canary": [CANARY], "app": [new]}
    container_orphans.adopt_unsaved(
        state, {"canary": "app-canary", "stable": "app"}, listed.__getitem__, port=3000
    )
    stable = state.stable_instance()
    assert stable is not None
    assert (stable.id, stable.track, stable.container, stable.address) == (
        f"orphan-{new[:12]}", "stable", new, "app:3000",
    )  # fmt: skip
    assert stable.pinned().describe() == "myorg/api:1.1.0 (3fa2c1d4e5f6) v1.1.0"  # type: ignore[union-attr]
    assert state.canary == canary.id  # untouched: reconcile and the operator finish it


def test_an_unsaved_stable_container_beside_a_running_recorded_stable_is_an_orphan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new = "9" * 64
    documents = {STABLE: inspected(STABLE), new: inspected(new, env=["MODE=stable"])}
    monkeypatch.setattr(container_orphans.docker, "inspect", documents.get)
    state = DeploymentState(instances={"stable-1": _stable_record(STABLE)}, stable="stable-1")
    container_orphans.adopt_unsaved(
        state, {"stable": "app"}, lambda service: [STABLE, new], port=3000
    )
    assert state.stable == "stable-1"  # reconcile stops the new one: it is under no pointer
    assert sorted(state.instances) == [f"orphan-{new[:12]}", "stable-1"]


def test_two_unsaved_stable_containers_cannot_be_told_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = "8" * 64, "9" * 64
    documents = {c: inspected(c, env=["MODE=stable"]) for c in (first, second)}
    monkeypatch.setattr(container_orphans.docker, "inspect", documents.get)
    state = DeploymentState()
    container_orphans.adopt_unsaved(
        state, {"stable": "app"}, lambda service: [first, second], port=3000
    )
    assert state.stable is None
    assert len(state.instances) == 2
