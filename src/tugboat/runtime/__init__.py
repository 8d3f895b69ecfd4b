"""The runtime layer: the only code in Tugboat that talks to runc, mount(2),
cgroups and the kernel.  Interface: docs/TEAM_CONTRACTS.md ("runtime/ interface").

Modules: types (interface values), spec (OCI config.json as dockerd builds it),
users (Config.User resolution in the rootfs), runc (runc CLI wrapper), mounts
(rootfs mounts), cgroups (v1/v2 layout and removal), monitor (the per-container
monitor process, stdlib only), container_runtime (ContainerRuntime),
chroot_archive (docker cp's file work in a child chrooted into a container's root).
"""

from tugboat.runtime.container_runtime import ContainerRuntime
from tugboat.runtime.types import ExitStatus, MonitorRef, ProcessSpec, Started, StartRequest

__all__ = ["ContainerRuntime", "ExitStatus", "MonitorRef", "ProcessSpec", "StartRequest", "Started"]
