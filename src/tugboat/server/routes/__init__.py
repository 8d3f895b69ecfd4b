"""Route tables, one module per resource as moby's daemon/server/router/<resource>/.

Each handler parses the request, calls ONE engine method with typed arguments
and encodes the result; nothing here decides HTTP status codes for errors
(server/errors.py does).
"""

from tugboat.server.router import Route
from tugboat.server.routes import (
    auth,
    build,
    container_archive,
    container_extras,
    container_update,
    containers,
    events,
    exec,
    images,
    networks,
    system,
    volumes,
)


def all_routes() -> list[Route]:
    return [*system.ROUTES, *containers.ROUTES, *container_extras.ROUTES, *container_archive.ROUTES,
            *container_update.ROUTES,
            *events.ROUTES, *exec.ROUTES, *images.ROUTES, *auth.ROUTES, *build.ROUTES,
            *volumes.ROUTES, *networks.ROUTES]
