# Helpers of kubernetes_hardening (see policy.rego there): they hold input documents, so
# they stay out of the package whose answer is returned.
package kubernetes_hardening_lib

# Strings are joined with concat: rego-cpp's sprintf quotes some string literals it is handed.

import rego.v1

well_formed if {
	is_object(input)
	is_array(input.objects)
}

_objects := input.objects if well_formed

else := []

# Names are echoed into reasons only when they are plain Kubernetes names: rego-cpp does not
# escape quotes in its JSON output.
_safe(s) := s if {
	is_string(s)
	regex.match(`^[A-Za-z0-9][-A-Za-z0-9_.]{0,252}$`, s)
} else := "<unnamed>"

_ref(obj) := concat("/", [_safe(obj.kind), _safe(obj.metadata.name)])

_namespace(obj) := ns if {
	ns := obj.metadata.namespace
	is_string(ns)
} else := ""

_labels(meta) := labels if {
	labels := meta.labels
	is_object(labels)
} else := {}

# Every pod template: {ref, kind, namespace, labels, pod}.
_workloads contains w if {
	some obj in _objects
	obj.kind in {"DaemonSet", "Deployment", "Job", "ReplicaSet", "StatefulSet"}
	w := _workload(obj, obj.spec.template)
}

_workloads contains w if {
	some obj in _objects
	obj.kind == "CronJob"
	w := _workload(obj, obj.spec.jobTemplate.spec.template)
}

_workloads contains w if {
	some obj in _objects
	obj.kind == "Pod"
	w := _workload(obj, obj)
}

_workload(obj, template) := {
	"ref": _ref(obj),
	"kind": obj.kind,
	"namespace": _namespace(obj),
	"labels": _labels(object.get(template, "metadata", {})),
	"pod": template.spec,
}

_containers contains c if {
	some w in _workloads
	some field in ["containers", "ephemeralContainers", "initContainers"]
	some container in object.get(w.pod, field, [])
	c := {
		"ref": concat(" container ", [w.ref, _safe(container.name)]),
		"kind": w.kind,
		"field": field,
		"pod": w.pod,
		"container": container,
	}
}

# A container's own securityContext setting, else the pod's, else null.
_effective(c, key) := v if {
	v := c.container.securityContext[key]
} else := v if {
	v := c.pod.securityContext[key]
} else := null

_own(c, key) := v if {
	v := c.container.securityContext[key]
} else := null

_violation(ref, rule, msg) := {"ref": ref, "rule": rule, "msg": msg}

violations contains _violation(c.ref, "run_as_non_root", "runAsNonRoot must be true") if {
	some c in _containers
	_effective(c, "runAsNonRoot") != true
}

violations contains _violation(c.ref, "run_as_user", "must not run as UID 0") if {
	some c in _containers
	_effective(c, "runAsUser") == 0
}

violations contains _violation(c.ref, "privileged", "must not be privileged") if {
	some c in _containers
	_own(c, "privileged") == true
}

violations contains _violation(c.ref, "allow_privilege_escalation", "allowPrivilegeEscalation must be false") if {
	some c in _containers
	_own(c, "allowPrivilegeEscalation") != false
}

violations contains _violation(c.ref, "read_only_root_filesystem", "readOnlyRootFilesystem must be true") if {
	some c in _containers
	_own(c, "readOnlyRootFilesystem") != true
}

violations contains _violation(c.ref, "drop_all_capabilities", "capabilities.drop must include ALL") if {
	some c in _containers
	not "ALL" in _capabilities(c, "drop")
}

violations contains _violation(c.ref, "added_capabilities", concat("", ["must not add capability ", _safe(cap)])) if {
	some c in _containers
	some cap in _capabilities(c, "add")
	not cap in data.kubernetes_hardening.allowed_added_capabilities
}

_capabilities(c, key) := caps if {
	caps := _own(c, "capabilities")[key]
	is_array(caps)
} else := []

violations contains _violation(c.ref, "seccomp", "seccompProfile.type must be RuntimeDefault or Localhost") if {
	some c in _containers
	not _seccomp_ok(c)
}

_seccomp_ok(c) if {
	profile := _effective(c, "seccompProfile")
	is_object(profile)
	profile.type in data.kubernetes_hardening.allowed_seccomp_profiles
}

violations contains _violation(c.ref, "resources", concat(".", ["must set resources", kind, resource])) if {
	some c in _containers
	c.field != "ephemeralContainers"
	some kind in ["limits", "requests"]
	some resource in ["cpu", "memory"]
	not _has_resource(c.container, kind, resource)
}

_has_resource(container, kind, resource) if {
	value := container.resources[kind][resource]
	value != null
}

violations contains _violation(c.ref, "probes", concat("", ["must have a ", probe])) if {
	some c in _containers
	c.field == "containers"
	c.kind in data.kubernetes_hardening.long_running_kinds
	some probe in ["livenessProbe", "readinessProbe"]
	not _has_probe(c.container, probe)
}

# A helper rather than `not is_object(c.container[probe])`: OPA treats a `not` over a
# function of a missing key as undefined rather than true, so the violation would vanish.
_has_probe(container, probe) if is_object(container[probe])

violations contains _violation(w.ref, "host_namespaces", concat("", ["must not set ", field])) if {
	some w in _workloads
	some field in ["hostIPC", "hostNetwork", "hostPID"]
	w.pod[field] == true
}

violations contains _violation(w.ref, "host_path", concat("", ["must not mount hostPath volume ", _safe(volume.name)])) if {
	some w in _workloads
	some volume in object.get(w.pod, "volumes", [])
	is_object(volume.hostPath)
}

violations contains _violation(w.ref, "service_account_token", "automountServiceAccountToken must be false") if {
	some w in _workloads
	object.get(w.pod, "automountServiceAccountToken", null) != false
}

# OPA answers only the control namespace: some NetworkPolicy must restrict its ingress, and
# every NetworkPolicy that selects it may admit nothing but that namespace. Selectors are
# matched on matchLabels only, so a policy with matchExpressions counts as selecting OPA:
# the check errs towards strict.
_opa_pods contains w if {
	some w in _workloads
	every key, value in data.kubernetes_hardening.opa_pod_labels {
		w.labels[key] == value
	}
}

_network_policies contains np if {
	some np in _objects
	np.kind == "NetworkPolicy"
}

_selects(np, w) if {
	_namespace(np) == w.namespace
	_restricts_ingress(np)
	every key, value in object.get(object.get(np.spec, "podSelector", {}), "matchLabels", {}) {
		w.labels[key] == value
	}
}

_restricts_ingress(np) if not np.spec.policyTypes

_restricts_ingress(np) if "Ingress" in np.spec.policyTypes

violations contains _violation(w.ref, "opa_network_policy", "no NetworkPolicy restricts ingress to OPA") if {
	some w in _opa_pods
	count([np | some np in _network_policies; _selects(np, w)]) == 0
}

violations contains _violation(_ref(np), "opa_network_policy", "admits ingress to OPA from outside the control namespace") if {
	some w in _opa_pods
	some np in _network_policies
	_selects(np, w)
	some rule in object.get(np.spec, "ingress", [])
	not _control_only(rule)
}

# A rule without `from` (or with an empty one) admits every source.
_control_only(rule) if {
	peers := rule.from
	is_array(peers)
	count(peers) > 0
	every peer in peers {
		_control_peer(peer)
	}
}

_control_peer(peer) if {
	object.keys(peer) == {"namespaceSelector"}
	object.keys(peer.namespaceSelector) == {"matchLabels"}
	label := data.kubernetes_hardening.control_namespace_label
	peer.namespaceSelector.matchLabels[label.key] == label.value
}
