"""links.py's parts that need no kernel: Docker's MAC derivation, interface name checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tugboat import errors
from tugboat.network import links


@pytest.mark.parametrize(("ip", "mac"), [("172.17.0.2", "02:42:ac:11:00:02"), ("10.77.0.2", "02:42:0a:4d:00:02"),
                                         ("10.78.255.254", "02:42:0a:4e:ff:fe")])
def test_mac_for_is_dockers(ip: str, mac: str) -> None:
    assert links.mac_for(ip) == mac


@pytest.mark.parametrize("host_ifname", ["", "tug0123456789abc"])   # 0 and 16 characters
def test_interface_names_are_checked_before_touching_the_kernel(host_ifname: str) -> None:
    ep = links.EndpointLink(Path("/nonexistent/netns"), "nobridge", host_ifname, "eth0", "10.77.0.2/16",
                            "02:42:0a:4d:00:02", "10.77.0.1", True)
    with pytest.raises(errors.InvalidArgument, match="invalid interface name"):
        links.connect_endpoint(ep)
