"""The kernel side of container networking: pinned network namespaces, bridges and veth pairs,
iptables rules, host port reservations and the embedded DNS server.

Nothing here knows of containers, records or the API: the engine calls these modules with plain
values (paths, interface names, addresses). See docs/NETWORKING.md for the contracts.
"""
