package douane.residency_test

import rego.v1

import data.douane.residency

cands := [
	{"id": "deepseek-chat", "jurisdiction": "CN", "region": "cn", "self_hosted": false},
	{"id": "mistral-large", "jurisdiction": "FR", "region": "eu", "self_hosted": false},
	{"id": "self-hosted-eu", "jurisdiction": "DE", "region": "eu", "self_hosted": true},
	{"id": "self-hosted-us", "jurisdiction": "DE", "region": "us", "self_hosted": true},
]

denied_ids(d) := {x.endpoint | some x in d}

health := {"entities": {"HEALTH_TERM": {"count": 1, "max_score": 0.9}}}

email := {"entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.9}}}

test_special_data_stays_in_eu_or_self_hosted if {
	cs := cands
	h := health
	d := residency.deny with input.candidates as cs with input.findings as h with input.request as {"residency": "any"}
	denied_ids(d) == {"deepseek-chat"}
	some x in d
	x.reason == "special-category data (special:health) may only go to EU-region or self-hosted endpoints; this endpoint runs in region cn"
}

test_personal_data_stays_in_eu_or_self_hosted if {
	cs := cands
	e := email
	d := residency.deny with input.candidates as cs with input.findings as e with input.request as {"residency": "any"}
	denied_ids(d) == {"deepseek-chat"}
	some x in d
	x.reason == "personal data may only go to EU-region or self-hosted endpoints, or where an adequacy decision covers the endpoint; this endpoint runs in region cn (jurisdiction CN)"
}

test_clean_prompt_any_residency_denies_nothing if {
	cs := cands
	d := residency.deny with input.candidates as cs with input.findings as {"entities": {}} with input.request as {"residency": "any"}
	count(d) == 0
}

test_eu_residency_excludes_self_hosted_outside_eu if {
	cs := cands
	d := residency.deny with input.candidates as cs with input.findings as {"entities": {}} with input.request as {"residency": "eu"}
	denied_ids(d) == {"deepseek-chat", "self-hosted-us"}
	some x in d
	x.reason == "the request asked for EU residency; this endpoint runs in region us"
}

abroad := [
	{"id": "uk-endpoint", "provider": "acme-uk", "jurisdiction": "GB", "region": "uk", "self_hosted": false},
	{"id": "gb-seat-us-region", "provider": "acme-uk", "jurisdiction": "GB", "region": "us", "self_hosted": false},
	{"id": "gpt-4o", "provider": "openai", "jurisdiction": "US", "region": "us", "self_hosted": false},
	{"id": "deepseek-chat", "provider": "deepseek", "jurisdiction": "CN", "region": "cn", "self_hosted": false},
]

test_personal_data_may_go_where_an_adequacy_decision_covers_region_and_jurisdiction if {
	cs := abroad
	e := email
	d := residency.deny with input.candidates as cs with input.findings as e with input.request as {"residency": "any"}
	denied_ids(d) == {"gb-seat-us-region", "gpt-4o", "deepseek-chat"}
}

test_dpf_adequacy_covers_only_listed_providers if {
	cs := abroad
	e := email
	us := {"adopted": "2023-07-10", "regions": ["us"], "providers": ["openai"]}
	d := residency.deny with input.candidates as cs with input.findings as e with input.request as {"residency": "any"}
		with data.reference.geography.adequacy.US as us
	denied_ids(d) == {"gb-seat-us-region", "deepseek-chat"}
}

test_special_data_never_relies_on_adequacy if {
	cs := abroad
	h := health
	d := residency.deny with input.candidates as cs with input.findings as h with input.request as {"residency": "any"}
	denied_ids(d) == {"uk-endpoint", "gb-seat-us-region", "gpt-4o", "deepseek-chat"}
}

test_eu_residency_is_not_satisfied_by_adequacy if {
	cs := abroad
	d := residency.deny with input.candidates as cs with input.findings as {"entities": {}} with input.request as {"residency": "eu"}
	denied_ids(d) == {"uk-endpoint", "gb-seat-us-region", "gpt-4o", "deepseek-chat"}
}

test_pseudonymisation_opt_in_lifts_the_personal_data_denial if {
	cs := abroad
	e := email
	rules := [{"id": "r", "entities": ["EMAIL_ADDRESS"], "purposes": ["customer_support"], "jurisdictions": ["US"]}]
	d := residency.deny with input.candidates as cs with input.findings as e
		with input.request as {"residency": "any", "purpose": "customer_support"}
		with data.reference.pseudonymisation.rules as rules
	denied_ids(d) == {"gb-seat-us-region", "deepseek-chat"}
}

test_region_missing_still_denies_with_a_reason if {
	d := residency.deny with input.candidates as [{"id": "x", "jurisdiction": "US"}] with input.findings as {"entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.9}}} with input.request as {"residency": "any"}
	some r in d
	r.endpoint == "x"
	contains(r.reason, "region null")
}
