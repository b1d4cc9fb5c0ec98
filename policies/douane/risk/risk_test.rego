package douane.risk_test

import rego.v1

import data.douane.risk

cands := [
	{"id": "deepseek-chat", "jurisdiction": "CN", "region": "cn"},
	{"id": "gpt-4o", "jurisdiction": "US", "region": "us"},
	{"id": "mistral-large", "jurisdiction": "FR", "region": "eu"},
	{"id": "mystery", "jurisdiction": "ZZ", "region": "eu"},
]

denied_ids(d) := {x.endpoint | some x in d}

test_low_tolerance_excludes_high_risk if {
	cs := cands
	d := risk.deny with input.candidates as cs with input.request as {"risk_tolerance": "low"}
	denied_ids(d) == {"deepseek-chat", "mystery"}
	some x in d
	x.reason == "jurisdiction CN carries high risk, above what risk_tolerance low accepts (at most medium)"
}

test_unknown_jurisdiction_is_high_risk if {
	risk.level_of("ZZ") == "high"
	risk.level_of("DE") == "low"
	risk.level_of("US") == "medium"
}

test_medium_tolerance_accepts_all_known_levels if {
	cs := cands
	d := risk.deny with input.candidates as cs with input.request as {"risk_tolerance": "medium"}
	count(d) == 0
}

test_unrecognised_tolerance_accepts_only_low if {
	cs := cands
	d := risk.deny with input.candidates as cs with input.request as {"risk_tolerance": "whatever"}
	denied_ids(d) == {"deepseek-chat", "gpt-4o", "mystery"}
}

test_every_tolerance_maps_to_a_known_level if {
	every tolerance, level in data.reference.risk.tolerance_max_risk {
		level in data.reference.risk.levels
	}
}

test_table_can_rate_a_member_state_differently if {
	cs := cands
	table := {"FR": "high", "US": "medium", "CN": "high"}
	d := risk.deny with input.candidates as cs with input.request as {"risk_tolerance": "low"} with data.reference.risk.jurisdictions as table
	denied_ids(d) == {"deepseek-chat", "mistral-large", "mystery"}
}

test_unknown_jurisdiction_reason_says_so if {
	cs := cands
	d := risk.deny with input.candidates as cs with input.request as {"risk_tolerance": "low"}
	some x in d
	x.endpoint == "mystery"
	x.reason == "jurisdiction ZZ (not in the risk table, so treated as the highest risk) carries high risk, above what risk_tolerance low accepts (at most medium)"
}

test_missing_jurisdiction_is_denied_as_unknown if {
	d := risk.deny with input.candidates as [{"id": "x"}] with input.request as {"risk_tolerance": "low"}
	d == {{"endpoint": "x", "reason": "jurisdiction null (not in the risk table, so treated as the highest risk) carries high risk, above what risk_tolerance low accepts (at most medium)"}}
}

test_missing_tolerance_accepts_only_the_lowest_level if {
	cs := cands
	d := risk.deny with input.candidates as cs with input.request as {}
	denied_ids(d) == {"deepseek-chat", "gpt-4o", "mystery"}
}
