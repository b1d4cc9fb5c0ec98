package douane.blocklist_test

import rego.v1

import data.douane.blocklist

cands := [
	{"id": "deepseek-chat", "provider": "deepseek", "jurisdiction": "CN"},
	{"id": "kimi-k2", "provider": "moonshot", "jurisdiction": "CN"},
	{"id": "gpt-4o", "provider": "openai", "jurisdiction": "US"},
	{"id": "mistral-large", "provider": "mistral", "jurisdiction": "FR"},
]

denied_ids(d) := {x.endpoint | some x in d}

# Each test states the whole blocklist it runs with, so the tests keep
# passing while the DPO has something blocked in the shipped data.
nothing_blocked := {"jurisdictions": {}, "providers": {}, "endpoints": {}}

blocking(kind, entries) := object.union(nothing_blocked, {kind: entries})

test_nothing_blocked_by_default if {
	cs := cands
	none := nothing_blocked
	d := blocklist.deny with input.candidates as cs with data.reference.blocklist as none
	count(d) == 0
}

test_blocked_jurisdiction_denies_all_its_endpoints_with_reason_and_date if {
	cs := cands
	block := {"CN": {"reason": "EU sanctions package 21", "since": "2026-11-28"}}
	d := blocklist.deny with input.candidates as cs with data.reference.blocklist as blocking("jurisdictions", block)
	denied_ids(d) == {"deepseek-chat", "kimi-k2"}
	some x in d
	x.reason == "jurisdiction CN is blocked since 2026-11-28: EU sanctions package 21"
}

test_blocked_provider if {
	cs := cands
	block := {"openai": {"reason": "breach under investigation", "since": "2026-11-01"}}
	d := blocklist.deny with input.candidates as cs with data.reference.blocklist as blocking("providers", block)
	d == {{"endpoint": "gpt-4o", "reason": "provider openai is blocked since 2026-11-01: breach under investigation"}}
}

test_blocked_endpoint_without_date if {
	cs := cands
	block := {"mistral-large": {"reason": "outage"}}
	d := blocklist.deny with input.candidates as cs with data.reference.blocklist as blocking("endpoints", block)
	d == {{"endpoint": "mistral-large", "reason": "endpoint mistral-large is blocked: outage"}}
}

test_blocks_add_up_per_endpoint if {
	cs := cands
	j := {"CN": {"reason": "sanctions"}}
	p := {"deepseek": {"reason": "dispute"}}
	d := blocklist.deny with input.candidates as cs with data.reference.blocklist as {"jurisdictions": j, "providers": p, "endpoints": {}}
	count({x | some x in d; x.endpoint == "deepseek-chat"}) == 2
	denied_ids(d) == {"deepseek-chat", "kimi-k2"}
}

test_entry_without_a_reason_still_blocks if {
	cs := cands
	block := {"US": {}}
	d := blocklist.deny with input.candidates as cs with data.reference.blocklist as blocking("jurisdictions", block)
	d == {{"endpoint": "gpt-4o", "reason": "jurisdiction US is blocked: no reason recorded"}}
}

test_shipped_blocklist_is_well_formed if {
	every kind in ["jurisdictions", "providers", "endpoints"] {
		is_object(data.reference.blocklist[kind])
	}
}
