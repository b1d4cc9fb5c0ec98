# Orders eligible endpoints best first: cheapest, then fastest, then by id so
# equal endpoints always come out in the same order; and keeps the first
# fallback in another jurisdiction than the first choice where one is
# eligible, so losing one country's providers never empties the plan's head.
package douane.ranking

import rego.v1

# Sort keys are zero-padded digit strings, not numbers: regopy 1.5.2's sort()
# orders numbers by their text ([10, 9], and 2.68e-05 after 0.000134), while
# equal-width digit strings sort the same as their values in every engine.
# regopy's sprintf %d wraps at 2^31, so a cost is two keys, whole dollars and
# nanodollars; latencies are in ms; a missing latency sorts last.
padded(x) := sprintf("%020d", [round(x)]) if {
	is_number(x)
	x >= 0
}

padded(x) := "99999999999999999999" if not is_number(x)

sort_key(c) := [
	padded(floor(c.estimated_cost_usd)),
	padded((c.estimated_cost_usd - floor(c.estimated_cost_usd)) * 1000000000),
	padded(object.get(c, "latency_p95_ms", null)),
	c.id,
]

# Arrays compare element by element, so sorting [cost, latency, id] keys
# gives the tie-break order directly.
cheapest_first(candidates) := [key[3] | some key in sort([sort_key(c) | some c in candidates])]

# The plan: the cheapest endpoint, then the cheapest one in another
# jurisdiction (if any is eligible), then the rest, cheapest first.
plan(candidates) := diversified(cheapest_first(candidates), {c.id: c.jurisdiction | some c in candidates})

diversified(ranked, jurisdiction) := ranked if count(ranked) < 2

diversified(ranked, jurisdiction) := result if {
	count(ranked) >= 2
	others := [id | some id in ranked; jurisdiction[id] != jurisdiction[ranked[0]]]
	result := array.concat([ranked[0]], array.concat(array.slice(others, 0, 1), [id | some id in ranked; id != ranked[0]; not id == others[0]]))
}
