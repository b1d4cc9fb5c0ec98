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
	x.reason == "personal data may only go to EU-region or self-hosted endpoints; this endpoint runs in region cn"
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
