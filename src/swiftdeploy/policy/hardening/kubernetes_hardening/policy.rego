# Hardening rules for Kubernetes workloads, run on rendered YAML (`swiftdeploy render
# --target kubernetes --check`, or `opa eval` in your CI).
#
# Input: {"objects": [<Kubernetes object>, ...]}. Every reason names the object, the
# container where it applies, and the rule in brackets. Lists and labels live in data.json
# beside this file (data.kubernetes_hardening). Not used by the deploy/promote gates.
package kubernetes_hardening

import rego.v1

import data.kubernetes_hardening_lib as lib

default allow := false

allow if {
	lib.well_formed
	count(deny) == 0
}

deny contains "Input must be an object holding the Kubernetes objects in input.objects" if {
	not lib.well_formed
}

# concat, not sprintf: rego-cpp's sprintf quotes some string literals it is handed.
deny contains concat("", [v.ref, ": ", v.msg, " [", v.rule, "]"]) if {
	some v in violations
}

# Only sanitized names reach this package's answer: the helpers that hold input documents
# live in kubernetes_hardening_lib, because a query for data.kubernetes_hardening returns
# every rule of the package and rego-cpp does not escape control characters in strings.
violations := lib.violations

rules := [
	"added_capabilities",
	"allow_privilege_escalation",
	"drop_all_capabilities",
	"host_namespaces",
	"host_path",
	"opa_network_policy",
	"privileged",
	"probes",
	"read_only_root_filesystem",
	"resources",
	"run_as_non_root",
	"run_as_user",
	"seccomp",
	"service_account_token",
]

checks[rule] := {"pass": n == 0, "detail": _detail(rule, n)} if {
	some rule in rules
	n := count([v | some v in violations; v.rule == rule])
}

_detail(rule, 0) := concat("", [rule, ": no violations"])

_detail(rule, n) := concat("", [rule, ": ", sprintf("%d", [n]), " violation(s)"]) if n > 0
