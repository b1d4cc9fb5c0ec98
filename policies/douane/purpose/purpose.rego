# Purpose limitation (GDPR Art. 5(1)(b)): a tenant may only use the purposes
# its processing is registered for (data.reference.purposes). A request with
# another purpose goes nowhere, and every endpoint says why.
package douane.purpose

import rego.v1

import data.douane.lib.text.text
import data.douane.lib.text.words

registry := data.reference.purposes

# Read with object.get: a request without a purpose or tenant must still be
# refused with a reason, not slip through an undefined rule.
purpose := object.get(input.request, "purpose", null)

tenant := object.get(input.request, "tenant", null)

registered := object.get(registry.tenants, tenant, registry.default)

allowed if purpose in registered

reason := concat("", [
	"purpose ", text(purpose), " is not registered for tenant ", text(tenant),
	" (registered: ", words(registered), ")",
])

deny contains {"endpoint": c.id, "reason": reason} if {
	not allowed
	some c in input.candidates
}
