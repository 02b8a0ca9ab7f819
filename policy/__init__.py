"""Usage policies: the PolicyDecisionPoint port and its adapters (ODRL compilation comes next)."""

from policy.pdp import Decision, PolicyCompileError, PolicyDecisionPoint, RegoPDP, make_pdp

__all__ = ["Decision", "PolicyCompileError", "PolicyDecisionPoint", "RegoPDP", "make_pdp"]
