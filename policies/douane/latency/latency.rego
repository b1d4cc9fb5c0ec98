# The caller's latency budget against each endpoint's p95 latency.
# A null or absent budget means the caller set no limit.
package douane.latency

import rego.v1

import data.douane.lib.text.text

budget := input.request.latency_budget_ms

deny contains {"endpoint": c.id, "reason": msg} if {
	is_number(budget)
	some c in input.candidates
	is_number(c.latency_p95_ms)
	c.latency_p95_ms > budget
	msg := concat("", ["p95 latency ", text(c.latency_p95_ms), " ms exceeds the request's budget of ", text(budget), " ms"])
}

# Without a measurement we cannot promise the budget, so the endpoint is out.
deny contains {"endpoint": c.id, "reason": msg} if {
	is_number(budget)
	some c in input.candidates
	not is_number(c.latency_p95_ms)
	msg := concat("", ["p95 latency is unknown, so the request's budget of ", text(budget), " ms cannot be promised"])
}
