"""The privacy layer on a connector: DP aggregate queries under agreements, the epsilon ledger."""
