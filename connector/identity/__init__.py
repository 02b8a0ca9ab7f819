"""Partner identity: signing keys (trust list, signed requests and roles arrive with issue #3)."""
