"""Build arguments and per-stage state (moby builder/dockerfile/buildargs.go, dispatchers.go).

Build args are scoped: ``--build-arg`` values are only visible where an ``ARG`` declares
them (per stage; ARGs before the first FROM only for FROM lines, unless redeclared), the
proxy variables are predefined, ENV shadows an ARG of the same name, and which ones a
RUN saw becomes part of its cache key and history ("|1 FOO=bar /bin/sh -c ...").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

BUILTIN_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def env_key(kv: str) -> str:
    return kv.partition("=")[0]


class BuildArgs:
    def __init__(self, options: dict[str, str | None]) -> None:
        self.options = dict(options)            # --build-arg (None: declared without a value)
        self.meta: dict[str, str | None] = {}   # ARGs before the first FROM
        self.allowed: dict[str, str | None] = {}
        self.referenced: set[str] = set()

    def clone_for_stage(self) -> BuildArgs:
        c = BuildArgs(self.options)
        c.meta = self.meta
        c.referenced = self.referenced          # shared: "consumed" is build-wide
        return c

    def value(self, key: str, default: str | None) -> str | None:
        if key in self.options and self.options[key] is not None:
            return self.options[key]
        return default

    def add_meta(self, key: str, default: str | None) -> None:
        self.meta[key] = default
        self.referenced.add(key)

    def add_arg(self, key: str, default: str | None) -> None:
        self.allowed[key] = default
        self.referenced.add(key)

    def meta_env(self) -> list[str]:
        """What FROM lines may use: the meta ARGs, overridden by --build-arg."""
        out = []
        for k, default in self.meta.items():
            v = self.value(k, default)
            if v is not None:
                out.append(f"{k}={v}")
        return out

    def filter_allowed(self, env: list[str]) -> list[str]:
        """FilterAllowed: declared (or predefined and given) args not shadowed by ENV."""
        shadow = {env_key(e) for e in env}
        out = []
        for k, default in self.allowed.items():
            if k in shadow:
                continue
            v = self.value(k, default if default is not None else self.meta.get(k))
            if v is not None:
                out.append(f"{k}={v}")
        for k in BUILTIN_ARGS:
            if k in self.allowed or k in shadow:
                continue
            if self.options.get(k) is not None:
                out.append(f"{k}={self.options[k]}")
        return out

    def is_referenced_or_not_builtin(self, key: str) -> bool:
        return key not in BUILTIN_ARGS or key in self.allowed

    def unused(self) -> list[str]:
        return sorted(k for k in self.options if k not in self.referenced and k not in BUILTIN_ARGS)


@dataclass
class StageState:
    """What a stage has built so far."""

    name: str
    image_id: str = ""                      # "" = scratch with no step committed yet
    config: dict[str, Any] = field(default_factory=dict)   # the runConfig (container.Config)
    base_config: dict[str, Any] = field(default_factory=dict)   # the FROM image's whole config
    maintainer: str = ""
    args: BuildArgs = field(default_factory=lambda: BuildArgs({}))

    def env(self) -> list[str]:
        return list(self.config.get("Env") or [])

    def expansion_env(self) -> list[str]:
        """runConfig.Env + the allowed build args (what $VAR in instructions sees)."""
        env = self.env()
        return env + self.args.filter_allowed(env)

    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or ["/bin/sh", "-c"])

    def copy_config(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)
