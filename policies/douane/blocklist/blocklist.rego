# The kill switch: jurisdictions, providers and single endpoints the DPO has
# blocked outright (data.reference.blocklist), whatever the data and the
# caller's risk tolerance. The entry's reason and date become the denial.
package douane.blocklist

import rego.v1

import data.douane.lib.text.text

blocked := data.reference.blocklist

deny contains {"endpoint": c.id, "reason": msg} if {
	count(blocked.jurisdictions) > 0
	some c in input.candidates
	entry := blocked.jurisdictions[c.jurisdiction]
	msg := concat("", ["jurisdiction ", text(c.jurisdiction), " is blocked", since(entry), ": ", why(entry)])
}

deny contains {"endpoint": c.id, "reason": msg} if {
	count(blocked.providers) > 0
	some c in input.candidates
	entry := blocked.providers[c.provider]
	msg := concat("", ["provider ", text(c.provider), " is blocked", since(entry), ": ", why(entry)])
}

deny contains {"endpoint": c.id, "reason": msg} if {
	count(blocked.endpoints) > 0
	some c in input.candidates
	entry := blocked.endpoints[c.id]
	msg := concat("", ["endpoint ", text(c.id), " is blocked", since(entry), ": ", why(entry)])
}

default since(_) := ""

since(entry) := concat("", [" since ", text(entry.since)]) if object.get(entry, "since", null) != null

# An entry without a reason still blocks: the block is what the DPO meant.
why(entry) := text(object.get(entry, "reason", "no reason recorded"))
