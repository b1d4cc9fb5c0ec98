# Classifies what the prompt contains, from the detector's findings only.
# The entity -> GDPR category map and the confidence threshold are DPO data
# (data.reference.gdpr), so changing a category never means editing Rego.
package douane.sensitivity

import rego.v1

gdpr := data.reference.gdpr

not_personal_alone := {name | some name in gdpr.not_personal_alone}

# How an entity type is classified: its own entry, or - for a type nobody has
# classified yet, e.g. from a newly added recognizer - the unknown-entity rule,
# so new detections make a prompt personal until the DPO decides otherwise.
rule_for(name) := gdpr.entity_categories[name]

rule_for(name) := gdpr.unknown_entity if {
	not gdpr.entity_categories[name]
	not name in not_personal_alone
}

# An entity type counts only when the detector saw it at least once with a
# score at or above its threshold; weaker hits are detector noise.
counted_entities contains name if {
	some name, finding in input.findings.entities
	finding.count > 0
	finding.max_score >= rule_for(name).min_score
}

categories contains rule_for(name).category if {
	some name in counted_entities
}

special_categories contains category if {
	some category in categories
	startswith(category, "special:")
}

# Written as three exclusive rules instead of an else-chain: every rule body
# says on its own when it applies.
default level := "none"

level := "special" if count(special_categories) > 0

level := "personal" if {
	count(special_categories) == 0
	count(categories) > 0
}
