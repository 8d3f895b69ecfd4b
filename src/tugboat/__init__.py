"""Tugboat: a Docker-compatible container engine.

Layers, dependencies pointing down only (see docs/ARCHITECTURE.md):
cli -> client -> (HTTP) -> server -> engine -> store / runtime
"""

__version__ = "0.1.0"
