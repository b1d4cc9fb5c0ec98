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

eligible := [
	{"id": "deepseek-chat", "jurisdiction": "CN", "estimated_cost_usd": 0.0004, "latency_p95_ms": 1500},
	{"id": "kimi-k2", "jurisdiction": "CN", "estimated_cost_usd": 0.0006, "latency_p95_ms": 1300},
	{"id": "mistral-large", "jurisdiction": "FR", "estimated_cost_usd": 0.0028, "latency_p95_ms": 1000},
	{"id": "gpt-4o", "jurisdiction": "US", "estimated_cost_usd": 0.0035, "latency_p95_ms": 900},
]

test_first_fallback_is_in_another_jurisdiction if {
	cs := eligible
	ranking.plan(cs) == ["deepseek-chat", "mistral-large", "kimi-k2", "gpt-4o"]
}

test_one_jurisdiction_only_keeps_cost_order if {
	cs := [c | some c in eligible; c.jurisdiction == "CN"]
	ranking.plan(cs) == ["deepseek-chat", "kimi-k2"]
}

test_plan_of_one_and_of_none if {
	cs := [c | some c in eligible; c.id == "gpt-4o"]
	ranking.plan(cs) == ["gpt-4o"]
	ranking.plan([]) == []
}

test_cheapest_in_another_jurisdiction_already_second if {
	cs := [c | some c in eligible; c.id != "kimi-k2"]
	ranking.plan(cs) == ["deepseek-chat", "mistral-large", "gpt-4o"]
}

# regopy sorts numbers by their text; these orders are wrong under a plain sort().
test_costs_are_compared_as_numbers if {
	cands := [
		{"id": "ten", "estimated_cost_usd": 10, "latency_p95_ms": 100},
		{"id": "nine", "estimated_cost_usd": 9, "latency_p95_ms": 100},
		{"id": "tiny", "estimated_cost_usd": 0.0000268, "latency_p95_ms": 100},
		{"id": "small", "estimated_cost_usd": 0.000134, "latency_p95_ms": 100},
	]
	ranking.cheapest_first(cands) == ["tiny", "small", "nine", "ten"]
}

test_latencies_are_compared_as_numbers_and_unknown_is_last if {
	cands := [
		{"id": "unknown", "estimated_cost_usd": 0.001},
		{"id": "slow", "estimated_cost_usd": 0.001, "latency_p95_ms": 1500},
		{"id": "fast", "estimated_cost_usd": 0.001, "latency_p95_ms": 900},
	]
	ranking.cheapest_first(cands) == ["fast", "slow", "unknown"]
}

test_expensive_requests_keep_their_order if {
	cands := [
		{"id": "b", "estimated_cost_usd": 12.5, "latency_p95_ms": 100},
		{"id": "a", "estimated_cost_usd": 2.75, "latency_p95_ms": 100},
		{"id": "c", "estimated_cost_usd": 2.7500001, "latency_p95_ms": 100},
	]
	ranking.cheapest_first(cands) == ["a", "c", "b"]
}
