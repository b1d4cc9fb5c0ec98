package douane.latency_test

import rego.v1

import data.douane.latency

cands := [
	{"id": "deepseek-chat", "latency_p95_ms": 1500},
	{"id": "mistral-large", "latency_p95_ms": 900},
	{"id": "unmeasured", "latency_p95_ms": null},
]

test_over_budget_is_denied if {
	cs := cands
	d := latency.deny with input.candidates as cs with input.request as {"latency_budget_ms": 1000}
	{x.endpoint | some x in d} == {"deepseek-chat", "unmeasured"}
	some x in d
	x.reason == "p95 latency 1500 ms exceeds the request's budget of 1000 ms"
}

test_equal_to_budget_is_allowed if {
	d := latency.deny with input.candidates as [{"id": "a", "latency_p95_ms": 1000}] with input.request as {"latency_budget_ms": 1000}
	count(d) == 0
}

test_null_budget_means_no_limit if {
	cs := cands
	d := latency.deny with input.candidates as cs with input.request as {"latency_budget_ms": null}
	count(d) == 0
}

test_unknown_latency_cannot_promise_a_budget if {
	d := data.douane.latency.deny with input.candidates as [{"id": "new"}] with input.request as {"latency_budget_ms": 800}
	d == {{"endpoint": "new", "reason": "p95 latency is unknown, so the request's budget of 800 ms cannot be promised"}}
}
