# Classifies what the prompt contains, from the detector's findings only.
# The entity -> GDPR category map and the confidence threshold are DPO data
# (data.reference.gdpr), so changing a category never means editing Rego.
package douane.sensitivity

import rego.v1

entity_map := data.reference.gdpr.entity_categories

# An entity type counts only when the detector saw it at least once with a
# score at or above the map's threshold; weaker hits are detector noise.
counted_entities contains name if {
	some name, finding in input.findings.entities
	finding.count > 0
	finding.max_score >= entity_map[name].min_score
}

categories contains entity_map[name].category if {
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
