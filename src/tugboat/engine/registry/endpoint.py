"""Where a registry lives and whether plain HTTP is allowed (dockerd's registry service).

``docker.io`` is served by https://registry-1.docker.io.  A registry is *insecure* when
daemon.json lists it in ``insecure-registries`` (by host[:port] or by CIDR) or when its host
is a loopback address (127.0.0.0/8 is dockerd's built-in insecure CIDR, ``localhost`` and
``::1`` resolve to loopback).  For an insecure registry dockerd tries HTTPS without
certificate checks first and falls back to plain HTTP; so do we.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass, field

DOCKER_IO = "docker.io"
DOCKER_IO_ENDPOINT = "registry-1.docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"
CERTS_DIR = "/etc/tugboat/certs.d"   # Tugboat's own /etc/docker/certs.d: <host[:port]>/{ca.crt,client.cert,client.key}


@dataclass
class RegistryOptions:
    """The registry part of the daemon configuration."""

    insecure: list[str] = field(default_factory=list)
    mirrors: list[str] = field(default_factory=list)
    max_downloads: int = 3
    max_uploads: int = 5
    # Like dockerd's /etc/docker/certs.d: CAs and client certificates per <host[:port]>/
    # (ca.crt / *.crt, client.cert + client.key); "registry-certs-dir" in daemon.json
    # (a Tugboat extension, used by the tests) is searched first.
    certs_dirs: list[str] = field(default_factory=lambda: [CERTS_DIR])

    @classmethod
    def from_extra(cls, extra: dict) -> RegistryOptions:
        ins = extra.get("insecure-registries") or []
        mir = extra.get("registry-mirrors") or []
        opts = cls([str(x) for x in ins if isinstance(x, str)], [str(x) for x in mir if isinstance(x, str)])
        if isinstance(extra.get("registry-certs-dir"), str):
            opts.certs_dirs.insert(0, extra["registry-certs-dir"])
        return opts

    def tls_context(self, host: str, verify: bool) -> ssl.SSLContext:
        """An SSL context for host[:port]: system CAs plus certs.d's, and a client certificate
        if certs.d has one; without verification for insecure registries."""
        ctx = ssl.create_default_context()
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        for base in self.certs_dirs:
            d = os.path.join(base, host)
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            for name in names:
                path = os.path.join(d, name)
                if name.endswith(".crt"):
                    ctx.load_verify_locations(cafile=path)
                elif name.endswith(".cert"):
                    key = path[:-len(".cert")] + ".key"
                    if os.path.exists(key):
                        ctx.load_cert_chain(path, key)
        return ctx

    def host_for(self, domain: str) -> str:
        """host[:port] to connect to for a reference's domain."""
        return DOCKER_IO_ENDPOINT if domain in (DOCKER_IO, "index.docker.io") else domain

    def is_insecure(self, domain: str) -> bool:
        if domain in (DOCKER_IO, "index.docker.io"):
            return False
        nets = []
        for entry in self.insecure:
            e = entry.removeprefix("http://").removeprefix("https://").rstrip("/")
            if e == domain:
                return True
            try:
                nets.append(ipaddress.ip_network(e, strict=False))
            except ValueError:
                continue
        host = _strip_port(domain)
        for ip in _addresses(host):
            if ip.is_loopback or any(ip in n for n in nets):
                return True
        return False


def _strip_port(domain: str) -> str:
    if domain.startswith("["):
        return domain[1:].split("]", 1)[0]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host == "localhost":
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return []
    out = []
    for info in infos:
        try:
            out.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return out


def auth_key(domain: str) -> str:
    """The server address credentials are keyed by (the CLI's config.json "auths")."""
    return INDEX_SERVER if domain in (DOCKER_IO, "index.docker.io") else domain
