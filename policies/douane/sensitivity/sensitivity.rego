# Classifies what the prompt contains, from the detector's findings only.
# The entity -> GDPR category map and the confidence threshold are DPO data
# (data.reference.gdpr), so changing a category never means editing Rego.
package douane.sensitivity

import rego.v1

entity_map := data.reference.gdpr.entity_categories

not_personal_alone := {name | some name in data.reference.gdpr.not_personal_alone}

unknown := data.reference.gdpr.unknown_entity

# An entity type counts only when the detector saw it at least once with a
# score at or above the map's threshold; weaker hits are detector noise.
counted_entities contains name if {
	some name, finding in input.findings.entities
	finding.count > 0
	finding.max_score >= entity_map[name].min_score
}

# A type nobody has classified yet (e.g. from a newly added recognizer)
# counts as unknown_entity says, so new detections are never ignored by default.
counted_entities contains name if {
	some name, finding in input.findings.entities
	finding.count > 0
	not entity_map[name]
	not name in not_personal_alone
	finding.max_score >= unknown.min_score
}

categories contains entity_map[name].category if {
	some name in counted_entities
}

categories contains unknown.category if {
	some name in counted_entities
	not entity_map[name]
}

# Art. 9 special categories, and Art. 10 criminal data, which the DPO lists
# as restricted: both are handled with the strictest rules.
special_categories contains category if {
	some category in categories
	startswith(category, "special:")
}

special_categories contains category if {
	some category in categories
	category in data.reference.gdpr.restricted_categories
}

# Written as three exclusive rules instead of an else-chain: every rule body
# says on its own when it applies.
default level := "none"

level := "special" if count(special_categories) > 0

level := "personal" if {
	count(special_categories) == 0
	count(categories) > 0
}
