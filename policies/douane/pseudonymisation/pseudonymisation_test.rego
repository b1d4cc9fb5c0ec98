package douane.pseudonymisation_test

import rego.v1

import data.douane.pseudonymisation

cands := [
	{"id": "gpt-4o", "jurisdiction": "US"},
	{"id": "deepseek-chat", "jurisdiction": "CN"},
	{"id": "mistral-large", "jurisdiction": "FR"},
]

email_rule := [{"id": "support-email-us", "entities": ["EMAIL_ADDRESS"], "purposes": ["customer_support"], "jurisdictions": ["US"]}]

email := {"entities": {"EMAIL_ADDRESS": {"count": 2, "max_score": 0.99}}}

test_nothing_covered_without_a_rule if {
	cs := cands
	e := email
	c := pseudonymisation.covered with input.candidates as cs with input.findings as e with input.request as {"purpose": "customer_support"}
	c == {}
}

test_rule_covers_its_jurisdictions_for_its_purpose if {
	cs := cands
	e := email
	r := email_rule
	c := pseudonymisation.covered with input.candidates as cs with input.findings as e
		with input.request as {"purpose": "customer_support"}
		with data.reference.pseudonymisation.rules as r
	c == {"gpt-4o": ["EMAIL_ADDRESS"]}
}

test_rule_does_not_apply_to_other_purposes if {
	cs := cands
	e := email
	r := email_rule
	c := pseudonymisation.covered with input.candidates as cs with input.findings as e
		with input.request as {"purpose": "general"}
		with data.reference.pseudonymisation.rules as r
	c == {}
}

test_rule_does_not_apply_when_other_personal_data_remains if {
	cs := cands
	r := email_rule
	f := {"entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}, "IBAN_CODE": {"count": 1, "max_score": 1}}}
	c := pseudonymisation.covered with input.candidates as cs with input.findings as f
		with input.request as {"purpose": "customer_support"}
		with data.reference.pseudonymisation.rules as r
	c == {}
}

test_special_category_data_is_never_covered if {
	cs := cands
	r := [{"id": "r", "entities": ["EMAIL_ADDRESS", "HEALTH_TERM"], "purposes": ["customer_support"], "jurisdictions": ["US"]}]
	f := {"entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}, "HEALTH_TERM": {"count": 1, "max_score": 0.9}}}
	c := pseudonymisation.covered with input.candidates as cs with input.findings as f
		with input.request as {"purpose": "customer_support"}
		with data.reference.pseudonymisation.rules as r
	c == {}
}

test_only_found_types_are_replaced if {
	cs := cands
	e := email
	r := [{"id": "r", "entities": ["EMAIL_ADDRESS", "PHONE_NUMBER"], "purposes": ["customer_support"], "jurisdictions": ["US", "CN"]}]
	c := pseudonymisation.covered with input.candidates as cs with input.findings as e
		with input.request as {"purpose": "customer_support"}
		with data.reference.pseudonymisation.rules as r
	c == {"gpt-4o": ["EMAIL_ADDRESS"], "deepseek-chat": ["EMAIL_ADDRESS"]}
}
