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
