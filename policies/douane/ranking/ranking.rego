# Orders eligible endpoints best first: cheapest, then fastest, then by id so
# equal endpoints always come out in the same order.
package douane.ranking

import rego.v1

# Arrays compare element by element, so sorting [cost, latency, id] tuples
# gives the tie-break order directly.
cheapest_first(candidates) := [t[2] | some t in sorted_keys(candidates)]

sorted_keys(candidates) := sort([[c.estimated_cost_usd, c.latency_p95_ms, c.id] | some c in candidates])
