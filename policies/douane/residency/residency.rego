# Where inference may run: the caller's residency request, and the GDPR
# categories found in the prompt. Region facts and the Commission's adequacy
# decisions are DPO data (data.reference.geography).
package douane.residency

import rego.v1

import data.douane.lib.text.text
import data.douane.lib.text.words
import data.douane.pseudonymisation
import data.douane.sensitivity

eu_regions := {r | some r in data.reference.geography.eu_regions}

# Reasons read fields with object.get: a missing field must still give a
# reason, since an undefined reason would drop the denial (fail open).

# Candidate ids, computed once per request: each deny rule below is then a
# set lookup per candidate instead of a function call.
in_eu := {c.id | some c in input.candidates; c.region in eu_regions}

self_hosted := {c.id | some c in input.candidates; c.self_hosted == true}

# An adequacy decision (GDPR Art. 45) covers an endpoint when its jurisdiction
# has one, inference runs in one of the regions the entry lists, and, where the
# decision covers certified organisations only (the EU-US Data Privacy
# Framework), its provider is on the entry's list.
adequate := {c.id |
	some c in input.candidates
	decision := data.reference.geography.adequacy[c.jurisdiction]
	c.region in decision.regions
	covers_provider(decision, c.provider)
}

covers_provider(decision, _) if not decision.providers

covers_provider(decision, provider) if provider in decision.providers

# Special-category (Art. 9) and criminal (Art. 10) data stay in EU regions or
# on endpoints we run ourselves: no adequacy decision, no pseudonymisation.
deny contains {"endpoint": c.id, "reason": msg} if {
	sensitivity.level == "special"
	some c in input.candidates
	not c.id in in_eu
	not c.id in self_hosted
	msg := concat("", [
		"special-category data (", words(sensitivity.special_categories),
		") may only go to EU-region or self-hosted endpoints; this endpoint runs in region ", text(object.get(c, "region", null)),
	])
}

deny contains {"endpoint": c.id, "reason": msg} if {
	sensitivity.level == "personal"
	some c in input.candidates
	not c.id in in_eu
	not c.id in self_hosted
	not c.id in adequate
	not pseudonymisation.covered[c.id]
	msg := concat("", [
		"personal data may only go to EU-region or self-hosted endpoints, or where an adequacy decision covers the endpoint; this endpoint runs in region ",
		text(object.get(c, "region", null)), " (jurisdiction ", text(object.get(c, "jurisdiction", null)), ")",
	])
}

# An explicit EU residency request is about where the data is processed, so a
# self-hosted endpoint outside the EU does not satisfy it.
deny contains {"endpoint": c.id, "reason": msg} if {
	input.request.residency == "eu"
	some c in input.candidates
	not c.id in in_eu
	msg := concat("", ["the request asked for EU residency; this endpoint runs in region ", text(object.get(c, "region", null))])
}
