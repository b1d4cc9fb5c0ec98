package douane.quality_test

import rego.v1

import data.douane.quality

# The tier a request needs. Whole decisions (tiers among compliant endpoints,
# capabilities, best available, cascades) are tested through the embedded
# engine in tests/policy/test_quality.py: regopy cannot compile `with input`
# over the whole decision in a test.

req(extra) := object.union({"tenant": "acme", "purpose": "general"}, extra)

test_each_complexity_needs_its_tier if {
	quality.needed_tier == "small" with input.request as req({"complexity": {"level": "simple"}})
	quality.needed_tier == "standard" with input.request as req({"complexity": {"level": "standard"}})
	quality.needed_tier == "frontier" with input.request as req({"complexity": {"level": "complex"}})
}

test_no_estimate_needs_no_tier if {
	quality.needed_tier == "small" with input.request as req({})
}

test_the_request_min_tier_raises_it if {
	quality.needed_tier == "frontier" with input.request as req({"complexity": {"level": "simple"}, "min_tier": "frontier"})
}

test_the_request_min_tier_never_lowers_it if {
	quality.needed_tier == "frontier" with input.request as req({"complexity": {"level": "complex"}, "min_tier": "small"})
}

test_a_purpose_floor_raises_it if {
	quality.needed_tier == "frontier" with input.request as req({"complexity": {"level": "simple"}, "purpose": "legal_review"})
		with data.reference.quality.floors.purposes as {"legal_review": "frontier"}
}

test_a_tenant_floor_raises_it if {
	quality.needed_tier == "standard" with input.request as req({"complexity": {"level": "simple"}})
		with data.reference.quality.floors.tenants as {"acme": "standard"}
}

test_an_unknown_tier_name_counts_as_the_highest if {
	quality.needed_tier == "frontier" with input.request as req({"complexity": {"level": "simple"}, "min_tier": "premium"})
}
