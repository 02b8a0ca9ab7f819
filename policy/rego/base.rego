# Gemello baseline: fail closed.
#
# A request for a dataset with no usage policy is answered here: denied, with a reason a
# person can read. Policies themselves are compiled into their own packages (policy/compiler.py).
package gemello.decision

import rego.v1

default allow := false

reasons contains sprintf("no usage policy covers %v", [input.target]) if {
	not allow
	is_string(input.target)
}

reasons contains "no usage policy grants this request (the baseline denies everything)" if {
	not allow
	not is_string(input.target)
}

result := {"allow": allow, "reasons": reasons}
