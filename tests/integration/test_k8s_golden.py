"""Kubernetes renderings: golden files, the ConfigMap's nginx.conf under the real `nginx -t`,
and the hardening policy on the real OPA (opa test / fmt / check, and `opa eval` agreeing
with the embedded engine on ours and on weakened copies).

Regenerate after an intended change with `scripts/regen-golden` and review the diff.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from swiftdeploy.kubernetes.documents import load_documents, render_kubernetes
from swiftdeploy.kubernetes.hardening import HARDENING_DOMAIN, check_hardening, hardening_dir
from swiftdeploy.kubernetes.write import policy_files_for
from swiftdeploy.manifest import load_manifest

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "manifest.yaml").is_file())
FOLDERS = {"nginx": "k8s", "gateway": "k8s-gateway"}
# Fixed stand-in policies for OPA's ConfigMap (not the shipped ones, which change on their own).
GOLDEN_POLICIES = GOLDEN / "k8s-policies"
REGEN = os.environ.get("SWIFTDEPLOY_REGEN_GOLDEN") == "1"


def renderings(case: str, traffic: str) -> dict[str, str]:
    path = GOLDEN / case / "manifest.yaml"
    policies, policy_digest = policy_files_for(GOLDEN_POLICIES)
    return render_kubernetes(
        load_manifest(path),
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        policies=policies,
        policy_digest=policy_digest,
        traffic="gateway" if traffic == "gateway" else "nginx",
    )


@pytest.mark.parametrize("traffic", sorted(FOLDERS))
@pytest.mark.parametrize("case", CASES)
def test_kubernetes_renderings_match_the_golden_files(case: str, traffic: str) -> None:
    folder = GOLDEN / case / FOLDERS[traffic]
    rendered = renderings(case, traffic)
    if REGEN:
        folder.mkdir(exist_ok=True)
        for stale in {p.name for p in folder.glob("*.yaml")} - set(rendered):
            (folder / stale).unlink()
        for name, text in rendered.items():
            (folder / name).write_text(text, encoding="utf-8")
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(rendered), (
        f"{case}/{FOLDERS[traffic]}: run scripts/regen-golden"
    )
    for name, text in rendered.items():
        assert (folder / name).read_text(encoding="utf-8") == text, (
            f"{case}/{FOLDERS[traffic]}/{name}: run scripts/regen-golden"
        )


def golden_objects(case: str, traffic: str) -> list[dict[str, Any]]:
    return load_documents(sorted((GOLDEN / case / FOLDERS[traffic]).glob("*.yaml")))


@pytest.mark.parametrize("case", CASES)
def test_configmap_nginx_conf_passes_nginx_t(case: str, tmp_path: Path, nginx_bin: str) -> None:
    [config] = [
        o
        for o in golden_objects(case, "nginx")
        if o["kind"] == "ConfigMap" and "nginx.conf" in o.get("data", {})
    ]
    text = config["data"]["nginx.conf"]
    # Cluster DNS names do not resolve here: point them at loopback, as the compose test does.
    assert re.search(r"server [a-z0-9-]+\.swiftdeploy\.svc\.cluster\.local:[0-9]+;", text)
    text = re.sub(r"server [A-Za-z0-9.-]+:([0-9]+);", r"server 127.0.0.1:\1;", text)
    text = re.sub(r" (?:/var/log/swiftdeploy|/tmp)/", f" {tmp_path}/", text)
    text = re.sub(r"listen ([0-9]+);", "listen 127.0.0.1:8080;", text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        [nginx_bin, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _opa(opa_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [opa_bin, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_hardening_policy_opa_test_fmt_and_check(opa_bin: str) -> None:
    root = str(hardening_dir())
    tested = _opa(opa_bin, "test", "-v", root)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert re.search(r"PASS: [0-9]+/[0-9]+", tested.stdout)
    formatted = _opa(opa_bin, "fmt", "--fail", "-l", root)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    checked = _opa(opa_bin, "check", "--strict", root)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def opa_eval(opa_bin: str, objects: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    input_file = tmp_path / "input.json"
    input_file.write_text(json.dumps({"objects": objects}))
    result = _opa(
        opa_bin, "eval", "--format", "json", "--bundle", str(hardening_dir()),
        "--input", str(input_file), f"data.{HARDENING_DOMAIN}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)["result"][0]["expressions"][0]["value"]
    return value


def _weakenings() -> dict[str, list[tuple[str, Any]]]:
    # (JSON-pointer-ish path into the first Deployment's pod spec, value) edits.
    return {
        "ours": [],
        "run_as_non_root_false": [("containers/0/securityContext/runAsNonRoot", False)],
        "privileged": [("containers/0/securityContext/privileged", True)],
        "missing_limits": [("containers/0/resources", {"requests": {"cpu": "1"}})],
        "missing_drop_all": [("containers/0/securityContext/capabilities", {})],
        "host_network": [("hostNetwork", True), ("hostPID", True)],
        "unconfined": [
            ("securityContext/seccompProfile", {"type": "Unconfined"}),
            ("containers/0/securityContext/seccompProfile", {"type": "Unconfined"}),
        ],
        "opa_admits_all": [],
    }


def _weaken(objects: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    objs = copy.deepcopy(objects)
    if name == "opa_admits_all":
        for obj in objs:
            if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"].endswith("-opa"):
                obj["spec"]["ingress"] = [{"ports": [{"port": 8181}]}]
        return objs
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    for path, value in _weakenings()[name]:
        node: Any = deployment["spec"]["template"]["spec"]
        *parents, leaf = path.split("/")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[leaf] = value
    return objs


@pytest.mark.parametrize("weakening", sorted(_weakenings()))
@pytest.mark.parametrize("case", CASES)
def test_embedded_engine_and_real_opa_agree(
    case: str, weakening: str, opa_bin: str, tmp_path: Path
) -> None:
    objects = _weaken(golden_objects(case, "nginx"), weakening)
    embedded = check_hardening(objects)
    real = opa_eval(opa_bin, objects, tmp_path)
    assert embedded.allow == real["allow"] == (weakening == "ours")
    assert embedded.deny == sorted(real["deny"])
    assert {name: c.to_json() for name, c in embedded.checks.items()} == real["checks"]
    if weakening != "ours":
        rules = {reason.rsplit("[", 1)[1].rstrip("]") for reason in embedded.deny}
        assert rules, embedded.deny


def test_golden_yaml_is_plain_yaml() -> None:
    for case in CASES:
        for folder in FOLDERS.values():
            for path in (GOLDEN / case / folder).glob("*.yaml"):
                text = path.read_text()
                assert text.startswith("# generated from manifest.yaml")
                # No anchors/aliases or Python tags: any YAML reader gets the same objects.
                assert "!!python" not in text
                assert not re.search(r"^\s*[^#\s].*[&*][a-z0-9_]+\s*$", text, re.M), path
                list(yaml.safe_load_all(text))
