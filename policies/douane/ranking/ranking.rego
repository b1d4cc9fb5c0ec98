# Orders eligible endpoints best first: cheapest, then fastest, then by id so
# equal endpoints always come out in the same order; and keeps the first
# fallback in another jurisdiction than the first choice where one is
# eligible, so losing one country's providers never empties the plan's head.
package douane.ranking

import rego.v1

# Arrays compare element by element, so sorting [cost, latency, id] tuples
# gives the tie-break order directly.
cheapest_first(candidates) := [t[2] | some t in sort([[c.estimated_cost_usd, c.latency_p95_ms, c.id] | some c in candidates])]

# The plan: the cheapest endpoint, then the cheapest one in another
# jurisdiction (if any is eligible), then the rest, cheapest first.
plan(candidates) := ranked if {
	ranked := cheapest_first(candidates)
	count(ranked) < 2
} else := array.concat([first, other], [id | some id in ranked; id != first; id != other]) if {
	ranked := cheapest_first(candidates)
	jurisdiction := {c.id: c.jurisdiction | some c in candidates}
	first := ranked[0]
	others := [id | some id in ranked; jurisdiction[id] != jurisdiction[first]]
	count(others) > 0
	other := others[0]
} else := cheapest_first(candidates)
