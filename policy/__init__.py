"""Usage policies: the PolicyDecisionPoint port and its adapters (ODRL compilation comes next)."""

from policy.offers import default_offer
from policy.pdp import Decision, PolicyCompileError, PolicyDecisionPoint, RegoPDP, make_pdp

__all__ = [
    "Decision",
    "default_offer",
    "PolicyCompileError",
    "PolicyDecisionPoint",
    "RegoPDP",
    "make_pdp",
]
