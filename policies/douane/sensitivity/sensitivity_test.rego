# Tests replace input.request / input.findings / input.candidates one key at a
# time ("with input.findings as ..."), never the whole input: regopy 1.5.2
# segfaults on "with input as {...}" when the rule under test calls a builtin
# or another rule. OPA treats both forms the same.
# A with-value must also be a literal or a local variable, not a rule: in
# regopy 1.5.2 "with input.candidates as some_rule" evaluates to undefined, so
# fixtures are copied into a local first (cs := cands).
package douane.sensitivity_test

import rego.v1

import data.douane.sensitivity

test_no_entities_is_none if {
	sensitivity.level == "none" with input.findings as {"languages": ["en"], "entities": {}}
}

test_email_is_personal if {
	f := {"entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}}}
	sensitivity.level == "personal" with input.findings as f
	sensitivity.categories == {"personal"} with input.findings as f
}

test_health_term_is_special if {
	f := {"entities": {"EMAIL_ADDRESS": {"count": 1, "max_score": 0.99}, "HEALTH_TERM": {"count": 2, "max_score": 0.85}}}
	sensitivity.level == "special" with input.findings as f
	sensitivity.categories == {"personal", "special:health"} with input.findings as f
}

test_low_score_is_ignored if {
	f := {"entities": {"PERSON": {"count": 3, "max_score": 0.3}}}
	sensitivity.level == "none" with input.findings as f
}

test_unmapped_entities_are_not_personal if {
	f := {"entities": {
		"DATE_TIME": {"count": 1, "max_score": 0.95},
		"LOCATION": {"count": 1, "max_score": 0.9},
		"NRP": {"count": 1, "max_score": 0.9},
		"URL": {"count": 1, "max_score": 0.9},
	}}
	sensitivity.level == "none" with input.findings as f
}

test_criminal_data_is_treated_as_special if {
	f := {"entities": {"CRIMINAL_TERM": {"count": 1, "max_score": 0.85}}}
	sensitivity.level == "special" with input.findings as f
	sensitivity.categories == {"criminal"} with input.findings as f
}

test_a_special_term_without_a_person_does_not_count if {
	f := {"entities": {"RELIGIOUS_BELIEF_TERM": {"count": 1, "max_score": 0.4}}}
	sensitivity.level == "none" with input.findings as f
}

test_an_unclassified_entity_type_counts_as_personal if {
	f := {"entities": {"DE_TAX_ID": {"count": 1, "max_score": 0.9}}}
	sensitivity.level == "personal" with input.findings as f
	sensitivity.categories == {"personal"} with input.findings as f
}

test_an_unclassified_entity_type_below_threshold_is_ignored if {
	f := {"entities": {"DE_TAX_ID": {"count": 1, "max_score": 0.2}}}
	sensitivity.level == "none" with input.findings as f
}

test_every_mapped_entity_has_a_category if {
	every name, rule in data.reference.gdpr.entity_categories {
		is_string(rule.category)
		is_number(rule.min_score)
	}
}
