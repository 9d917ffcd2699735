# Pre-promote gate: may the canary become stable?
#
# Only promotion to "stable" is gated on the canary's figures; moving traffic to the canary
# or back to stable must stay possible when the canary is unhealthy. Thresholds live in
# data.json beside this file (loaded as data.canary). Missing or ill-typed input fails.
package canary

import rego.v1

default allow := false

# Every listed check must be present and passing, so a check that came out undefined
# (a policy bug) cannot be mistaken for one that passed.
allow if {
	count(deny) == 0
	every name in object.keys(_expected) {
		checks[name].pass == true
	}
}

# The verdict on one analysis window, for progressive rollouts: too little traffic is
# neither a pass nor a failure (the rollout holds), unlike a missing or broken figure.
verdict := "pass" if {
	allow
} else := "inconclusive" if {
	_gated
	_inconclusive
} else := "fail"

deny contains check.detail if {
	some check in checks
	not check.pass
}

# Counters that went down mid-window mean the canary restarted: the window no longer
# describes one process, so it cannot vouch for a promotion. Measure again.
deny contains "Canary counters reset during the window (the canary restarted): measure again" if {
	_gated
	input.counter_reset == true
}

_gated if _in("to") == "stable"

_expected := {"target": true, "error_rate": true, "p99": true, "requests": true, "stable_comparison": true} if {
	_gated
} else := {"target": true}

checks := {
	"target": _target,
	"error_rate": _error_rate,
	"p99": _p99,
	"requests": _requests,
	"stable_comparison": _stable_comparison,
} if {
	_gated
} else := {"target": _target}

_target := {"pass": true, "detail": "Promotion to stable is gated on the canary's error rate, P99 latency and traffic"} if {
	_gated
} else := {"pass": true, "detail": "Promotion to canary is not gated on canary metrics"} if {
	_in("to") == "canary"
} else := {"pass": true, "detail": "Moving traffic away from the canary is not gated on canary metrics"} if {
	is_string(_in("to"))
} else := {"pass": false, "detail": "Promotion target is unknown: input.to must be a string"}

# Fields are read through _in and the static data rules, which answer null when missing,
# because OPA treats `not f(input.missing)` as undefined rather than true.
_error_rate := {"pass": false, "detail": "Error rate is unknown: input.error_rate must be a non-negative number"} if {
	not _nonneg(_in("error_rate"))
} else := {"pass": false, "detail": "Policy data is missing max_error_rate"} if {
	not _nonneg(_max_error_rate)
} else := {"pass": false, "detail": sprintf("Error rate %s%% exceeds maximum %s%%", [_pct(input.error_rate), _pct(_max_error_rate)])} if {
	input.error_rate > _max_error_rate
} else := {"pass": true, "detail": sprintf("Error rate %s%% is within maximum %s%%", [_pct(input.error_rate), _pct(_max_error_rate)])}

# A window with too few requests has no meaningful P99 (none at all without traffic): it reads
# as the same "inconclusive" reason as the request check, so the operator sees one cause.
_p99 := {"pass": false, "detail": _requests.detail} if {
	not _nonneg(_in("p99_ms"))
	_inconclusive
} else := {"pass": false, "detail": "P99 latency is unknown: input.p99_ms must be a non-negative number"} if {
	not _nonneg(_in("p99_ms"))
} else := {"pass": false, "detail": "Policy data is missing max_p99_ms"} if {
	not _nonneg(_max_p99_ms)
} else := {"pass": false, "detail": sprintf("P99 latency %sms exceeds maximum %sms", [_fixed1(input.p99_ms), _num(_max_p99_ms)])} if {
	input.p99_ms > _max_p99_ms
} else := {"pass": true, "detail": sprintf("P99 latency %sms is within maximum %sms", [_fixed1(input.p99_ms), _num(_max_p99_ms)])}

_requests := {"pass": false, "detail": "Request count is unknown: input.request_count must be a non-negative integer"} if {
	not _count(_in("request_count"))
} else := {"pass": false, "detail": "Policy data is missing min_requests"} if {
	not _nonneg(_min_requests)
} else := {"pass": false, "detail": sprintf("inconclusive: %s requests in %s, need ≥ %s", [_num(input.request_count), _window, _num(_min_requests)])} if {
	_inconclusive
} else := {"pass": true, "detail": sprintf("%s requests in %s, need ≥ %s", [_num(input.request_count), _window, _num(_min_requests)])}

_inconclusive if {
	_count(_in("request_count"))
	_nonneg(_min_requests)
	input.request_count < _min_requests
}

_window := sprintf("the last %s s", [_num(input.window_s)]) if {
	_nonneg(_in("window_s"))
} else := "the window"

# The stable track's figures are optional; when given, a canary much worse than stable is
# refused even under the absolute limits, unless both are below a noise floor.
_stable_comparison := {"pass": true, "detail": "No stable figures to compare against"} if {
	_in("stable") == null
} else := {"pass": false, "detail": "Stable error rate is unknown: input.stable.error_rate must be a non-negative number"} if {
	not _nonneg(_stable_error_rate)
} else := {"pass": false, "detail": "Policy data is missing stable_error_factor or stable_error_floor"} if {
	not _nonneg(_factor)
} else := {"pass": false, "detail": "Policy data is missing stable_error_factor or stable_error_floor"} if {
	not _nonneg(_floor)
} else := {"pass": false, "detail": "Error rate is unknown: input.error_rate must be a non-negative number"} if {
	not _nonneg(_in("error_rate"))
} else := {"pass": false, "detail": sprintf("Error rate %s%% is more than %s× stable's %s%% (and above the %s%% floor)", [_pct(input.error_rate), _num(_factor), _pct(_stable_error_rate), _pct(_floor)])} if {
	input.error_rate > _factor * _stable_error_rate
	input.error_rate > _floor
} else := {"pass": true, "detail": sprintf("Error rate %s%% is within %s× stable's %s%% or below the %s%% floor", [_pct(input.error_rate), _num(_factor), _pct(_stable_error_rate), _pct(_floor)])}

_stable_error_rate := x if {
	is_object(input.stable)
	x := input.stable.error_rate
} else := null

# Static references: a dynamic data.canary[key] would make every rule depend on itself.
_max_error_rate := x if {
	x := data.canary.max_error_rate
} else := null

_max_p99_ms := x if {
	x := data.canary.max_p99_ms
} else := null

_min_requests := x if {
	x := data.canary.min_requests
} else := null

_factor := x if {
	x := data.canary.stable_error_factor
} else := null

_floor := x if {
	x := data.canary.stable_error_floor
} else := null

_in(key) := input[key] if {
	is_object(input)
} else := null

_nonneg(x) if {
	is_number(x)
	x >= 0
}

_count(x) if {
	_nonneg(x)
	x == floor(x)
}

# Input strings are never echoed into details: rego-cpp does not escape quotes in its
# JSON output, so an echoed quote would break the embedded engine's answer.
#
# Numbers are printed from integers: OPA's sprintf("%f") rejects integer-valued numbers
# and OPA and rego-cpp disagree on "%v" for large floats, so this is the one format both
# engines render identically.
_pct(x) := _fixed2(x * 100)

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
