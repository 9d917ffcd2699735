package infra_test

import rego.v1

import data.infra

test_healthy_host_allowed if {
	infra.allow with input as {"disk_free_gb": 107.0, "cpu_load": 0.8}
}

test_boundaries_allowed if {
	infra.allow with input as {"disk_free_gb": 10, "cpu_load": 2.0}
}

test_low_disk_denied if {
	infra.deny == {"Disk free 2.0GB is below minimum 10GB"} with input as {"disk_free_gb": 2, "cpu_load": 0.5}
}

test_high_cpu_denied if {
	infra.deny == {"CPU load 3.10 exceeds maximum 2.00"} with input as {"disk_free_gb": 50, "cpu_load": 3.1}
}

test_missing_input_fails_closed if {
	not infra.allow with input as {}
	count(infra.deny) == 2 with input as {}
}

test_ill_typed_input_fails_closed if {
	not infra.allow with input as {"disk_free_gb": "lots", "cpu_load": 0.1}
}

test_missing_thresholds_fail_closed if {
	not infra.allow with input as {"disk_free_gb": 50, "cpu_load": 0.1} with data.infra.min_disk_gb as null
}

test_every_check_listed if {
	object.keys(infra.checks) == {"disk_free", "cpu_load"} with input as {"disk_free_gb": 50, "cpu_load": 0.1}
}

test_negative_threshold_is_reported_as_invalid_not_missing if {
	infra.deny == {"Policy data max_cpu_load must be a non-negative number"} with input as {"disk_free_gb": 50, "cpu_load": 0.1} with data.infra.max_cpu_load as -1
	infra.deny == {"Policy data min_disk_gb must be a non-negative number"} with input as {"disk_free_gb": 50, "cpu_load": 0.1} with data.infra.min_disk_gb as -5
}

test_per_core_threshold_scales_with_the_host if {
	infra.allow with input as {"disk_free_gb": 50, "cpu_load": 3.1, "cpu_count": 4} with data.infra.max_cpu_load_per_core as 1.0
	infra.deny == {"CPU load 3.10 exceeds maximum 2.00 (1.00 per core on 2 cores)"} with input as {"disk_free_gb": 50, "cpu_load": 3.1, "cpu_count": 2} with data.infra.max_cpu_load_per_core as 1.0
}

test_per_core_threshold_replaces_the_absolute_one if {
	infra.checks.cpu_load.detail == "CPU load 40.00 is within maximum 64.00 (1.00 per core on 64 cores)" with input as {"disk_free_gb": 50, "cpu_load": 40, "cpu_count": 64} with data.infra.max_cpu_load_per_core as 1
}

test_per_core_boundary_allowed if {
	infra.allow with input as {"disk_free_gb": 50, "cpu_load": 2.1, "cpu_count": 3} with data.infra.max_cpu_load_per_core as 0.7
}

test_per_core_needs_a_cpu_count if {
	infra.deny == {"CPU count is unknown: input.cpu_count must be a positive integer"} with input as {"disk_free_gb": 50, "cpu_load": 0.1} with data.infra.max_cpu_load_per_core as 1
	infra.deny == {"CPU count is unknown: input.cpu_count must be a positive integer"} with input as {"disk_free_gb": 50, "cpu_load": 0.1, "cpu_count": 0} with data.infra.max_cpu_load_per_core as 1
	infra.deny == {"Policy data max_cpu_load_per_core must be a non-negative number"} with input as {"disk_free_gb": 50, "cpu_load": 0.1, "cpu_count": 2} with data.infra.max_cpu_load_per_core as "x"
}
