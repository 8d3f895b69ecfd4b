"""Tugboat's iptables rules: forwarding, isolation between networks, NAT and published ports.

Every rule lives in chains of Tugboat's own, named after a prefix (``TUGBOAT`` by default; tests use
a private one), so that Docker's chains on the same host are never touched and a test daemon's
rules never mix with another's:

    filter  <P>-INPUT        jumped to from INPUT (first rule): no new connections from a bridge to
                             the host's 127.0.0.0/8 (which route_localnet would allow)
            <P>-FORWARD      jumped to from FORWARD (first rule): per network, accept replies into
                             the bridge, traffic out of it and (icc) within it; published ports
            <P>-ISOLATION-1  first rule of <P>-FORWARD: as Docker's DOCKER-ISOLATION-STAGE-1/2, no
            <P>-ISOLATION-2  traffic between two networks; internal networks: none in or out
    nat     <P>              jumped to from PREROUTING and OUTPUT for local destinations: DNAT of
                             published ports (127.0.0.1 included, see below)
            <P>-POSTROUTING  jumped to from POSTROUTING: MASQUERADE of each subnet leaving by another
                             interface, hairpin MASQUERADE of a container reaching its own port

Published ports work from the host itself without a userland proxy, as dockerd's
``"userland-proxy": false``: OUTPUT is DNATed for 127.0.0.0/8 too, each bridge gets
``route_localnet=1`` and ``-s 127.0.0.0/8 -o <bridge> -j MASQUERADE`` gives the container a source
address it can answer.

Adding is idempotent (``iptables -C`` first) and removing tolerates missing rules; the rules of one
call go to the kernel in one ``iptables-restore --noflush`` batch, so a container start costs a few
short iptables runs. ``enabled=False`` (daemon option ``"iptables": false``) makes every method a no-op.
"""

from __future__ import annotations

import ipaddress
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tugboat import errors

MAX_PREFIX = 16          # chain names are at most 28 characters: prefix + "-POSTROUTING"
ANY = "0.0.0.0"

Runner = Callable[[list[str], str | None], tuple[int, str]]   # (argv, stdin) -> (exit status, stderr)
SysctlWriter = Callable[[str, str], None]


def run_command(argv: list[str], stdin: str | None = None) -> tuple[int, str]:
    """Run a command; its exit status and stderr."""
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as e:
        raise errors.Unavailable(f"{argv[0]} not found: {e}") from e
    return p.returncode, p.stderr


def write_sysctl(key: str, value: str) -> None:
    """Set a sysctl given as a path below /proc/sys ("net/ipv4/ip_forward")."""
    path = Path("/proc/sys") / key
    if path.read_text().strip() != value:
        path.write_text(value)


@dataclass(frozen=True)
class PortMapping:
    proto: str               # "tcp" | "udp"
    host_ip: str             # "0.0.0.0" or a host address ("127.0.0.1")
    host_port: int
    container_ip: str
    container_port: int
    bridge: str


@dataclass(frozen=True)
class Rule:
    table: str               # "filter" | "nat"
    chain: str
    spec: tuple[str, ...]


class Firewall:
    def __init__(self, prefix: str = "TUGBOAT", enabled: bool = True, runner: Runner = run_command,
                 sysctl: SysctlWriter = write_sysctl) -> None:
        if not prefix or len(prefix) > MAX_PREFIX or not all(c.isalnum() or c in "-_" for c in prefix):
            raise errors.InvalidArgument(f"invalid iptables chain prefix {prefix!r}: "
                                         f"letters, digits, '-' and '_', at most {MAX_PREFIX}")
        self.prefix = prefix
        self.enabled = enabled
        self._run = runner
        self._sysctl = sysctl
        self._lock = threading.Lock()
        p = prefix
        self.forward, self.isolation1, self.isolation2 = f"{p}-FORWARD", f"{p}-ISOLATION-1", f"{p}-ISOLATION-2"
        self.input = f"{p}-INPUT"
        self.dnat, self.postrouting = p, f"{p}-POSTROUTING"
        self.chains = {"filter": [self.forward, self.isolation1, self.isolation2, self.input],
                       "nat": [self.dnat, self.postrouting]}

    # -- chains and jumps ---------------------------------------------------------------------

    def _jumps(self) -> list[Rule]:
        """Rules outside our chains that lead into them (inserted first in their chain)."""
        local = ("-m", "addrtype", "--dst-type", "LOCAL", "-j", self.dnat)
        return [Rule("filter", "FORWARD", ("-j", self.forward)),
                Rule("filter", "INPUT", ("-j", self.input)),
                Rule("nat", "PREROUTING", local),
                Rule("nat", "OUTPUT", local),
                Rule("nat", "POSTROUTING", ("-j", self.postrouting))]

    def _isolation_jump(self) -> Rule:
        return Rule("filter", self.forward, ("-j", self.isolation1))

    def setup(self) -> None:
        """Create our chains and the jumps into them; turn on IPv4 forwarding. Idempotent."""
        if not self.enabled:
            return
        with self._lock:
            self._sysctl("net/ipv4/ip_forward", "1")
            for table, chains in self.chains.items():
                for chain in chains:
                    if not self._exists(Rule(table, chain, ())):
                        self._iptables(table, "-N", chain)
            for rule in [*self._jumps(), self._isolation_jump()]:
                if not self._exists(rule):
                    self._iptables(rule.table, "-I", rule.chain, "1", *rule.spec)

    def teardown(self) -> None:
        """Remove the jumps and our chains with all their rules (tests, clean-up). Idempotent."""
        if not self.enabled:
            return
        with self._lock:
            for rule in self._jumps():
                while self._exists(rule):
                    self._iptables(rule.table, "-D", rule.chain, *rule.spec)
            for table, chains in self.chains.items():
                present = [c for c in chains if self._exists(Rule(table, c, ()))]
                for chain in present:
                    self._iptables(table, "-F", chain)
                for chain in present:
                    self._iptables(table, "-X", chain)

    def reset(self) -> None:
        """Empty our chains (tugd start: they are rebuilt from its state); jumps stay."""
        if not self.enabled:
            return
        with self._lock:
            for table, chains in self.chains.items():
                for chain in chains:
                    self._iptables(table, "-F", chain)
            self._add([self._isolation_jump()])

    # -- networks -------------------------------------------------------------------------------

    def network_rules(self, bridge: str, subnet: str, internal: bool = False, icc: bool = True) -> list[Rule]:
        net = str(ipaddress.IPv4Network(subnet, strict=False))
        br = bridge
        rules = [Rule("filter", self.forward, ("-i", br, "-o", br, "-j", "ACCEPT" if icc else "DROP"))]
        if internal:
            return rules + [
                Rule("filter", self.isolation1, ("!", "-s", net, "-o", br, "-j", "DROP")),
                Rule("filter", self.isolation1, ("-i", br, "!", "-d", net, "-j", "DROP")),
            ]
        return rules + [
            Rule("filter", self.forward,
                 ("-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")),
            Rule("filter", self.forward, ("-i", br, "!", "-o", br, "-j", "ACCEPT")),
            Rule("filter", self.isolation1, ("-i", br, "!", "-o", br, "-j", self.isolation2)),
            Rule("filter", self.isolation2, ("-o", br, "-j", "DROP")),
            Rule("nat", self.postrouting, ("-s", net, "!", "-o", br, "-j", "MASQUERADE")),
            Rule("nat", self.postrouting, ("-s", "127.0.0.0/8", "-o", br, "-j", "MASQUERADE")),
            # route_localnet would also let a container send to the host's 127.0.0.1 (CVE-2020-8558):
            # only replies of the DNATed localhost connections may come in (kube-proxy's rule)
            Rule("filter", self.input, ("-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8", "-i", br, "-m", "conntrack",
                                        "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP")),
        ]

    def add_network(self, bridge: str, subnet: str, internal: bool = False, icc: bool = True) -> None:
        """Forwarding, isolation and NAT of one bridge network (its bridge must exist)."""
        if not self.enabled:
            return
        with self._lock:
            if not internal:  # 127.0.0.1:<published port> from the host is routed out of the bridge
                self._sysctl(f"net/ipv4/conf/{bridge}/route_localnet", "1")
            self._add(self.network_rules(bridge, subnet, internal, icc))

    def remove_network(self, bridge: str, subnet: str, internal: bool = False, icc: bool = True) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._remove(self.network_rules(bridge, subnet, internal, icc))

    # -- published ports ------------------------------------------------------------------------

    def port_rules(self, m: PortMapping) -> list[Rule]:
        if m.proto not in ("tcp", "udp"):
            raise errors.InvalidArgument(f"invalid proto '{m.proto}'")
        if ipaddress.ip_address(m.host_ip).version != 4 or ipaddress.ip_address(m.container_ip).version != 4:
            raise errors.InvalidArgument(f"only IPv4 port mappings are supported: {m.host_ip}:{m.host_port}")
        proto = ("-p", m.proto, "-m", m.proto)
        dest = () if m.host_ip == ANY else ("-d", f"{m.host_ip}/32")
        cip = f"{m.container_ip}/32"
        return [
            Rule("nat", self.dnat, (*dest, *proto, "--dport", str(m.host_port),
                                    "-j", "DNAT", "--to-destination", f"{m.container_ip}:{m.container_port}")),
            Rule("filter", self.forward, ("-d", cip, "!", "-i", m.bridge, "-o", m.bridge, *proto,
                                          "--dport", str(m.container_port), "-j", "ACCEPT")),
            Rule("nat", self.postrouting, ("-s", cip, "-d", cip, *proto, "--dport", str(m.container_port),
                                           "-j", "MASQUERADE")),
        ]

    def publish(self, *mappings: PortMapping) -> None:
        """DNAT host_ip:host_port (0.0.0.0: any local address, 127.0.0.1 included) to the container,
        accept it through FORWARD, MASQUERADE the hairpin case. Several mappings: one batch."""
        if not self.enabled or not mappings:
            return
        rules = [r for m in mappings for r in self.port_rules(m)]
        with self._lock:
            self._add(rules)

    def unpublish(self, *mappings: PortMapping) -> None:
        if not self.enabled or not mappings:
            return
        rules = [r for m in mappings for r in self.port_rules(m)]
        with self._lock:
            self._remove(rules)

    # -- iptables -------------------------------------------------------------------------------

    def _iptables(self, table: str, *args: str) -> None:
        rc, err = self._run(["iptables", "-w", "-t", table, *args], None)
        if rc != 0:
            raise errors.TugboatError(f"iptables -t {table} {' '.join(args)}: {err.strip()}")

    def _exists(self, rule: Rule) -> bool:
        """Is the rule there (an empty spec: does the chain exist)?"""
        if not rule.spec:
            argv = ["iptables", "-w", "-t", rule.table, "-S", rule.chain]
        else:
            argv = ["iptables", "-w", "-t", rule.table, "-C", rule.chain, *rule.spec]
        return self._run(argv, None)[0] == 0

    def _batch(self, op: str, rules: Iterable[Rule]) -> None:
        by_table: dict[str, list[Rule]] = {}
        for r in rules:
            by_table.setdefault(r.table, []).append(r)
        if not by_table:
            return
        lines = []
        for table, rs in by_table.items():
            lines.append(f"*{table}")
            lines += [" ".join([op, r.chain, *r.spec]) for r in rs]
            lines.append("COMMIT")
        rc, err = self._run(["iptables-restore", "-w", "--noflush"], "\n".join(lines) + "\n")
        if rc != 0:
            raise errors.TugboatError(f"iptables-restore: {err.strip()}")

    def _add(self, rules: list[Rule]) -> None:
        missing = list(dict.fromkeys(r for r in rules if not self._exists(r)))
        self._batch("-A", missing)

    def _remove(self, rules: list[Rule]) -> None:
        present = list(dict.fromkeys(r for r in rules if self._exists(r)))
        self._batch("-D", present)
