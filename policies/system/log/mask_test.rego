package system.log_test

import rego.v1

test_identifying_request_fields_are_masked if {
	data.system.log.mask == {"/input/request/tenant", "/input/request/key_id", "/input/request/purpose"}
}

test_findings_and_result_stay_for_the_log if {
	every pointer in data.system.log.mask {
		startswith(pointer, "/input/request/")
	}
}
