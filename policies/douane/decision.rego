# The one document the gateway reads: data.douane.decision.
# Each concern lives in its own package and only says which endpoints it
# denies and why; this file combines them, ranks what is left and attaches
# the obligations the gateway must fulfil before sending.
package douane

import rego.v1

import data.douane.eligibility
import data.douane.lib.text.text
import data.douane.lib.text.words
import data.douane.pseudonymisation
import data.douane.purpose
import data.douane.quality
import data.douane.ranking
import data.douane.residency
import data.douane.sensitivity

# Compliance, budget and availability first (eligibility), then what the
# task needs (quality): tiers choose among compliant endpoints only.
denials := eligibility.denials | quality.deny

denied_ids := {d.endpoint | some d in denials}

eligible := [c | some c in input.candidates; not c.id in denied_ids]

# A cascade's first try (one tier below, for tenants that enable it) leads;
# the rest of the plan is at the required tier.
default plan := []

plan := ranking.plan(eligible) if not quality.cascade_first

plan := array.concat([quality.cascade_first], ranking.plan([c | some c in eligible; c.id != quality.cascade_first])) if {
	quality.cascade_first
}

# denials is a set of {endpoint, reason} objects, so the array comprehension
# already holds each reason once; sorting an array (not a set) keeps the value
# a real array in regopy, where sort(set) does not compare equal to one.
denied := {id: sort([d.reason | some d in denials; d.endpoint == id]) | some id in denied_ids}

# An endpoint that is eligible only because its values will be replaced
# carries the obligation; EU, self-hosted and adequacy-covered endpoints
# receive the prompt as written.
obligations := {id: {"pseudonymise": entities} |
	some id, entities in pseudonymisation.covered
	not id in denied_ids
	not id in residency.in_eu
	not id in residency.self_hosted
	not id in residency.adequate
}

default reasons_for_data := []

reasons_for_data := [msg] if {
	sensitivity.level == "special"
	msg := concat("", [
		"the prompt contains special data (", words(sensitivity.categories),
		"); only EU-region or self-hosted endpoints are eligible",
	])
}

reasons_for_data := [msg] if {
	sensitivity.level == "personal"
	msg := concat("", [
		"the prompt contains personal data (", words(sensitivity.categories),
		"); only EU-region or self-hosted endpoints, endpoints covered by an adequacy decision",
		" and endpoints the DPO allows pseudonymised data to are eligible",
	])
}

default reasons_for_residency := []

reasons_for_residency := ["the request asked for EU residency; only EU-region endpoints are eligible"] if input.request.residency == "eu"

default reasons_for_purpose := []

reasons_for_purpose := [purpose.reason] if not purpose.allowed

default reasons_for_empty_plan := []

reasons_for_empty_plan := ["no endpoint is eligible: the request offered no candidate endpoints"] if count(input.candidates) == 0

reasons_for_empty_plan := [msg] if {
	count(input.candidates) > 0
	count(plan) == 0
	msg := concat("", [
		"no endpoint is eligible: all ", text(count(input.candidates)),
		" candidate endpoints were denied; see denied for each endpoint's reasons",
	])
}

# Sorted through an array comprehension: regopy 1.5.2's sort() of an empty set
# returns a value that does not equal [], so tests comparing to [] would fail.
gdpr_categories := sort([c | some c in sensitivity.categories])

decision := {
	"sensitivity": sensitivity.level,
	"gdpr_categories": gdpr_categories,
	"plan": plan,
	"denied": denied,
	"obligations": obligations,
	"reasons": array.concat(
		array.concat(array.concat(reasons_for_data, reasons_for_residency), quality.reasons),
		array.concat(reasons_for_purpose, reasons_for_empty_plan),
	),
	"quality": quality.summary,
}
