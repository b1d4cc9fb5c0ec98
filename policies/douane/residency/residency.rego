# Where inference may run: the caller's residency request, and the GDPR
# categories found in the prompt. Region facts are DPO data
# (data.reference.geography.eu_regions).
package douane.residency

import rego.v1

import data.douane.lib.text.text
import data.douane.lib.text.words

eu_regions := {r | some r in data.reference.geography.eu_regions}

in_eu(candidate) if candidate.region in eu_regions

# Personal or special-category data stays in EU regions or on endpoints we run
# ourselves: a self-hosted endpoint is under our own processing agreement.
deny contains {"endpoint": c.id, "reason": msg} if {
	data.douane.sensitivity.level == "special"
	some c in input.candidates
	not in_eu(c)
	not c.self_hosted == true
	msg := concat("", [
		"special-category data (", words(data.douane.sensitivity.special_categories),
		") may only go to EU-region or self-hosted endpoints; this endpoint runs in region ", text(c.region),
	])
}

deny contains {"endpoint": c.id, "reason": msg} if {
	data.douane.sensitivity.level == "personal"
	some c in input.candidates
	not in_eu(c)
	not c.self_hosted == true
	msg := concat("", ["personal data may only go to EU-region or self-hosted endpoints; this endpoint runs in region ", text(c.region)])
}

# An explicit EU residency request is about where the data is processed, so a
# self-hosted endpoint outside the EU does not satisfy it.
deny contains {"endpoint": c.id, "reason": msg} if {
	input.request.residency == "eu"
	some c in input.candidates
	not in_eu(c)
	msg := concat("", ["the request asked for EU residency; this endpoint runs in region ", text(c.region)])
}
