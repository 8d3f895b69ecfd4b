"""The classic (DOCKER_BUILDKIT=0) image builder: Dockerfile parsing, build context and
.dockerignore, the step dispatchers, the image-walking cache and the service that runs
a build for POST /build.  It knows nothing of HTTP."""

from tugboat.engine.builder.options import BuildOptions
from tugboat.engine.builder.service import BuildService
from tugboat.engine.builder.steps import BuildFailed

__all__ = ["BuildFailed", "BuildOptions", "BuildService"]
