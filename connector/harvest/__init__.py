"""Harvesting open-data portals into a connector's tables and catalogue."""
