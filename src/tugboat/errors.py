"""Errors the engine raises.

The engine never speaks HTTP: it raises one of these, and the server maps the
class to a status code in exactly one place (``tugboat.server.errors``).
Messages follow dockerd's wording, because users and scripts match on them.
"""


class TugboatError(Exception):
    """Base class; an unexpected failure (HTTP 500)."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidArgument(TugboatError):
    """The request is malformed or asks for something impossible (400)."""


class Unauthorized(TugboatError):
    """Credentials missing or wrong (401)."""


class Forbidden(TugboatError):
    """Not allowed in the current state, e.g. removing a running container without force (403)."""


class NotFound(TugboatError):
    """No such container, image, exec, network or volume (404)."""


class Conflict(TugboatError):
    """Name already in use, image in use by a container, ambiguous prefix (409)."""


class NotModified(TugboatError):
    """Nothing to do: starting a running container, stopping a stopped one (304)."""


class Unavailable(TugboatError):
    """A dependency (runc, a registry) is not reachable (503)."""


class NotImplementedYet(TugboatError):
    """A documented endpoint or option that Tugboat does not support yet (501)."""
