# Pseudonymised transfers the DPO opted into (data.reference.pseudonymisation):
# personal data may go to an endpoint outside the EU when every personal entity
# type in the request can be replaced by a placeholder first. The gateway does
# the replacing; this package only says which endpoints it unlocks and for
# which entity types (the decision's `obligations`).
package douane.pseudonymisation

import rego.v1

import data.douane.sensitivity

rules := data.reference.pseudonymisation.rules

# (`some name, f in ...` cannot open a comprehension: rego-cpp reads the comma
# as an element separator.)
found := {name | some name; input.findings.entities[name].count > 0}

# Indexes of the rules that fit this request: its purpose, and every entity
# type that made it personal is one the rule replaces. Special-category data
# is never covered (its level is "special", not "personal").
applicable contains i if {
	sensitivity.level == "personal"
	some i, rule in rules
	input.request.purpose in rule.purposes
	every name in sensitivity.counted_entities {
		name in rule.entities
	}
}

# Candidate id -> the entity types to replace before sending there.
default covered := {}

covered := {c.id: sort([e | some e in entities]) |
	some c in input.candidates
	entities := {e |
		some i in applicable
		c.jurisdiction in rules[i].jurisdictions
		some e in rules[i].entities
		e in found
	}
	count(entities) > 0
} if count(applicable) > 0
