"""DCAT-AP 3 dataset descriptions, SHACL validation, catalogue store and search (issue #4)."""
