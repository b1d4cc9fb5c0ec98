# Jurisdiction risk against the caller's risk tolerance. Levels, the
# jurisdiction table and the tolerance table are DPO data (data.reference.risk).
package douane.risk

import rego.v1

import data.douane.lib.text.text

ref := data.reference.risk

# Jurisdiction -> level: EU/EEA members at eu_eea_level, then the table (which
# wins, so a DPO can rate a member state differently). Built once per query.
levels := object.union({m: ref.eu_eea_level | some m in data.reference.geography.eu_eea_members}, ref.jurisdictions)

# Level -> position in the ordered list; comparing positions avoids
# hard-coding "high > medium" in Rego.
rank := {level: i | some i, level in ref.levels}

# A jurisdiction nobody has assessed is treated as the riskiest: fail closed.
level_of(jurisdiction) := object.get(levels, jurisdiction, ref.unknown_level)

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
	level := object.get(levels, jurisdiction, ref.unknown_level)
	rank[level] > rank[max_level]
	msg := concat("", [
		"jurisdiction ", text(jurisdiction), unknown_note(jurisdiction), " carries ", level,
		" risk, above what risk_tolerance ", text(tolerance), " accepts (at most ", max_level, ")",
	])
}

default unknown_note(_) := ""

unknown_note(jurisdiction) := " (not in the risk table, so treated as the highest risk)" if object.get(levels, jurisdiction, null) == null
