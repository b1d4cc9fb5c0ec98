# Orders eligible endpoints best first: cheapest, then fastest, then by id so
# equal endpoints always come out in the same order; and keeps the first
# fallback in another jurisdiction than the first choice where one is
# eligible, so losing one country's providers never empties the plan's head.
package douane.ranking

import rego.v1

# A sort key is one fixed-width digit string per candidate: whole dollars,
# nanodollars, latency in ms, then the id, so equal endpoints always come out
# in the same order. Not numbers: regopy 1.5.2's sort() orders numbers by
# their text ([10, 9], and 2.68e-05 after 0.000134), while zero-padded digit
# strings of equal width sort the same as their values in every engine.
# Integers only (%d): OPA's sprintf hands integral numbers to %f as Go ints,
# and regopy's %d wraps at 2^31, hence dollars and nanodollars apart.
# One sprintf per candidate and no function calls: this runs on every
# request. A candidate without a latency sorts after every measured one.
cheapest_first(candidates) := [substring(key, 28, -1) | some key in sort([key |
	some c in candidates
	cost := c.estimated_cost_usd
	cost >= 0
	dollars := floor(cost)
	latency := round(object.get(c, "latency_p95_ms", 999999999))
	key := sprintf("%010d%09d%09d%s", [dollars, round((cost - dollars) * 1000000000), latency, c.id])
])]

plan(candidates) := diversified(cheapest_first(candidates), {c.id: c.jurisdiction | some c in candidates})

diversified(ranked, jurisdiction) := ranked if count(ranked) < 2

diversified(ranked, jurisdiction) := result if {
	count(ranked) >= 2
	others := [id | some id in ranked; jurisdiction[id] != jurisdiction[ranked[0]]]
	result := array.concat([ranked[0]], array.concat(array.slice(others, 0, 1), [id | some id in ranked; id != ranked[0]; not id == others[0]]))
}
