package canary_test

import rego.v1

import data.canary

healthy := {"to": "stable", "error_rate": 0.002, "p99_ms": 120.0, "request_count": 500, "window_s": 30}

test_healthy_canary_promoted if {
	canary.allow with input as healthy
}

test_boundaries_allowed if {
	canary.allow with input as {"to": "stable", "error_rate": 0.01, "p99_ms": 500, "request_count": 50, "window_s": 10}
}

test_bad_canary_denied_with_reasons if {
	canary.deny == {
		"Error rate 5.20% exceeds maximum 1.00%",
		"P99 latency 620.0ms exceeds maximum 500ms",
		"inconclusive: 7 requests in the last 10 s, need ≥ 50",
	} with input as {"to": "stable", "error_rate": 0.052, "p99_ms": 620, "request_count": 7, "window_s": 10}
}

test_counter_reset_mid_window_denied if {
	canary.deny == {"Canary counters reset during the window (the canary restarted): measure again"} with input as object.union(healthy, {"counter_reset": true})
	not canary.allow with input as object.union(healthy, {"counter_reset": true})
	canary.allow with input as object.union(healthy, {"counter_reset": false})
}

test_promotion_to_canary_not_gated if {
	canary.allow with input as {"to": "canary", "error_rate": 0.5}
}

test_missing_target_fails_closed if {
	not canary.allow with input as {"error_rate": 0.0}
}

test_missing_metrics_fail_closed if {
	not canary.allow with input as {"to": "stable"}
}

test_ill_typed_metrics_fail_closed if {
	not canary.allow with input as object.union(healthy, {"request_count": 7.5})
}

test_much_worse_than_stable_denied if {
	canary.deny == {"Error rate 0.80% is more than 2× stable's 0.20% (and above the 0.50% floor)"} with input as object.union(healthy, {"error_rate": 0.008, "stable": {"error_rate": 0.002}})
}

test_worse_than_stable_below_floor_allowed if {
	canary.allow with input as object.union(healthy, {"error_rate": 0.004, "stable": {"error_rate": 0.001}})
}

test_malformed_stable_fails_closed if {
	not canary.allow with input as object.union(healthy, {"stable": {}})
}

test_verdict_pass_on_a_healthy_window if {
	canary.verdict == "pass" with input as _window(0.0, 20, 100)
}

test_verdict_inconclusive_on_too_little_traffic_even_with_errors if {
	canary.verdict == "inconclusive" with input as _window(0.5, 20, 7)
}

test_verdict_fail_on_a_bad_window if {
	canary.verdict == "fail" with input as _window(0.05, 20, 100)
}

test_verdict_fail_when_the_count_is_missing if {
	canary.verdict == "fail" with input as {"to": "stable", "error_rate": 0, "p99_ms": 1, "window_s": 30}
}

_window(rate, p99, n) := {"to": "stable", "error_rate": rate, "p99_ms": p99, "request_count": n, "window_s": 30}

test_too_little_traffic_is_one_inconclusive_reason if {
	few := {"to": "stable", "error_rate": 0.0, "p99_ms": null, "request_count": 12, "window_s": 30}
	canary.deny == {"inconclusive: 12 requests in the last 30 s, need ≥ 50"} with input as few
	canary.verdict == "inconclusive" with input as few
}
