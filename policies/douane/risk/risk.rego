# Jurisdiction risk against the caller's risk tolerance. Levels, the
# jurisdiction table and the tolerance table are DPO data (data.reference.risk).
package douane.risk

import rego.v1

import data.douane.lib.text.text

ref := data.reference.risk

eu_eea := {m | some m in data.reference.geography.eu_eea_members}

# Position of a level in the ordered list; comparing positions avoids
# hard-coding "high > medium" in Rego.
rank(level) := i if ref.levels[i] == level

default known(_) := false

known(jurisdiction) if jurisdiction in eu_eea

known(jurisdiction) if ref.jurisdictions[jurisdiction]

level_of(jurisdiction) := ref.eu_eea_level if jurisdiction in eu_eea

level_of(jurisdiction) := ref.jurisdictions[jurisdiction] if {
	not jurisdiction in eu_eea
	ref.jurisdictions[jurisdiction]
}

# A jurisdiction nobody has assessed is treated as the riskiest: fail closed.
level_of(jurisdiction) := ref.unknown_level if not known(jurisdiction)

tolerance := input.request.risk_tolerance

# An unrecognised tolerance accepts only the lowest level, again failing closed.
default max_level := "low"

max_level := ref.tolerance_max_risk[tolerance]

deny contains {"endpoint": c.id, "reason": msg} if {
	some c in input.candidates
	level := level_of(c.jurisdiction)
	rank(level) > rank(max_level)
	msg := concat("", [
		"jurisdiction ", text(c.jurisdiction), unknown_note(c.jurisdiction), " carries ", level,
		" risk, above what risk_tolerance ", text(tolerance), " accepts (at most ", max_level, ")",
	])
}

default unknown_note(_) := ""

unknown_note(jurisdiction) := " (not in the risk table, so treated as the highest risk)" if not known(jurisdiction)
