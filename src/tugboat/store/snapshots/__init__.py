"""Snapshot drivers: how layer directories are stacked into a container's root filesystem."""
