package douane.ranking_test

import rego.v1

import data.douane.ranking

test_cheapest_first_then_latency_then_id if {
	cands := [
		{"id": "b", "estimated_cost_usd": 0.002, "latency_p95_ms": 500},
		{"id": "a", "estimated_cost_usd": 0.002, "latency_p95_ms": 500},
		{"id": "fast", "estimated_cost_usd": 0.002, "latency_p95_ms": 100},
		{"id": "cheap", "estimated_cost_usd": 0.0005, "latency_p95_ms": 1500},
	]
	ranking.cheapest_first(cands) == ["cheap", "fast", "a", "b"]
}

test_empty if {
	ranking.cheapest_first([]) == []
}
