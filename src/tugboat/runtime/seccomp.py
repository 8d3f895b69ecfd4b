"""The container's seccomp filter (OCI linux.seccomp) from a Docker-format profile.

Docker's profile format (defaultAction, archMap, syscall groups with includes/excludes by
capability, arch and minimum kernel) is what /usr/share/containers/seccomp.json and
``--security-opt seccomp=<file>`` hold; runc wants the OCI form. ``convert`` does what moby's
profiles/seccomp/seccomp.go setupSeccomp does: the architectures of the host's archMap entry,
only the syscall groups whose conditions hold for the container's bounding capabilities, this
arch and this kernel, and the spec's omitempty shape.

``for_container`` applies dockerd 20.10's WithSeccomp rules: a privileged container and
``seccomp=unconfined`` get no filter; an explicit profile (its JSON content: the CLI reads the
file) replaces the default; no default profile file means no filter, with one warning.

The containers-common file is podman's profile: it allows clone/unshare/setns/mount/keyctl to
everyone and leaves them to capabilities, so a default container could create user namespaces
(no capability needed). dockerd's own profile allows these only with CAP_SYS_ADMIN, lets clone
through without namespace flags, answers clone3 with ENOSYS (libc falls back to clone) and
denies keyctl, all with EPERM (its default action); ``docker_gates`` applies those rules of
dockerd's (as seen in the config.json it writes) to the default profile. Only a clone() with
namespace flags gets the profile's default errno (ENOSYS) instead of EPERM: a second, argument-less
rule for clone would override the one that lets plain clone() through. A profile given with
``seccomp=`` is used as it is.
"""

from __future__ import annotations

import copy
import json
import logging
import platform
from functools import lru_cache
from pathlib import Path
from typing import Any

from tugboat.errors import InvalidArgument

log = logging.getLogger(__name__)

DEFAULT_PROFILE_PATH = Path("/usr/share/containers/seccomp.json")
UNCONFINED = "unconfined"

# uname machine -> Go's GOARCH, the names profiles use in includes/excludes "arches"
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386", "armv7l": "arm",
           "ppc64le": "ppc64le", "s390x": "s390x", "mips64": "mips64", "riscv64": "riscv64"}
# GOARCH -> libseccomp's name of the native arch, the key of a profile's archMap
NATIVE_TO_SECCOMP = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "386": "SCMP_ARCH_X86",
                     "arm": "SCMP_ARCH_ARM", "mips64": "SCMP_ARCH_MIPS64", "mips64le": "SCMP_ARCH_MIPSEL64",
                     "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
                     "riscv64": "SCMP_ARCH_RISCV64"}


# what dockerd's default profile allows only with CAP_SYS_ADMIN
ADMIN_ONLY = ("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
              "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
              "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
              "umount", "umount2", "unshare")
DOCKER_DENIED = ("keyctl",)   # the kernel keyring is not namespaced
# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone() without them needs no CAP_SYS_ADMIN
CLONE_NAMESPACE_FLAGS = 0x7E020000
ENOSYS, EPERM = 38, 1


def docker_gates(profile: dict[str, Any]) -> dict[str, Any]:
    """``profile`` with dockerd's CAP_SYS_ADMIN gates on namespace and mount syscalls."""
    out = copy.deepcopy(profile)
    gated = set(ADMIN_ONLY) | set(DOCKER_DENIED)
    groups: list[dict[str, Any]] = []
    for group in out.get("syscalls") or []:
        unconditional = not group.get("args") and not group.get("includes") and not group.get("excludes")
        if group.get("action") == "SCMP_ACT_ALLOW" and unconditional:
            names = [n for n in group.get("names") or [] if n not in gated]
            if not names:
                continue
            group["names"] = names
        groups.append(group)
    admin = ["CAP_SYS_ADMIN"]
    groups += [
        {"names": list(ADMIN_ONLY), "action": "SCMP_ACT_ALLOW", "includes": {"caps": admin}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": admin, "arches": ["s390", "s390x"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",   # s390's clone takes the flags second
         "args": [{"index": 1, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
         "includes": {"arches": ["s390", "s390x"]}, "excludes": {"caps": admin}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS, "excludes": {"caps": admin}},
        {"names": [n for n in ADMIN_ONLY if n not in ("clone", "clone3")], "action": "SCMP_ACT_ERRNO",
         "errnoRet": EPERM, "excludes": {"caps": admin}},
        {"names": list(DOCKER_DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM},
    ]
    out["syscalls"] = groups
    return out


def host_arch() -> str:
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for p in text.split("-", 1)[0].split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def host_kernel() -> tuple[int, ...]:
    return _version_tuple(platform.release())


@lru_cache(maxsize=1)
def default_profile() -> dict[str, Any] | None:
    """The parsed default profile, or None (and one warning) when the file is missing."""
    try:
        return docker_gates(dict(json.loads(DEFAULT_PROFILE_PATH.read_text())))
    except (OSError, ValueError) as e:
        log.warning("default seccomp profile %s unusable (%s): containers run without seccomp",
                    DEFAULT_PROFILE_PATH, e)
        return None


def _matches(cond: dict[str, Any] | None, caps: set[str], arch: str, kernel: tuple[int, ...],
             include: bool) -> bool:
    """Whether a group's includes (all must hold) / excludes (any excludes) let it through."""
    cond = cond or {}
    arches = cond.get("arches") or []
    need_caps = cond.get("caps") or []
    min_kernel = cond.get("minKernel")
    if include:
        if arches and arch not in arches:
            return False
        if any(c not in caps for c in need_caps):
            return False
        return not (min_kernel and kernel < _version_tuple(str(min_kernel)))
    if arches and arch in arches:
        return False
    if any(c in caps for c in need_caps):
        return False
    return not (min_kernel and kernel >= _version_tuple(str(min_kernel)))


def _arg(a: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"index": int(a.get("index", 0)), "value": int(a.get("value", 0))}
    if a.get("valueTwo"):
        out["valueTwo"] = int(a["valueTwo"])
    out["op"] = a.get("op", "")
    return out


def convert(profile: dict[str, Any], caps: list[str], arch: str | None = None,
            kernel: tuple[int, ...] | None = None) -> dict[str, Any] | None:
    """moby's setupSeccomp: the OCI linux.seccomp for a container with bounding set ``caps``."""
    arch = arch or host_arch()
    kernel = kernel if kernel is not None else host_kernel()
    if not profile.get("defaultAction") and not profile.get("syscalls"):
        return None
    if profile.get("architectures") and profile.get("archMap"):
        raise InvalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, "
                              "use either 'architectures' or 'archMap'")
    out: dict[str, Any] = {"defaultAction": profile.get("defaultAction", "")}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
    arches = list(profile.get("architectures") or [])
    native = NATIVE_TO_SECCOMP.get(arch)
    for entry in profile.get("archMap") or []:
        if native and entry.get("architecture") == native:
            arches = [native, *(entry.get("subArchitectures") or [])]
            break
    if arches:
        out["architectures"] = arches
    for key in ("flags", "listenerPath", "listenerMetadata"):
        if profile.get(key):
            out[key] = profile[key]
    capset = set(caps)
    calls: list[dict[str, Any]] = []
    for group in profile.get("syscalls") or []:
        names = list(group.get("names") or [])
        if group.get("name"):
            if names:
                raise InvalidArgument("'name' and 'names' were specified in the seccomp profile, "
                                      "use either 'name' or 'names'")
            names = [group["name"]]
        if not _matches(group.get("excludes"), capset, arch, kernel, include=False):
            continue
        if not _matches(group.get("includes"), capset, arch, kernel, include=True):
            continue
        call: dict[str, Any] = {"names": names, "action": group.get("action", "")}
        if group.get("errnoRet") is not None:
            call["errnoRet"] = int(group["errnoRet"])
        if group.get("args"):
            call["args"] = [_arg(a) for a in group["args"]]
        calls.append(call)
    if calls:
        out["syscalls"] = calls
    return out


def load_profile(text: str, caps: list[str]) -> dict[str, Any] | None:
    """A profile given as JSON text (``seccomp=<json>``), as moby's LoadProfile."""
    try:
        profile = json.loads(text)
        if not isinstance(profile, dict):
            raise ValueError("json: cannot unmarshal into Go value of type seccomp.Seccomp")
    except ValueError as e:
        raise InvalidArgument(f"Decoding seccomp profile failed: {e}") from None
    return convert(profile, caps)


def for_container(profile_opt: str | None, privileged: bool, caps: list[str]) -> dict[str, Any] | None:
    """linux.seccomp for a container; ``profile_opt`` is the value of ``seccomp=`` or None."""
    if privileged or profile_opt == UNCONFINED:
        return None
    if profile_opt:
        return load_profile(profile_opt, caps)
    default = default_profile()
    return convert(default, caps) if default is not None else None


def security_options() -> list[str]:
    """The seccomp part of GET /info SecurityOptions."""
    return ["name=seccomp,profile=default"] if default_profile() is not None else []
