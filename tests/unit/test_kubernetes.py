"""Kubernetes rendering: API-schema validity, security settings, weights, determinism, and the
hardening policy (embedded engine) accepting ours and refusing weakened copies."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cli_support import run_cli
from swiftdeploy.errors import UsageError
from swiftdeploy.kubernetes.documents import kubernetes_objects, load_documents, render_kubernetes
from swiftdeploy.kubernetes.hardening import check_hardening, hardening_dir
from swiftdeploy.kubernetes.names import CONTROL_LABEL, label_value, weighted_slots
from swiftdeploy.kubernetes.write import policy_files_for
from swiftdeploy.manifest import Manifest, parse_manifest
from swiftdeploy.policy.sources import defaults_dir, policy_digest, policy_files

# The newest Kubernetes release kubernetes-validate ships strict schemas for, pinned.
K8S_VERSION = "1.35.0"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = ["seed", "canary"]
TRAFFIC = ["nginx", "gateway"]
RECOMMENDED = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
}


def manifest(case: str) -> tuple[Manifest, str]:
    data = (GOLDEN / case / "manifest.yaml").read_bytes()
    return parse_manifest(data), hashlib.sha256(data).hexdigest()


def objects(case: str = "seed", traffic: str = "nginx", **edits: Any) -> list[dict[str, Any]]:
    m, digest = manifest(case)
    if edits:
        m = m.model_copy(update=edits)
    policies, pdigest = policy_files_for(defaults_dir())
    return kubernetes_objects(
        m,
        digest=digest,
        policies=policies,
        policy_digest=pdigest,
        traffic="gateway" if traffic == "gateway" else "nginx",
    )


def by_name(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("traffic", TRAFFIC)
@pytest.mark.parametrize("case", CASES)
def test_every_object_validates_against_the_kubernetes_schema(case: str, traffic: str) -> None:
    rendered = objects(case, traffic)
    validated = 0
    for obj in rendered:
        if obj["kind"] == "HTTPRoute":
            continue  # a Gateway API CRD: not in the core schema (checked below)
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        validated += 1
    assert validated == len(rendered) - (traffic == "gateway")


def test_the_schema_check_is_real() -> None:
    broken = copy.deepcopy(by_name(objects(), "Deployment", "app-stable"))
    pod_spec(broken)["containers"][0]["securityContext"]["runAsNonRot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


@pytest.mark.parametrize("case", CASES)
def test_every_deployment_is_hardened(case: str) -> None:
    deployments = [o for o in objects(case) if o["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {
        f"{name}-{part}"
        for name in [manifest(case)[0].services.name]
        for part in ("stable", "canary", "nginx", "opa")
    }
    for deployment in deployments:
        spec = pod_spec(deployment)
        assert spec["automountServiceAccountToken"] is False
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] == pod["runAsGroup"] > 0
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        [container] = spec["containers"]
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert set(container["resources"]) == {"limits", "requests"}
        assert {"readinessProbe", "livenessProbe"} <= set(container)
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[tmp[0]["name"]]


def test_app_deployments_run_as_1001_with_healthz_probes() -> None:
    for name in ("app-stable", "app-canary"):
        spec = pod_spec(by_name(objects(), "Deployment", name))
        assert spec["securityContext"]["runAsUser"] == 1001
        assert spec["securityContext"]["runAsGroup"] == 1001
        container = spec["containers"][0]
        assert container["securityContext"]["runAsUser"] == 1001
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_canary_replicas_follow_the_mode() -> None:
    stable_mode = objects("seed")
    assert by_name(stable_mode, "Deployment", "app-canary")["spec"]["replicas"] == 0
    assert by_name(stable_mode, "Deployment", "app-stable")["spec"]["replicas"] == 2
    canary_mode = objects("canary")
    assert by_name(canary_mode, "Deployment", "api-canary")["spec"]["replicas"] == 1
    env = pod_spec(by_name(canary_mode, "Deployment", "api-canary"))["containers"][0]["env"]
    assert {"name": "MODE", "value": "canary"} in env


def test_recommended_labels_on_workloads_and_services() -> None:
    for obj in objects():
        if obj["kind"] in {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"}:
            labels = obj["metadata"]["labels"]
            assert set(labels) >= RECOMMENDED, obj["metadata"]["name"]
            assert labels["app.kubernetes.io/managed-by"] == "swiftdeploy"
        if obj["kind"] == "Deployment":
            selector = obj["spec"]["selector"]["matchLabels"]
            template = obj["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= template.items()
            assert "app.kubernetes.io/version" not in selector  # selectors are immutable


def test_services_select_their_deployments() -> None:
    rendered = objects()
    for name in ("app-stable", "app-canary", "app-nginx", "app-opa"):
        selector = by_name(rendered, "Service", name)["spec"]["selector"]
        template = by_name(rendered, "Deployment", name)["spec"]["template"]["metadata"]
        assert selector.items() <= template["labels"].items()


def test_pdb_covers_stable_only() -> None:
    rendered = objects()
    [pdb] = [o for o in rendered if o["kind"] == "PodDisruptionBudget"]
    labels = by_name(rendered, "Deployment", "app-stable")["spec"]["template"]["metadata"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels["labels"].items()
    assert pdb["spec"]["minAvailable"] == 1


def test_nginx_config_points_at_the_service_dns_names() -> None:
    conf = by_name(objects("canary"), "ConfigMap", "api-nginx")["data"]["nginx.conf"]
    assert "# target: kubernetes" in conf
    stable = "server api-stable.swiftdeploy.svc.cluster.local:8000;"
    canary = "server api-canary.swiftdeploy.svc.cluster.local:8000;"
    weighted = conf.split("upstream app_weighted {")[1].split("}")[0]
    # weight 25: one canary slot in four.
    assert weighted.count(canary) == 1
    assert weighted.count(stable) == 3
    seed_conf = by_name(objects("seed"), "ConfigMap", "app-nginx")["data"]["nginx.conf"]
    seed_weighted = seed_conf.split("upstream app_weighted {")[1].split("}")[0]
    assert "app-canary" not in seed_weighted


@pytest.mark.parametrize("weight", [0, 1, 25, 50, 99, 100])
def test_weighted_slots_are_exact(weight: int) -> None:
    slots = weighted_slots("s", "c", weight)
    assert slots.count("c") * 100 == weight * len(slots)


def test_privileged_nginx_port_is_mapped_by_the_service() -> None:
    rendered = objects("canary")  # nginx.port 80
    nginx = pod_spec(by_name(rendered, "Deployment", "api-nginx"))["containers"][0]
    assert nginx["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert nginx["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    [port] = by_name(rendered, "Service", "api-nginx")["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (80, "http")
    conf = by_name(rendered, "ConfigMap", "api-nginx")["data"]["nginx.conf"]
    assert "listen 8080;" in conf
    [rule] = by_name(rendered, "NetworkPolicy", "api-nginx")["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    seed = objects("seed")  # nginx.port 8080 as is
    assert by_name(seed, "Service", "app-nginx")["spec"]["ports"][0]["port"] == 8080


def test_gateway_traffic_replaces_nginx_with_a_weighted_httproute() -> None:
    rendered = objects("canary", "gateway")
    assert not [o for o in rendered if "nginx" in o["metadata"]["name"]]
    [route] = [o for o in rendered if o["kind"] == "HTTPRoute"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "swiftdeploy"}]
    *pinned, weighted = route["spec"]["rules"]
    assert weighted["backendRefs"] == [
        {"name": "api-stable", "port": 8000, "weight": 75},
        {"name": "api-canary", "port": 8000, "weight": 25},
    ]
    headers = {r["matches"][0]["headers"][0]["value"]: r["backendRefs"][0]["name"] for r in pinned}
    assert headers == {"always": "api-canary", "never": "api-stable"}
    [seed_route] = [o for o in objects("seed", "gateway") if o["kind"] == "HTTPRoute"]
    weights = [b["weight"] for b in seed_route["spec"]["rules"][-1]["backendRefs"]]
    assert weights == [100, 0]


@pytest.mark.parametrize(("header", "pins"), [("X-Track", 2), (None, 0)])
def test_the_route_pins_by_the_manifests_header_or_not_at_all(
    header: str | None, pins: int
) -> None:
    m, _ = manifest("canary")
    canary = m.canary.model_copy(update={"header_override": header})
    [route] = [o for o in objects("canary", "gateway", canary=canary) if o["kind"] == "HTTPRoute"]
    *pinned, weighted = route["spec"]["rules"]
    assert len(pinned) == pins
    assert {r["matches"][0]["headers"][0]["name"] for r in pinned} == (
        {header} if header else set()
    )
    assert "headers" not in weighted["matches"][0]


def test_opa_gets_the_policies_in_their_folder_layout() -> None:
    rendered = objects()
    config = by_name(rendered, "ConfigMap", "app-opa")
    volume = next(v for v in pod_spec(by_name(rendered, "Deployment", "app-opa"))["volumes"]
                  if v["name"] == "policies")  # fmt: skip
    paths = {item["path"] for item in volume["configMap"]["items"]}
    root = defaults_dir()
    assert paths == {p.relative_to(root).as_posix() for p in policy_files(root)}
    for item in volume["configMap"]["items"]:
        assert config["data"][item["key"]] == (root / item["path"]).read_text()
    annotations = by_name(rendered, "Deployment", "app-opa")["spec"]["template"]["metadata"]
    assert annotations["annotations"]["swiftdeploy.io/policy-digest"] == policy_digest(root)


def test_opa_admits_only_the_control_namespace() -> None:
    policy = by_name(objects(), "NetworkPolicy", "app-opa")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "opa"
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": dict([CONTROL_LABEL])}}]
    deny_all = by_name(objects(), "NetworkPolicy", "app-default-deny")
    assert "ingress" not in deny_all["spec"]
    assert deny_all["spec"]["policyTypes"] == ["Ingress"]


def test_app_ingress_only_from_nginx() -> None:
    policy = by_name(objects(), "NetworkPolicy", "app-app")
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {
            "app.kubernetes.io/name": "nginx",
            "app.kubernetes.io/instance": "app",
            "app.kubernetes.io/component": "proxy",
        }}}
    ]  # fmt: skip


@pytest.mark.parametrize("traffic", TRAFFIC)
def test_rendering_is_deterministic_and_stamped(traffic: str) -> None:
    m, digest = manifest("canary")
    policies, pdigest = policy_files_for(defaults_dir())

    def render() -> dict[str, str]:
        return render_kubernetes(
            m,
            digest=digest,
            policies=policies,
            policy_digest=pdigest,
            traffic="gateway" if traffic == "gateway" else "nginx",
        )

    first = render()
    assert first == render()
    for text in first.values():
        assert f"# manifest sha256: {digest}\n" in text.splitlines(keepends=True)[1]
        for document in yaml.safe_load_all(text):
            assert document is not None


def test_names_that_kubernetes_refuses_are_refused() -> None:
    base, _ = manifest("seed")
    with pytest.raises(UsageError, match=r"services\.name 'My_App'"):
        objects(services=base.services.model_copy(update={"name": "My_App"}))
    with pytest.raises(UsageError, match="namespace"):
        kubernetes_objects(base, digest="x", policies={}, policy_digest="", namespace="Bad_NS")


def test_version_labels_are_sanitized() -> None:
    assert label_value("2.1.0+build.7") == "2.1.0_build.7"
    assert label_value("x" * 80) == "x" * 63
    assert label_value("+++") == "unknown"


def test_hardening_folder_is_not_part_of_the_gate_policies() -> None:
    root = defaults_dir()
    assert hardening_dir().parent == root.parent
    assert not any("hardening" in p.relative_to(root).as_posix() for p in policy_files(root))


# ---- the hardening policy, embedded engine ----------------------------------------------


@pytest.mark.parametrize("traffic", TRAFFIC)
@pytest.mark.parametrize("case", CASES)
def test_hardening_policy_allows_our_rendering(case: str, traffic: str) -> None:
    decision = check_hardening(objects(case, traffic))
    assert decision.allow, decision.deny
    assert decision.checks
    assert all(check.passed for check in decision.checks.values())


def _container(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(by_name(objs, "Deployment", name))["containers"][0]
    return container


def _run_as_root(objs: list[dict[str, Any]]) -> None:
    _container(objs, "app-stable")["securityContext"]["runAsNonRoot"] = False


def _privileged(objs: list[dict[str, Any]]) -> None:
    _container(objs, "app-nginx")["securityContext"]["privileged"] = True


def _no_limits(objs: list[dict[str, Any]]) -> None:
    del _container(objs, "app-canary")["resources"]["limits"]


def _no_drop_all(objs: list[dict[str, Any]]) -> None:
    _container(objs, "app-opa")["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}


def _host_network(objs: list[dict[str, Any]]) -> None:
    pod_spec(by_name(objs, "Deployment", "app-stable"))["hostNetwork"] = True


def _opa_open(objs: list[dict[str, Any]]) -> None:
    by_name(objs, "NetworkPolicy", "app-opa")["spec"]["ingress"] = [{}]


def _opa_from_nginx(objs: list[dict[str, Any]]) -> None:
    rule = by_name(objs, "NetworkPolicy", "app-opa")["spec"]["ingress"][0]
    rule["from"].append({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "nginx"}}})


def _opa_unguarded(objs: list[dict[str, Any]]) -> None:
    objs[:] = [o for o in objs if o["kind"] != "NetworkPolicy"]


OPA_OPEN = (
    "NetworkPolicy/app-opa: admits ingress to OPA from outside the control namespace "
    "[opa_network_policy]"
)
WEAKENED: dict[str, tuple[Callable[[list[dict[str, Any]]], None], list[str]]] = {
    "run_as_non_root_false": (
        _run_as_root,
        ["Deployment/app-stable container app: runAsNonRoot must be true [run_as_non_root]"],
    ),
    "privileged": (
        _privileged,
        ["Deployment/app-nginx container nginx: must not be privileged [privileged]"],
    ),
    "missing_limits": (
        _no_limits,
        [
            "Deployment/app-canary container app: must set resources.limits.cpu [resources]",
            "Deployment/app-canary container app: must set resources.limits.memory [resources]",
        ],
    ),
    "missing_drop_all": (
        _no_drop_all,
        [
            "Deployment/app-opa container opa: capabilities.drop must include ALL "
            "[drop_all_capabilities]"
        ],
    ),
    "host_network": (
        _host_network,
        ["Deployment/app-stable: must not set hostNetwork [host_namespaces]"],
    ),
    "opa_admits_all": (_opa_open, [OPA_OPEN]),
    "opa_admits_nginx": (_opa_from_nginx, [OPA_OPEN]),
    "opa_without_network_policy": (
        _opa_unguarded,
        ["Deployment/app-opa: no NetworkPolicy restricts ingress to OPA [opa_network_policy]"],
    ),
}


@pytest.mark.parametrize("weakening", sorted(WEAKENED))
def test_hardening_policy_refuses_weakened_copies(weakening: str) -> None:
    weaken, reasons = WEAKENED[weakening]
    objs = copy.deepcopy(objects())
    weaken(objs)
    decision = check_hardening(objs)
    assert not decision.allow
    assert decision.deny == reasons


def test_hardening_policy_fails_closed_on_garbage() -> None:
    decision = check_hardening([{"kind": "Deployment", "spec": "nope"}, {}])
    assert decision.allow  # nothing recognisable as a workload: nothing to refuse
    from swiftdeploy.policy.embedded import EmbeddedEngine

    answer = EmbeddedEngine(hardening_dir()).evaluate("kubernetes_hardening", {"objects": 3})
    assert not answer.allow
    assert answer.deny == [
        "Input must be an object holding the Kubernetes objects in input.objects"
    ]


# ---- the command ------------------------------------------------------------------------


def test_render_command_writes_checks_and_prunes(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_bytes((GOLDEN / "canary" / "manifest.yaml").read_bytes())
    first = run_cli(
        "render", "--target", "kubernetes", "--traffic", "gateway", "--check", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    out = tmp_path / "k8s"
    assert "[WROTE]" in first.stdout
    assert "[PASS] Kubernetes hardening policy" in first.stdout
    assert (out / "60-httproutes.yaml").is_file()
    mine = out / "notes.yaml"
    mine.write_text("kind: Note\n")  # not ours: never removed

    second = run_cli("render", "--target", "kubernetes", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "[REMOVED]" in second.stdout
    assert not (out / "60-httproutes.yaml").exists()
    assert mine.is_file()
    assert (out / "10-configmaps.yaml").read_text().count("nginx.conf: |") == 1
    assert "[SAME]" in run_cli("render", "--target", "kubernetes", cwd=tmp_path).stdout

    weakened = out / "30-deployments.yaml"
    weakened.write_text(weakened.read_text().replace("privileged: false", "privileged: true"))
    mine.unlink()
    objs = load_documents(sorted(out.glob("*.yaml")))
    assert not check_hardening(objs).allow
    # --check runs on what is on disk after rendering, which is ours again.
    third = run_cli("render", "--target", "kubernetes", "--check", cwd=tmp_path)
    assert third.returncode == 0, third.stdout + third.stderr


def test_render_check_exits_1_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_bytes((GOLDEN / "seed" / "manifest.yaml").read_bytes())
    # What users run in CI on their own (edited) YAML.
    assert run_cli("render", "--target", "kubernetes", cwd=tmp_path).returncode == 0
    deployments = tmp_path / "k8s" / "30-deployments.yaml"
    deployments.write_text(
        deployments.read_text().replace("runAsNonRoot: true", "runAsNonRoot: false")
    )
    result = run_cli("policy", "check-k8s", "k8s", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] Deployment/app-stable container app: runAsNonRoot must be true" in result.stdout
    assert "hardening policy denied" in result.stderr
    assert run_cli("policy", "check-k8s", "missing", cwd=tmp_path).returncode == 2


def test_render_refuses_a_bad_namespace(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_bytes((GOLDEN / "seed" / "manifest.yaml").read_bytes())
    result = run_cli("render", "--target", "kubernetes", "--namespace", "Nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "DNS-1123" in result.stderr
    assert not (tmp_path / "k8s").exists()
