"""The iptables rules Firewall asks for, checked against a fake iptables that keeps rules in memory."""

from __future__ import annotations

import pytest

from tugboat import errors
from tugboat.network.firewall import Firewall, PortMapping


class FakeIptables:
    """Just enough of iptables / iptables-restore --noflush: chains, -N -X -F -I -A -D -C -S."""

    def __init__(self) -> None:
        builtin = {"filter": ["INPUT", "FORWARD", "OUTPUT"], "nat": ["PREROUTING", "OUTPUT", "POSTROUTING"]}
        self.tables: dict[str, dict[str, list[str]]] = {t: {c: [] for c in cs} for t, cs in builtin.items()}
        self.calls: list[list[str]] = []
        self.restores: list[str] = []
        self.sysctls: dict[str, str] = {}

    def sysctl(self, key: str, value: str) -> None:
        self.sysctls[key] = value

    def __call__(self, argv: list[str], stdin: str | None = None) -> tuple[int, str]:
        self.calls.append(argv)
        if argv[0] == "iptables-restore":
            assert argv[1:] == ["-w", "--noflush"]
            assert stdin is not None
            self.restores.append(stdin)
            table = ""
            for line in stdin.splitlines():
                if line.startswith("*"):
                    table = line[1:]
                elif line != "COMMIT":
                    rc, err = self._op(table, line.split())
                    if rc:
                        return rc, err
            return 0, ""
        assert argv[:3] == ["iptables", "-w", "-t"]
        return self._op(argv[3], argv[4:])

    def _op(self, table: str, args: list[str]) -> tuple[int, str]:
        chains = self.tables[table]
        op, chain, rest = args[0], args[1], args[2:]
        if op == "-N":
            if chain in chains:
                return 1, "Chain already exists."
            chains[chain] = []
            return 0, ""
        if chain not in chains:
            return 1, f"No chain/target/match by that name: {chain}"
        rules = chains[chain]
        spec = " ".join(rest)
        if op == "-X":
            if rules or any(f"-j {chain}" in r for rs in chains.values() for r in rs):
                return 1, "Directory not empty / in use"
            del chains[chain]
        elif op == "-F":
            rules.clear()
        elif op == "-S":
            pass
        elif op == "-C":
            return (0, "") if spec in rules else (1, "Bad rule")
        elif op == "-A":
            rules.append(spec)
        elif op == "-I":
            rules.insert(int(rest[0]) - 1, " ".join(rest[1:]))
        elif op == "-D":
            if spec not in rules:
                return 1, "Bad rule (does a matching rule exist in that chain?)"
            rules.remove(spec)
        else:
            raise AssertionError(f"unexpected iptables op {args}")
        return 0, ""

    def rules(self, table: str, chain: str) -> list[str]:
        return self.tables[table][chain]


@pytest.fixture
def ipt() -> FakeIptables:
    return FakeIptables()


@pytest.fixture
def fw(ipt: FakeIptables) -> Firewall:
    f = Firewall("TUGX", runner=ipt, sysctl=ipt.sysctl)
    f.setup()
    return f


def test_setup_creates_chains_and_jumps_first_in_builtin_chains(ipt: FakeIptables) -> None:
    ipt.tables["filter"]["FORWARD"] = ["-j DOCKER-USER"]
    ipt.tables["nat"]["POSTROUTING"] = ["-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"]
    fw = Firewall("TUGX", runner=ipt, sysctl=ipt.sysctl)
    fw.setup()
    fw.setup()
    assert ipt.rules("filter", "FORWARD") == ["-j TUGX-FORWARD", "-j DOCKER-USER"]
    assert ipt.rules("filter", "TUGX-FORWARD") == ["-j TUGX-ISOLATION-1"]
    assert ipt.rules("filter", "TUGX-ISOLATION-1") == [] and ipt.rules("filter", "TUGX-ISOLATION-2") == []
    assert ipt.rules("filter", "INPUT") == ["-j TUGX-INPUT"]
    assert ipt.rules("nat", "PREROUTING") == ["-m addrtype --dst-type LOCAL -j TUGX"]
    # no "! -d 127.0.0.0/8" (unlike Docker's): 127.0.0.1:<published port> works from the host
    assert ipt.rules("nat", "OUTPUT") == ["-m addrtype --dst-type LOCAL -j TUGX"]
    assert ipt.rules("nat", "POSTROUTING")[0] == "-j TUGX-POSTROUTING"
    assert ipt.sysctls == {"net/ipv4/ip_forward": "1"}
    assert all("-w" in c for c in ipt.calls)


def test_network_rules_forwarding_isolation_and_masquerade(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tug0", "10.77.0.0/16")
    assert ipt.rules("filter", "TUGX-FORWARD") == [
        "-j TUGX-ISOLATION-1",
        "-i tug0 -o tug0 -j ACCEPT",
        "-o tug0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-i tug0 ! -o tug0 -j ACCEPT",
    ]
    assert ipt.rules("filter", "TUGX-ISOLATION-1") == ["-i tug0 ! -o tug0 -j TUGX-ISOLATION-2"]
    assert ipt.rules("filter", "TUGX-ISOLATION-2") == ["-o tug0 -j DROP"]
    assert ipt.rules("nat", "TUGX-POSTROUTING") == [
        "-s 10.77.0.0/16 ! -o tug0 -j MASQUERADE",
        "-s 127.0.0.0/8 -o tug0 -j MASQUERADE",
    ]
    assert ipt.sysctls["net/ipv4/conf/tug0/route_localnet"] == "1"
    # ... which must not open the host's 127.0.0.1 to the containers: only replies come in
    assert ipt.rules("filter", "TUGX-INPUT") == [
        "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -i tug0 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"]


def test_internal_network_has_no_way_out_and_no_masquerade(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tugi", "10.78.3.0/24", internal=True, icc=False)
    assert ipt.rules("filter", "TUGX-FORWARD") == ["-j TUGX-ISOLATION-1", "-i tugi -o tugi -j DROP"]
    assert ipt.rules("filter", "TUGX-ISOLATION-1") == [
        "! -s 10.78.3.0/24 -o tugi -j DROP",
        "-i tugi ! -d 10.78.3.0/24 -j DROP",
    ]
    assert ipt.rules("nat", "TUGX-POSTROUTING") == []
    assert "net/ipv4/conf/tugi/route_localnet" not in ipt.sysctls


def test_add_is_idempotent_and_one_batch(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tug0", "10.77.0.0/16")
    before = {t: {c: list(r) for c, r in cs.items()} for t, cs in ipt.tables.items()}
    n = len(ipt.restores)
    fw.add_network("tug0", "10.77.0.5/16")   # the same subnet, written with a host address
    assert ipt.tables == before
    assert len(ipt.restores) == n             # nothing missing: no iptables-restore at all


def test_publish_several_ports_in_one_batch(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tug0", "10.77.0.0/16")
    n = len(ipt.restores)
    web = PortMapping("tcp", "0.0.0.0", 8080, "10.77.0.2", 80, "tug0")
    dns = PortMapping("udp", "127.0.0.1", 5353, "10.77.0.2", 53, "tug0")
    fw.publish(web, dns)
    assert len(ipt.restores) == n + 1
    assert ipt.rules("nat", "TUGX") == [
        "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.77.0.2:80",
        "-d 127.0.0.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.77.0.2:53",
    ]
    assert ipt.rules("filter", "TUGX-FORWARD")[-2:] == [
        "-d 10.77.0.2/32 ! -i tug0 -o tug0 -p tcp -m tcp --dport 80 -j ACCEPT",
        "-d 10.77.0.2/32 ! -i tug0 -o tug0 -p udp -m udp --dport 53 -j ACCEPT",
    ]
    assert ipt.rules("nat", "TUGX-POSTROUTING")[-2:] == [
        "-s 10.77.0.2/32 -d 10.77.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE",
        "-s 10.77.0.2/32 -d 10.77.0.2/32 -p udp -m udp --dport 53 -j MASQUERADE",
    ]
    fw.publish(web)
    assert len(ipt.rules("nat", "TUGX")) == 2
    fw.unpublish(web, dns)
    fw.unpublish(web)                         # already gone: tolerated
    assert ipt.rules("nat", "TUGX") == []
    assert len(ipt.rules("filter", "TUGX-FORWARD")) == 4


def test_remove_network_tolerates_missing_rules(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tug0", "10.77.0.0/16")
    ipt.rules("filter", "TUGX-ISOLATION-2").clear()          # someone removed one by hand
    fw.remove_network("tug0", "10.77.0.0/16")
    fw.remove_network("tug0", "10.77.0.0/16")
    assert ipt.rules("filter", "TUGX-FORWARD") == ["-j TUGX-ISOLATION-1"]
    assert ipt.rules("nat", "TUGX-POSTROUTING") == []


def test_reset_flushes_but_keeps_chains_and_jumps(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tug0", "10.77.0.0/16")
    fw.publish(PortMapping("tcp", "0.0.0.0", 8080, "10.77.0.2", 80, "tug0"))
    fw.reset()
    assert ipt.rules("filter", "TUGX-FORWARD") == ["-j TUGX-ISOLATION-1"]
    assert ipt.rules("nat", "TUGX") == [] and ipt.rules("nat", "TUGX-POSTROUTING") == []
    assert ipt.rules("filter", "FORWARD") == ["-j TUGX-FORWARD"]


def test_teardown_leaves_nothing(fw: Firewall, ipt: FakeIptables) -> None:
    fw.add_network("tug0", "10.77.0.0/16")
    fw.publish(PortMapping("tcp", "0.0.0.0", 8080, "10.77.0.2", 80, "tug0"))
    fw.teardown()
    fw.teardown()
    assert not any("TUGX" in name or any("TUGX" in r for r in rules)
                   for chains in ipt.tables.values() for name, rules in chains.items())


def test_disabled_firewall_runs_nothing(ipt: FakeIptables) -> None:
    fw = Firewall("TUGX", enabled=False, runner=ipt, sysctl=ipt.sysctl)
    fw.setup()
    fw.add_network("tug0", "10.77.0.0/16")
    fw.publish(PortMapping("tcp", "0.0.0.0", 8080, "10.77.0.2", 80, "tug0"))
    fw.unpublish(PortMapping("tcp", "0.0.0.0", 8080, "10.77.0.2", 80, "tug0"))
    fw.remove_network("tug0", "10.77.0.0/16")
    fw.reset()
    fw.teardown()
    assert ipt.calls == [] and ipt.sysctls == {}


def test_iptables_failure_is_an_error(fw: Firewall, ipt: FakeIptables) -> None:
    del ipt.tables["nat"]["TUGX"]        # chain gone behind our back: the batch fails
    with pytest.raises(errors.TugboatError, match="iptables-restore"):
        fw.publish(PortMapping("tcp", "0.0.0.0", 8080, "10.77.0.2", 80, "tug0"))


@pytest.mark.parametrize("prefix", ["", "A" * 17, "TUG BOAT", "TUG;X"])
def test_bad_prefix_rejected(prefix: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        Firewall(prefix)


def test_bad_mappings_rejected(fw: Firewall) -> None:
    with pytest.raises(errors.InvalidArgument):
        fw.publish(PortMapping("sctp", "0.0.0.0", 1, "10.77.0.2", 1, "tug0"))
    with pytest.raises(errors.InvalidArgument):
        fw.publish(PortMapping("tcp", "::", 1, "10.77.0.2", 1, "tug0"))
