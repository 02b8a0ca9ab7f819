"""The connector's dataset register: what tables this partner holds (catalogue builds on it)."""
