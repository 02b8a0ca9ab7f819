# Gemello baseline policy: fail closed.
#
# Until a steward attaches an ODRL policy to a dataset (compiled to Rego by policy/),
# every usage request is denied with a reason a person can read.
package gemello.decision

import rego.v1

default allow := false

reasons contains "no usage policy grants this request (the baseline denies everything)" if {
	not allow
}

result := {"allow": allow, "reasons": reasons}
