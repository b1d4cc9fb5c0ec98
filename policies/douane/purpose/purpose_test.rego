package douane.purpose_test

import rego.v1

import data.douane.purpose

cands := [{"id": "a"}, {"id": "b"}]

# The registry each test runs with, whatever the shipped data says today.
registry := {"default": ["general", "customer_support"], "tenants": {}}

test_default_purposes_apply_to_unlisted_tenants if {
	cs := cands
	reg := registry
	d := purpose.deny with input.candidates as cs with input.request as {"tenant": "acme", "purpose": "customer_support"}
		with data.reference.purposes as reg
	count(d) == 0
}

test_unregistered_purpose_denies_every_endpoint_and_names_it if {
	cs := cands
	reg := registry
	d := purpose.deny with input.candidates as cs with input.request as {"tenant": "acme", "purpose": "marketing"}
		with data.reference.purposes as reg
	{x.endpoint | some x in d} == {"a", "b"}
	some x in d
	x.reason == "purpose marketing is not registered for tenant acme (registered: customer_support, general)"
}

test_tenant_entry_replaces_the_default if {
	cs := cands
	tenants := {"hospital": ["patient_letters"]}
	ok := purpose.deny with input.candidates as cs with input.request as {"tenant": "hospital", "purpose": "patient_letters"} with data.reference.purposes as {"default": ["general"], "tenants": tenants}
	count(ok) == 0
	refused := purpose.deny with input.candidates as cs with input.request as {"tenant": "hospital", "purpose": "general"} with data.reference.purposes as {"default": ["general"], "tenants": tenants}
	{x.reason | some x in refused} == {"purpose general is not registered for tenant hospital (registered: patient_letters)"}
}

test_other_tenants_keep_the_default if {
	cs := cands
	tenants := {"hospital": ["patient_letters"]}
	d := purpose.deny with input.candidates as cs with input.request as {"tenant": "acme", "purpose": "general"} with data.reference.purposes as {"default": ["general"], "tenants": tenants}
	count(d) == 0
}

test_missing_purpose_is_refused if {
	cs := cands
	d := purpose.deny with input.candidates as cs with input.request as {"tenant": "acme"}
	count(d) == 2
}
