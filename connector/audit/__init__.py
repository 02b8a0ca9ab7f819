"""The tamper-evident audit log (issue 8). So far: the RFC 9162 Merkle tree it will be built on."""
