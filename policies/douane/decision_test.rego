# End-to-end tests of data.douane.decision on the catalog's endpoints.
package douane_test

import rego.v1

catalog := [
	{"id": "deepseek-chat", "provider": "deepseek", "jurisdiction": "CN", "region": "cn", "self_hosted": false, "healthy": true, "latency_p95_ms": 1500, "estimated_cost_usd": 0.0004},
	{"id": "kimi-k2", "provider": "moonshot", "jurisdiction": "CN", "region": "cn", "self_hosted": false, "healthy": true, "latency_p95_ms": 1300, "estimated_cost_usd": 0.0006},
	{"id": "glm-4-plus", "provider": "zhipu", "jurisdiction": "CN", "region": "cn", "self_hosted": false, "healthy": true, "latency_p95_ms": 1100, "estimated_cost_usd": 0.0009},
	{"id": "gpt-4o", "provider": "openai", "jurisdiction": "US", "region": "us", "self_hosted": false, "healthy": true, "latency_p95_ms": 900, "estimated_cost_usd": 0.0035},
	{"id": "claude-opus-4", "provider": "anthropic", "jurisdiction": "US", "region": "us", "self_hosted": false, "healthy": true, "latency_p95_ms": 2500, "estimated_cost_usd": 0.03},
	{"id": "mistral-large", "provider": "mistral", "jurisdiction": "FR", "region": "eu", "self_hosted": false, "healthy": true, "latency_p95_ms": 1000, "estimated_cost_usd": 0.0028},
	{"id": "self-hosted-eu", "provider": "vllm", "jurisdiction": "DE", "region": "eu", "self_hosted": true, "healthy": true, "latency_p95_ms": 1400, "estimated_cost_usd": 0.0012},
]

request(overrides) := object.union(
	{"tenant": "acme", "key_id": "k_1", "purpose": "general", "residency": "any", "latency_budget_ms": null, "risk_tolerance": "medium", "model": "auto"},
	overrides,
)

clean := {"languages": ["en"], "entities": {}}

patient := {"languages": ["de"], "entities": {
	"PERSON": {"count": 1, "max_score": 0.85},
	"HEALTH_TERM": {"count": 2, "max_score": 0.85},
}}

test_clean_prompt_cheapest_first if {
	cat := catalog
	cl := clean
	d := data.douane.decision with input.request as request({}) with input.findings as cl with input.candidates as cat
	d.sensitivity == "none"
	d.gdpr_categories == []
	d.plan == ["deepseek-chat", "kimi-k2", "glm-4-plus", "self-hosted-eu", "mistral-large", "gpt-4o", "claude-opus-4"]
	d.denied == {}
	d.obligations == {}
	d.reasons == []
}

test_clean_prompt_within_latency_budget if {
	cat := catalog
	cl := clean
	d := data.douane.decision with input.request as request({"latency_budget_ms": 1200}) with input.findings as cl with input.candidates as cat
	d.plan == ["glm-4-plus", "mistral-large", "gpt-4o"]
	d.denied["deepseek-chat"] == ["p95 latency 1500 ms exceeds the request's budget of 1200 ms"]
}

test_patient_data_stays_in_eu if {
	cat := catalog
	pt := patient
	d := data.douane.decision with input.request as request({}) with input.findings as pt with input.candidates as cat
	d.sensitivity == "special"
	d.gdpr_categories == ["personal", "special:health"]
	d.plan == ["self-hosted-eu", "mistral-large"]
	d.denied["gpt-4o"] == ["special-category data (special:health) may only go to EU-region or self-hosted endpoints; this endpoint runs in region us"]
	count(d.reasons) == 1
}

test_low_tolerance_excludes_cn if {
	cat := catalog
	cl := clean
	d := data.douane.decision with input.request as request({"risk_tolerance": "low"}) with input.findings as cl with input.candidates as cat
	d.plan == ["self-hosted-eu", "mistral-large", "gpt-4o", "claude-opus-4"]
	every id in ["deepseek-chat", "kimi-k2", "glm-4-plus"] {
		d.denied[id] == ["jurisdiction CN carries high risk, above what risk_tolerance low accepts (at most medium)"]
	}
}

test_every_candidate_is_planned_or_denied_never_both if {
	cat := catalog
	pt := patient
	d := data.douane.decision with input.request as request({"risk_tolerance": "low", "latency_budget_ms": 1200}) with input.findings as pt with input.candidates as cat
	planned := {id | some id in d.plan}
	denied := object.keys(d.denied)
	count(planned & denied) == 0
	planned | denied == {c.id | some c in catalog}
	every id, reasons in d.denied {
		count(reasons) > 0
	}
}

test_empty_plan_says_why if {
	cat := catalog
	cl := clean
	d := data.douane.decision with input.request as request({"residency": "eu", "latency_budget_ms": 100}) with input.findings as cl with input.candidates as cat
	d.plan == []
	"no endpoint is eligible: all 7 candidate endpoints were denied; see denied for each endpoint's reasons" in d.reasons
}

test_no_candidates_says_why if {
	cl := clean
	d := data.douane.decision with input.request as request({}) with input.findings as cl with input.candidates as []
	d.plan == []
	d.reasons == ["no endpoint is eligible: the request offered no candidate endpoints"]
}

test_pinned_model if {
	cat := catalog
	cl := clean
	d := data.douane.decision with input.request as request({"model": "gpt-4o"}) with input.findings as cl with input.candidates as cat
	d.plan == ["gpt-4o"]
	d.denied["mistral-large"] == ["the request asked for model gpt-4o"]
}

test_unhealthy_endpoint_is_skipped if {
	cl := clean
	sick := [object.union(c, {"healthy": c.id != "deepseek-chat"}) | some c in catalog]
	d := data.douane.decision with input.request as request({}) with input.findings as cl with input.candidates as sick
	d.plan[0] == "kimi-k2"
	d.denied["deepseek-chat"] == ["endpoint is marked unhealthy"]
}
