"""The builder's view of .dockerignore matching.  The implementation lives in the shared
leaf ``tugboat.api.dockerignore`` because the CLI (which must not import the engine)
applies the same patterns when it sends a context."""

from tugboat.api.dockerignore import PatternMatcher, matches, read_patterns

__all__ = ["PatternMatcher", "matches", "read_patterns"]
