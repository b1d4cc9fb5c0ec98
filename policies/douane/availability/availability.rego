# Endpoints that cannot or must not serve this request regardless of the data:
# unhealthy ones, and every endpoint but the one a caller pinned by id.
package douane.availability

import rego.v1

import data.douane.lib.text.text

# Only an explicit true counts as healthy: a missing flag is not evidence the
# endpoint works.
deny contains {"endpoint": c.id, "reason": "endpoint is marked unhealthy"} if {
	some c in input.candidates
	not c.healthy == true
}

deny contains {"endpoint": c.id, "reason": msg} if {
	pinned := input.request.model
	pinned != "auto"
	some c in input.candidates
	c.id != pinned
	msg := concat("", ["the request asked for model ", text(pinned)])
}
