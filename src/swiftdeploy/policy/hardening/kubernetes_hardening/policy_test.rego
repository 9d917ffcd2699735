package kubernetes_hardening_test

import rego.v1

import data.kubernetes_hardening

_container := {
	"name": "app",
	"image": "app:1",
	"readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
	"livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
	"resources": {
		"limits": {"cpu": "1", "memory": "256Mi"},
		"requests": {"cpu": "100m", "memory": "256Mi"},
	},
	"securityContext": {
		"allowPrivilegeEscalation": false,
		"capabilities": {"drop": ["ALL"]},
		"readOnlyRootFilesystem": true,
		"runAsNonRoot": true,
	},
}

_pod := {
	"automountServiceAccountToken": false,
	"securityContext": {"runAsNonRoot": true, "runAsUser": 1001, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [_container],
}

_deployment(name, labels, pod) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": name, "namespace": "ns"},
	"spec": {"template": {"metadata": {"labels": labels}, "spec": pod}},
}

_opa_labels := {"app.kubernetes.io/name": "opa", "app.kubernetes.io/component": "policy"}

_opa_policy(ingress) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "opa", "namespace": "ns"},
	"spec": {"podSelector": {"matchLabels": _opa_labels}, "policyTypes": ["Ingress"], "ingress": ingress},
}

_control_only := [{"from": [{"namespaceSelector": {"matchLabels": {"swiftdeploy.io/role": "control"}}}]}]

_objects(pod, ingress) := [
	_deployment("app", {"app.kubernetes.io/name": "app"}, pod),
	_deployment("opa", _opa_labels, _pod),
	_opa_policy(ingress),
]

_deny(pod) := reasons if {
	reasons := kubernetes_hardening.deny with input as {"objects": _objects(pod, _control_only)}
}

_with_container(changes) := object.union(_pod, {"containers": [object.union(_container, changes)]})

# object.union merges deeply, so removals go through json.patch.
_without(paths) := json.patch(_pod, [{"op": "remove", "path": path} | some path in paths])

test_hardened_objects_allowed if {
	kubernetes_hardening.allow with input as {"objects": _objects(_pod, _control_only)}
	checks := kubernetes_hardening.checks with input as {"objects": _objects(_pod, _control_only)}
	count(checks) == count(kubernetes_hardening.rules)
	every check in checks {
		check.pass
	}
}

test_malformed_input_denied if {
	not kubernetes_hardening.allow with input as {"objects": "nope"}
	kubernetes_hardening.deny == {"Input must be an object holding the Kubernetes objects in input.objects"} with input as {}
}

test_run_as_non_root_false_denied if {
	pod := _with_container({"securityContext": object.union(_container.securityContext, {"runAsNonRoot": false})})
	_deny(pod) == {"Deployment/app container app: runAsNonRoot must be true [run_as_non_root]"}
}

test_run_as_non_root_missing_everywhere_denied if {
	pod := _without(["/containers/0/securityContext/runAsNonRoot", "/securityContext/runAsNonRoot"])
	_deny(pod) == {"Deployment/app container app: runAsNonRoot must be true [run_as_non_root]"}
}

test_root_uid_denied if {
	pod := object.union(_pod, {"securityContext": object.union(_pod.securityContext, {"runAsUser": 0})})
	_deny(pod) == {"Deployment/app container app: must not run as UID 0 [run_as_user]"}
}

test_privileged_denied if {
	pod := _with_container({"securityContext": object.union(_container.securityContext, {"privileged": true})})
	_deny(pod) == {"Deployment/app container app: must not be privileged [privileged]"}
}

test_privilege_escalation_denied if {
	pod := _without(["/containers/0/securityContext/allowPrivilegeEscalation"])
	_deny(pod) == {"Deployment/app container app: allowPrivilegeEscalation must be false [allow_privilege_escalation]"}
}

test_writable_root_denied if {
	pod := _with_container({"securityContext": object.union(_container.securityContext, {"readOnlyRootFilesystem": false})})
	_deny(pod) == {"Deployment/app container app: readOnlyRootFilesystem must be true [read_only_root_filesystem]"}
}

test_missing_drop_all_denied if {
	pod := _with_container({"securityContext": object.union(_container.securityContext, {"capabilities": {"drop": ["NET_RAW"]}})})
	_deny(pod) == {"Deployment/app container app: capabilities.drop must include ALL [drop_all_capabilities]"}
}

test_added_capability_denied_unless_allowed if {
	caps := {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}
	pod := _with_container({"securityContext": object.union(_container.securityContext, {"capabilities": caps})})
	_deny(pod) == {"Deployment/app container app: must not add capability SYS_ADMIN [added_capabilities]"}
}

test_unconfined_seccomp_denied if {
	pod := _with_container({"securityContext": object.union(_container.securityContext, {"seccompProfile": {"type": "Unconfined"}})})
	_deny(pod) == {"Deployment/app container app: seccompProfile.type must be RuntimeDefault or Localhost [seccomp]"}
}

test_missing_limits_denied if {
	pod := _without(["/containers/0/resources/limits"])
	_deny(pod) == {
		"Deployment/app container app: must set resources.limits.cpu [resources]",
		"Deployment/app container app: must set resources.limits.memory [resources]",
	}
}

test_missing_probes_denied if {
	pod := _without(["/containers/0/readinessProbe", "/containers/0/livenessProbe"])
	_deny(pod) == {
		"Deployment/app container app: must have a livenessProbe [probes]",
		"Deployment/app container app: must have a readinessProbe [probes]",
	}
}

test_host_network_denied if {
	_deny(object.union(_pod, {"hostNetwork": true})) == {"Deployment/app: must not set hostNetwork [host_namespaces]"}
}

test_host_path_denied if {
	pod := object.union(_pod, {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]})
	_deny(pod) == {"Deployment/app: must not mount hostPath volume root [host_path]"}
}

test_service_account_token_denied if {
	_deny(object.remove(_pod, ["automountServiceAccountToken"])) == {"Deployment/app: automountServiceAccountToken must be false [service_account_token]"}
}

test_opa_policy_admitting_all_denied if {
	reasons := {"NetworkPolicy/opa: admits ingress to OPA from outside the control namespace [opa_network_policy]"}
	kubernetes_hardening.deny == reasons with input as {"objects": _objects(_pod, [{}])}
	kubernetes_hardening.deny == reasons with input as {"objects": _objects(_pod, [{"from": [{"podSelector": {}}]}])}
	kubernetes_hardening.deny == reasons with input as {"objects": _objects(_pod, [{"from": []}])}
	peer := {"namespaceSelector": {"matchLabels": {"swiftdeploy.io/role": "control"}}, "podSelector": {}}
	kubernetes_hardening.deny == reasons with input as {"objects": _objects(_pod, [{"from": [peer]}])}
}

test_opa_without_network_policy_denied if {
	objects := [_deployment("opa", _opa_labels, _pod)]
	kubernetes_hardening.deny == {"Deployment/opa: no NetworkPolicy restricts ingress to OPA [opa_network_policy]"} with input as {"objects": objects}
}

test_deny_all_policy_is_enough_for_opa if {
	objects := [_deployment("opa", _opa_labels, _pod), _opa_policy([])]
	kubernetes_hardening.allow with input as {"objects": objects}
}

test_other_namespace_policy_does_not_count if {
	other := json.patch(_opa_policy(_control_only), [{"op": "replace", "path": "/metadata/namespace", "value": "other"}])
	objects := [_deployment("opa", _opa_labels, _pod), other]
	not kubernetes_hardening.allow with input as {"objects": objects}
}

test_unsafe_names_are_not_echoed if {
	pod := _with_container({"name": "a\"b", "securityContext": object.union(_container.securityContext, {"privileged": true})})
	_deny(pod) == {"Deployment/app container <unnamed>: must not be privileged [privileged]"}
}

test_cronjob_and_init_containers_checked if {
	job := {
		"kind": "CronJob",
		"metadata": {"name": "nightly"},
		"spec": {"jobTemplate": {"spec": {"template": {"spec": object.union(_pod, {"initContainers": [object.remove(_container, ["securityContext"])]})}}}},
	}
	deny := kubernetes_hardening.deny with input as {"objects": [job]}
	"CronJob/nightly container app: readOnlyRootFilesystem must be true [read_only_root_filesystem]" in deny
	"CronJob/nightly container app: capabilities.drop must include ALL [drop_all_capabilities]" in deny
	not "CronJob/nightly container app: must have a livenessProbe [probes]" in deny
}
