"""Federated compute at the holder: model stage runs under policy, budget and disclosure control."""
