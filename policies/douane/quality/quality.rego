# Good enough, cheapest: the quality tier a request needs, the capabilities
# it uses, and (for tenants that enable it) a cheaper first try. Tier and
# capability facts are catalog data on each candidate; which tier a task
# needs is data.reference.quality.
package douane.quality

import rego.v1

import data.douane.eligibility
import data.douane.lib.text.text
import data.douane.ranking

settings := data.reference.quality

rank := {tier: i | some i, tier in settings.tiers}

# An input without an estimate (recorded before tiers existed, a DPO's fixture)
# asks for nothing: replaying it gives the decision it got then.
complexity_level := object.get(object.get(input.request, "complexity", {}), "level", "simple")

# What raises the tier: the estimate, the request's own minimum, floors.
asked contains settings.tier_for_complexity[complexity_level]

asked contains input.request.min_tier if is_string(input.request.min_tier)

asked contains settings.floors.tenants[input.request.tenant]

asked contains settings.floors.purposes[input.request.purpose]

# An unknown tier name counts as the highest: never weaker than asked.
asked_ranks contains object.get(rank, tier, count(settings.tiers) - 1) if some tier in asked

default needed_rank := 0

needed_rank := max(asked_ranks) if count(asked_ranks) > 0

needed_tier := settings.tiers[needed_rank]

# Capabilities are hard: a model that cannot take tools or images fails the request.
needs := object.get(input.request, "needs", [])

capability_deny contains {"endpoint": c.id, "reason": msg} if {
	count(needs) > 0
	some c in input.candidates
	some need in needs
	not need in object.get(c, "capabilities", [])
	msg := concat("", ["the request needs ", text(need), "; this endpoint's model does not offer it"])
}

# One comparison per candidate (this runs on every request); a candidate
# without a window is not denied for it.
tokens := input.request.estimated_tokens if is_number(input.request.estimated_tokens)

capability_deny contains {"endpoint": c.id, "reason": msg} if {
	some c in input.candidates
	c.context_window < tokens
	msg := concat("", [
		"the request needs about ", text(tokens), " tokens of context; this endpoint's model takes ", text(c.context_window),
	])
}

incapable_ids := {d.endpoint | some d in capability_deny}

# A candidate without a tier is standard (the catalog's default); one with a
# tier name the data does not know is trusted as little as the weakest.
candidate_rank(c) := object.get(rank, object.get(c, "tier", "standard"), 0)

# What compliance and capabilities leave, and the best tier among it.
open := [c | some c in input.candidates; not c.id in eligibility.denied_ids; not c.id in incapable_ids]

best_open_rank := max([candidate_rank(c) | some c in open])

# The tier actually required: the needed one; or, when nothing eligible has
# it and the data says so, the best tier that is left.
default required_rank := 0

required_rank := needed_rank if {
	not best_open_rank < needed_rank
}

required_rank := best_open_rank if {
	best_open_rank < needed_rank
	settings.when_unavailable == "best_available"
}

required_rank := needed_rank if {
	best_open_rank < needed_rank
	settings.when_unavailable != "best_available"
}

required_tier := settings.tiers[required_rank]

# Cascade: the cheapest endpoint one tier below the required one is tried
# first, for a tenant that enabled it, when the request names a check of the
# answer and is not a stream; the rest of the plan stays at the required tier.
cascade_check := input.request.cascade_check if {
	input.request.tenant in settings.cascade.tenants
	input.request.cascade_check in settings.cascade.checks
	not input.request.stream == true
}

cascade_first := ranked[0] if {
	cascade_check
	# Something to escalate to: an eligible endpoint of the required tier
	# (with when_unavailable "deny" there may be none).
	some top in open
	candidate_rank(top) == required_rank
	ranked := ranking.cheapest_first([c | some c in open; candidate_rank(c) == required_rank - 1])
}

tier_deny contains {"endpoint": c.id, "reason": msg} if {
	some c in open
	candidate_rank(c) < required_rank
	not c.id == cascade_first
	msg := concat("", [
		"the task needs a ", required_tier, " model (complexity ", text(complexity_level),
		"); this endpoint's model is ", text(object.get(c, "tier", "of no stated tier")),
	])
}

deny := capability_deny | tier_deny

default reasons := []

reasons := [msg] if {
	required_rank < needed_rank
	msg := concat("", [
		"no eligible endpoint offers the ", needed_tier, " tier this task needs; served on the best eligible tier, ",
		required_tier,
	])
}

# What the decision reports about quality (no prompt text: names and numbers).
summary := object.union(
	{"complexity": complexity_level, "needed_tier": needed_tier, "tier": required_tier},
	cascade_summary,
)

default cascade_summary := {}

cascade_summary := {"cascade": {"endpoint": cascade_first, "check": cascade_check}} if cascade_first
