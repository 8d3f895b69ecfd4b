"""A client for the OCI Distribution / Docker Registry HTTP API v2, as dockerd's
distribution package uses it: endpoint choice (secure or not), the auth dance
(Basic or Bearer tokens), manifests and blobs, with every byte checked against
its digest.  The image service's pull and push (engine/image_pull.py,
engine/image_push.py) are built on it; nothing here touches the local stores
except ``metadata`` (which blob digests stand for which local layers).
"""

from tugboat.engine.registry.auth import AuthConfig, decode_auth_header
from tugboat.engine.registry.client import RegistryClient, Repository
from tugboat.engine.registry.endpoint import RegistryOptions

__all__ = ["AuthConfig", "RegistryClient", "RegistryOptions", "Repository", "decode_auth_header"]
