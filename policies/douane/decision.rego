# The one document the gateway reads: data.douane.decision.
# Each concern lives in its own package and only says which endpoints it
# denies and why; this file combines them, ranks what is left and attaches
# the obligations the gateway must fulfil before sending.
package douane

import rego.v1

import data.douane.availability
import data.douane.blocklist
import data.douane.latency
import data.douane.lib.text.text
import data.douane.lib.text.words
import data.douane.pseudonymisation
import data.douane.purpose
import data.douane.ranking
import data.douane.residency
import data.douane.risk
import data.douane.sensitivity

denials := ((((residency.deny | risk.deny) | blocklist.deny) | purpose.deny) | latency.deny) | availability.deny

denied_ids := {d.endpoint | some d in denials}

eligible := [c | some c in input.candidates; not c.id in denied_ids]

plan := ranking.plan(eligible)

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
		array.concat(reasons_for_data, reasons_for_residency),
		array.concat(reasons_for_purpose, reasons_for_empty_plan),
	),
}
