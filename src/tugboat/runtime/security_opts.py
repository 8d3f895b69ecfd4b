"""HostConfig.SecurityOpt and the host's security facilities, as dockerd 20.10 reads them.

dockerd's parseSecurityOpt (at create): "no-new-privileges", "label=...", "apparmor=<profile>",
"seccomp=<profile JSON>|unconfined", "no-new-privileges=<bool>"; ":" still works as the
separator; anything else is 'invalid --security-opt ...'. AppArmor only applies where the host
has it enabled (module parameter "Y" and apparmor_parser installed); elsewhere dockerd ignores
an apparmor= option, and so do we. We load no AppArmor profiles ourselves: a named profile must
already be loaded on the host (dockerd's own "docker-default" is not generated here).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tugboat.errors import InvalidArgument

APPARMOR_ENABLED = Path("/sys/module/apparmor/parameters/enabled")
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class SecurityOpts:
    no_new_privileges: bool = False
    seccomp: str | None = None      # "unconfined", a profile's JSON text, or None (default)
    apparmor: str | None = None
    labels: tuple[str, ...] = ()


def parse(opts: list[str] | None) -> SecurityOpts:
    nnp = False
    seccomp: str | None = None
    apparmor: str | None = None
    labels: list[str] = []
    for opt in opts or []:
        opt = str(opt)
        if opt == "no-new-privileges":
            nnp = True
            continue
        if opt == "disable":
            labels.append("disable")
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        key, value = opt.split(sep, 1)
        if key == "label":
            labels.append(value)
        elif key == "apparmor":
            apparmor = value
        elif key == "seccomp":
            seccomp = value
        elif key == "no-new-privileges" and value in _TRUE | _FALSE:
            nnp = value in _TRUE
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return SecurityOpts(no_new_privileges=nnp, seccomp=seccomp, apparmor=apparmor, labels=tuple(labels))


@lru_cache(maxsize=1)
def apparmor_enabled() -> bool:
    """moby's apparmor.IsEnabled: the LSM is on and its parser is installed."""
    try:
        on = APPARMOR_ENABLED.read_text().strip() == "Y"
    except OSError:
        return False
    return on and (shutil.which("apparmor_parser") is not None or os.path.exists("/sbin/apparmor_parser"))


def apparmor_profile(opts: SecurityOpts, privileged: bool) -> str | None:
    """process.apparmorProfile: the requested profile ("unconfined" for privileged containers),
    only where AppArmor is enabled; None means leave the field out."""
    if not apparmor_enabled():
        return None
    if opts.apparmor:
        return opts.apparmor
    return "unconfined" if privileged else None
