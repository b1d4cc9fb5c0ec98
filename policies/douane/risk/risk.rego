# Jurisdiction risk against the caller's risk tolerance. Levels, the
# jurisdiction table and the tolerance table are DPO data (data.reference.risk).
package douane.risk

import rego.v1

import data.douane.lib.text.text

ref := data.reference.risk

# Jurisdiction -> level: the table first (so a DPO can rate a member state
# differently), then EU/EEA members at eu_eea_level, then unknown_level: a
# jurisdiction nobody has assessed is treated as the riskiest (fail closed).
# Lookups per candidate, not a merged table: that would be rebuilt on every
# request.
level_of(jurisdiction) := level if {
	level := ref.jurisdictions[jurisdiction]
} else := ref.eu_eea_level if {
	jurisdiction in data.reference.geography.eu_eea_members
} else := ref.unknown_level

assessed(jurisdiction) if ref.jurisdictions[jurisdiction]

assessed(jurisdiction) if jurisdiction in data.reference.geography.eu_eea_members

# Level -> position in the ordered list; comparing positions avoids
# hard-coding "high > medium" in Rego.
rank := {level: i | some i, level in ref.levels}

# object.get: a missing field must still deny with a reason (fail closed).
tolerance := object.get(input.request, "risk_tolerance", null)

# An unrecognised tolerance accepts only the lowest level, again failing closed.
max_level := object.get(ref.tolerance_max_risk, tolerance, ref.levels[0])

# Nothing can exceed a tolerance that accepts the top level: skip the lookups.
accepts_everything if rank[max_level] == count(ref.levels) - 1

deny contains {"endpoint": c.id, "reason": msg} if {
	not accepts_everything
	some c in input.candidates
	jurisdiction := object.get(c, "jurisdiction", null)
	level := level_of(jurisdiction)
	rank[level] > rank[max_level]
	msg := concat("", [
		"jurisdiction ", text(jurisdiction), unknown_note(jurisdiction), " carries ", level,
		" risk, above what risk_tolerance ", text(tolerance), " accepts (at most ", max_level, ")",
	])
}

default unknown_note(_) := ""

unknown_note(jurisdiction) := " (not in the risk table, so treated as the highest risk)" if not assessed(jurisdiction)
