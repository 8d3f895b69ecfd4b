"""userns-remap in config.json: a user namespace with the daemon's mappings, joined by path where the
network namespace is pinned (the sandbox's <netns>.user, or container:X's /proc/<pid>/ns/user), and no
ping_group_range (moby leaves it out in a user namespace)."""

from __future__ import annotations

from tugboat.store.idmap import IdMap

from .test_rt_spec import spec

IDMAP = IdMap.from_subordinate([(300000, 65536)], [(400000, 65536)])


def _userns(s: dict) -> list[dict]:
    return [n for n in s["linux"]["namespaces"] if n["type"] == "user"]


def test_no_user_namespace_without_remap() -> None:
    s = spec(netns_path="/run/t/netns/x")
    assert _userns(s) == [] and "uidMappings" not in s["linux"]
    assert s["linux"]["sysctl"]["net.ipv4.ping_group_range"] == "0 2147483647"


def test_remapped_container_gets_mappings_and_joins_the_sandbox_owner() -> None:
    s = spec(netns_path="/run/t/netns/x", userns=IDMAP)
    assert _userns(s) == [{"type": "user", "path": "/run/t/netns/x.user"}]
    assert s["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 300000, "size": 65536}]
    assert s["linux"]["gidMappings"] == [{"containerID": 0, "hostID": 400000, "size": 65536}]
    assert "net.ipv4.ping_group_range" not in s["linux"]["sysctl"]
    assert s["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"] == "0"
    given = spec({"Sysctls": {"net.ipv4.ping_group_range": "0 0"}}, netns_path="/n", userns=IDMAP)
    assert given["linux"]["sysctl"]["net.ipv4.ping_group_range"] == "0 0"


def test_container_network_mode_joins_that_containers_user_namespace() -> None:
    s = spec(netns_path="/proc/42/ns/net", userns=IDMAP)
    assert _userns(s) == [{"type": "user", "path": "/proc/42/ns/user"}]


def test_own_network_namespace_gets_a_new_user_namespace() -> None:
    assert _userns(spec(userns=IDMAP)) == [{"type": "user"}]
