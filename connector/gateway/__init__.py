"""The consumer side of a connector: talking to other members of the dataspace."""
