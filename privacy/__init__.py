"""Differential privacy: DP aggregates, the epsilon ledger, disclosure control (issue #6)."""
