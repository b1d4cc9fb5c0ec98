# Every concern that rules an endpoint out whatever the task needs: data
# residency and GDPR categories, geopolitical risk, blocks, purpose
# limitation, the latency budget, availability. The quality concern chooses
# a tier among what is left, so tiers can never make a non-compliant
# endpoint eligible.
package douane.eligibility

import rego.v1

import data.douane.availability
import data.douane.blocklist
import data.douane.latency
import data.douane.purpose
import data.douane.residency
import data.douane.risk

denials := ((((residency.deny | risk.deny) | blocklist.deny) | purpose.deny) | latency.deny) | availability.deny

denied_ids := {d.endpoint | some d in denials}
