package douane.availability_test

import rego.v1

import data.douane.availability

cands := [
	{"id": "gpt-4o", "healthy": true},
	{"id": "mistral-large", "healthy": false},
	{"id": "self-hosted-eu"},
]

test_unhealthy_or_unknown_health_is_denied if {
	cs := cands
	d := availability.deny with input.candidates as cs with input.request as {"model": "auto"}
	d == {
		{"endpoint": "mistral-large", "reason": "endpoint is marked unhealthy"},
		{"endpoint": "self-hosted-eu", "reason": "endpoint is marked unhealthy"},
	}
}

test_pinned_model_excludes_the_others if {
	d := availability.deny with input.candidates as [{"id": "gpt-4o", "healthy": true}, {"id": "mistral-large", "healthy": true}] with input.request as {"model": "mistral-large"}
	d == {{"endpoint": "gpt-4o", "reason": "the request asked for model mistral-large"}}
}

test_pinned_model_that_is_not_a_candidate_leaves_nothing if {
	d := availability.deny with input.candidates as [{"id": "gpt-4o", "healthy": true}] with input.request as {"model": "gone"}
	d == {{"endpoint": "gpt-4o", "reason": "the request asked for model gone"}}
}
