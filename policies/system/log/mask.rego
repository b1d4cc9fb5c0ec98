# OPA's decision-log masking (data.system.log.mask): OPA erases these JSON
# pointers from each decision-log event before writing it. The policy input
# carries no prompt text by design; what is left that an app or a tenant
# chooses freely, or that identifies who asked, is erased too. The embedded
# engine keeps no decision log (the audit table is the log), so this file only
# matters on an OPA server (docker-compose turns decision logs on).
package system.log

import rego.v1

mask contains "/input/request/tenant"

mask contains "/input/request/key_id"

mask contains "/input/request/purpose"
