"""Containers: the state store, lifecycle operations and the library objects."""
