# Pre-deploy gate: is this host fit to run the stack?
#
# Thresholds live in data.json beside this file (loaded as data.infra); this file only
# holds the logic. Missing or ill-typed input fails the check instead of passing it.
package infra

import rego.v1

default allow := false

# Every check must be present and passing: a check that came out undefined (a policy bug)
# must not be mistaken for one that passed.
allow if {
	count(deny) == 0
	every name in {"disk_free", "cpu_load"} {
		checks[name].pass == true
	}
}

deny contains check.detail if {
	some check in checks
	not check.pass
}

checks := {
	"disk_free": _disk_free,
	"cpu_load": _cpu_load,
}

# Fields are read through _in and the _min/_max rules, which answer null for a missing key, because OPA
# treats `not f(input.missing)` as undefined rather than true: the check would vanish.
_disk_free := {"pass": false, "detail": "Disk free is unknown: input.disk_free_gb must be a non-negative number"} if {
	not _nonneg(_in("disk_free_gb"))
} else := {"pass": false, "detail": "Policy data is missing min_disk_gb"} if {
	_min_disk_gb == null
} else := {"pass": false, "detail": "Policy data min_disk_gb must be a non-negative number"} if {
	not _nonneg(_min_disk_gb)
} else := {"pass": false, "detail": sprintf("Disk free %sGB is below minimum %sGB", [_fixed1(input.disk_free_gb), _num(data.infra.min_disk_gb)])} if {
	input.disk_free_gb < data.infra.min_disk_gb
} else := {"pass": true, "detail": sprintf("Disk free %sGB meets minimum %sGB", [_fixed1(input.disk_free_gb), _num(data.infra.min_disk_gb)])}

_cpu_load := {"pass": false, "detail": "CPU load is unknown: input.cpu_load must be a non-negative number"} if {
	not _nonneg(_in("cpu_load"))
} else := _cpu_load_per_core if {
	_per_core_set
} else := {"pass": false, "detail": "Policy data is missing max_cpu_load"} if {
	_max_cpu_load == null
} else := {"pass": false, "detail": "Policy data max_cpu_load must be a non-negative number"} if {
	not _nonneg(_max_cpu_load)
} else := {"pass": false, "detail": sprintf("CPU load %s exceeds maximum %s", [_fixed2(input.cpu_load), _fixed2(data.infra.max_cpu_load)])} if {
	input.cpu_load > data.infra.max_cpu_load
} else := {"pass": true, "detail": sprintf("CPU load %s is within maximum %s", [_fixed2(input.cpu_load), _fixed2(data.infra.max_cpu_load)])}

# With max_cpu_load_per_core in the data, the limit scales with the host: the load average
# counts runnable tasks, so 2.0 saturates a 2-core host and is idle on a 64-core one. The
# comparison is made in the hundredths it is printed in, so both engines agree on a tie.
_cpu_load_per_core := {"pass": false, "detail": "Policy data max_cpu_load_per_core must be a non-negative number"} if {
	_per_core_set
	not _nonneg(_max_cpu_load_per_core)
} else := {"pass": false, "detail": "CPU count is unknown: input.cpu_count must be a positive integer"} if {
	_per_core_set
	not _positive_int(_in("cpu_count"))
} else := {"pass": false, "detail": sprintf("CPU load %s exceeds maximum %s (%s per core on %d cores)", _per_core_figures)} if {
	_hundredths(input.cpu_load) > _hundredths(_max_cpu_load_per_core * input.cpu_count)
} else := {"pass": true, "detail": sprintf("CPU load %s is within maximum %s (%s per core on %d cores)", _per_core_figures)} if {
	_per_core_set
}

_per_core_set if _max_cpu_load_per_core != null

_per_core_figures := [
	_fixed2(input.cpu_load),
	_fixed2(_max_cpu_load_per_core * input.cpu_count),
	_fixed2(_max_cpu_load_per_core),
	input.cpu_count,
]

_hundredths(x) := round(x * 100)

_positive_int(x) if {
	is_number(x)
	x >= 1
	x == floor(x)
}

_in(key) := input[key] if {
	is_object(input)
} else := null

# Static references: a dynamic data.infra[key] would make every rule depend on itself.
_min_disk_gb := x if {
	x := data.infra.min_disk_gb
} else := null

_max_cpu_load := x if {
	x := data.infra.max_cpu_load
} else := null

_max_cpu_load_per_core := x if {
	x := data.infra.max_cpu_load_per_core
} else := null

_nonneg(x) if {
	is_number(x)
	x >= 0
}

# Input strings are never echoed into details: rego-cpp does not escape quotes in its
# JSON output, so an echoed quote would break the embedded engine's answer.
#
# Numbers are printed from integers: OPA's sprintf("%f") rejects integer-valued numbers
# and OPA and rego-cpp disagree on "%v" for large floats, so this is the one format both
# engines render identically.
_fixed1(x) := sprintf("%s%d.%d", [_sign(x, n), floor(n / 10), n % 10]) if n := round(abs(x) * 10)

_fixed2(x) := sprintf("%s%d.%02d", [_sign(x, n), floor(n / 100), n % 100]) if n := round(abs(x) * 100)

# format_int is avoided: rego-cpp returns its result already quoted.
_num(x) := sprintf("%d", [round(x)]) if {
	x == floor(x)
} else := _fixed2(x)

_sign(x, n) := "-" if {
	x < 0
	n > 0
} else := ""
