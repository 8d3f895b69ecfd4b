"""IPAM: subnet/gateway/ip-range validation with dockerd's texts, default-pool carving around
networks and host routes, address allocation and release."""

from __future__ import annotations

import ipaddress

import pytest

from tugboat import errors
from tugboat.network import ipam


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


# -- parse_config ------------------------------------------------------------------------------

def test_subnet_only_gets_first_address_as_gateway_but_does_not_show_it():
    c = ipam.parse_config({"Subnet": "10.1.2.0/24"})
    assert c.subnet == net("10.1.2.0/24") and str(c.gateway) == "10.1.2.1"
    assert not c.gateway_given
    assert c.api(c.gateway_given) == {"Subnet": "10.1.2.0/24"}


def test_subnet_with_host_bits_is_kept_as_written_and_normalised_inside():
    c = ipam.parse_config({"Subnet": "10.198.0.1/24"})
    assert c.subnet_text == "10.198.0.1/24" and c.subnet == net("10.198.0.0/24")
    assert c.api(False) == {"Subnet": "10.198.0.1/24"}


def test_full_config_shape_matches_docker_inspect():
    c = ipam.parse_config({"Subnet": "10.199.0.0/24", "IPRange": "10.199.0.128/25", "Gateway": "10.199.0.254",
                           "AuxiliaryAddresses": {"x": "10.199.0.5"}})
    assert c.api(c.gateway_given) == {"Subnet": "10.199.0.0/24", "IPRange": "10.199.0.128/25",
                                      "Gateway": "10.199.0.254", "AuxiliaryAddresses": {"x": "10.199.0.5"}}
    assert list(c.api(True)) == ["Subnet", "IPRange", "Gateway", "AuxiliaryAddresses"]


@pytest.mark.parametrize("entry, cls, text", [
    ({"Subnet": "bogus"}, errors.InvalidArgument, "Invalid subnet bogus : invalid CIDR address: bogus"),
    ({}, errors.InvalidArgument, "Invalid subnet  : invalid CIDR address: "),
    ({"Subnet": "10.0.0.1"}, errors.InvalidArgument, "Invalid subnet 10.0.0.1 : invalid CIDR address: 10.0.0.1"),
    ({"Subnet": "10.197.0.0/24", "Gateway": "10.196.0.1"}, errors.InvalidArgument,
     "failed to allocate gateway (10.196.0.1): Requested address is out of range"),
    ({"Subnet": "10.197.0.0/24", "Gateway": "bogus"}, errors.InvalidArgument,
     "invalid gateway address bogus in Ipam configuration"),
    ({"Subnet": "10.197.0.0/24", "IPRange": "bogus"}, errors.InvalidArgument,
     'failed to parse pool request for address space "LocalDefault" pool "10.197.0.0/24" subpool "bogus": '
     "Invalid Address SubPool"),
    ({"Subnet": "10.197.0.0/24", "IPRange": "10.196.0.0/25"}, errors.InvalidArgument, "Invalid Address SubPool"),
    ({"Subnet": "10.198.0.0/31"}, errors.Forbidden,
     "failed to allocate gateway (): No available addresses on this pool"),
    ({"Subnet": "10.198.0.0/32"}, errors.Forbidden,
     "failed to allocate gateway (): No available addresses on this pool"),
    ({"Subnet": "10.197.0.0/24", "AuxiliaryAddresses": {"a": "10.196.0.3"}}, errors.InvalidArgument,
     "Requested address is out of range"),
    ({"Subnet": "fd00::/64"}, errors.InvalidArgument, "IPv6"),
])
def test_bad_configs_are_refused_in_dockers_words(entry, cls, text):
    with pytest.raises(cls) as e:
        ipam.parse_config(entry)
    assert text in e.value.message


def test_bip_gives_bridge_address_and_masked_subnet():
    c = ipam.parse_bip("10.77.0.1/16")
    assert c.subnet == net("10.77.0.0/16") and str(c.gateway) == "10.77.0.1"
    assert c.api(True) == {"Subnet": "10.77.0.0/16", "Gateway": "10.77.0.1"}
    assert str(ipam.parse_bip("10.77.5.9/24").gateway) == "10.77.5.9"
    assert str(ipam.parse_bip("10.77.0.0/16").gateway) == "10.77.0.1"
    for bad in ("nonsense", "10.0.0.1/31", "fd00::1/64"):
        with pytest.raises(errors.InvalidArgument):
            ipam.parse_bip(bad)


# -- pools -------------------------------------------------------------------------------------

def test_default_pools_default_and_validation():
    assert ipam.parse_pools(None) == [(net("10.78.0.0/15"), 24)]
    assert ipam.parse_pools([{"base": "10.5.0.0/16", "size": 20}]) == [(net("10.5.0.0/16"), 20)]
    for bad in ([{"base": "10.5.0.0/16"}], [{"base": "x", "size": 24}], [{"base": "10.5.0.0/16", "size": 8}],
                [{"base": "10.5.0.0/16", "size": 33}], ["10.0.0.0/8"]):
        with pytest.raises(errors.InvalidArgument):
            ipam.parse_pools(bad)


def test_choose_subnet_takes_the_first_free_one_in_pool_order():
    pools = ipam.parse_pools([{"base": "10.78.0.0/23", "size": 24}, {"base": "10.90.0.0/16", "size": 24}])
    assert ipam.choose_subnet(pools, [], []) == net("10.78.0.0/24")
    assert ipam.choose_subnet(pools, [net("10.78.0.0/24")], []) == net("10.78.1.0/24")
    # a bigger existing network swallows several candidates; then the second pool
    assert ipam.choose_subnet(pools, [net("10.78.0.0/23")], []) == net("10.90.0.0/24")


def test_choose_subnet_skips_host_routes_but_not_for_a_default_route():
    pools = ipam.parse_pools([{"base": "10.78.0.0/22", "size": 24}])
    routes = ["0.0.0.0/0", "10.78.0.0/24", "10.78.1.128/25", "garbage", "fe80::/64"]
    assert ipam.choose_subnet(pools, [], routes) == net("10.78.2.0/24")
    # a route covering the whole pool
    with pytest.raises(errors.NotFound) as e:
        ipam.choose_subnet(pools, [], ["10.0.0.0/8"])
    assert e.value.message == ("could not find an available, non-overlapping IPv4 address pool among the "
                               "defaults to assign to the network")


def test_choose_subnet_exhaustion():
    pools = ipam.parse_pools([{"base": "10.78.0.0/23", "size": 24}])
    with pytest.raises(errors.NotFound):
        ipam.choose_subnet(pools, [net("10.78.0.0/24"), net("10.78.1.0/24")], [])


# -- allocation --------------------------------------------------------------------------------

def pool(entry: dict, allocated=()) -> ipam.AddressPool:
    return ipam.AddressPool(ipam.parse_config(entry), allocated)


def test_allocation_skips_network_gateway_and_goes_up():
    p = pool({"Subnet": "10.1.0.0/24"})
    assert [p.allocate() for _ in range(3)] == ["10.1.0.2", "10.1.0.3", "10.1.0.4"]
    p.release("10.1.0.3")
    assert p.allocate() == "10.1.0.3"     # lowest free first
    assert p.allocated == ["10.1.0.2", "10.1.0.3", "10.1.0.4"]


def test_gateway_elsewhere_frees_the_first_address():
    p = pool({"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.254"})
    assert p.allocate() == "10.1.0.1"


def test_slash_30_has_one_address_and_never_broadcast():
    p = pool({"Subnet": "10.198.0.0/30"})
    assert p.allocate() == "10.198.0.2"
    with pytest.raises(errors.Unavailable) as e:
        p.allocate()
    assert e.value.message == "No available addresses on this pool"
    with pytest.raises(errors.Forbidden) as e2:
        p.allocate("10.198.0.3")            # broadcast is reserved
    assert e2.value.message == "Address already in use"


def test_ip_range_limits_automatic_but_not_requested_addresses():
    p = pool({"Subnet": "10.199.0.0/24", "IPRange": "10.199.0.128/30", "Gateway": "10.199.0.129",
              "AuxiliaryAddresses": {"x": "10.199.0.130"}})
    assert p.allocate() == "10.199.0.128"
    assert p.allocate() == "10.199.0.131"
    with pytest.raises(ipam.NoAddresses):
        p.allocate()
    assert p.allocate("10.199.0.7") == "10.199.0.7"   # outside the range, inside the subnet: dockerd allows


def test_requested_addresses():
    p = pool({"Subnet": "10.1.0.0/24"})
    assert p.allocate("10.1.0.50") == "10.1.0.50"
    for taken in ("10.1.0.50", "10.1.0.1", "10.1.0.0", "10.1.0.255"):
        with pytest.raises(ipam.AddressInUse):
            p.allocate(taken)
    with pytest.raises(errors.InvalidArgument) as e:
        p.allocate("10.2.0.1")
    assert e.value.message == "Requested address is out of range"
    with pytest.raises(errors.InvalidArgument):
        p.allocate("not-an-ip")
    assert p.allocate() == "10.1.0.2"


def test_aux_addresses_are_reserved():
    p = pool({"Subnet": "10.1.0.0/29", "AuxiliaryAddresses": {"a": "10.1.0.2", "b": "10.1.0.3"}})
    assert p.allocate() == "10.1.0.4"
    with pytest.raises(ipam.AddressInUse):
        p.allocate("10.1.0.2")


def test_state_round_trip_and_idempotent_release():
    p = pool({"Subnet": "10.1.0.0/24"})
    a, b = p.allocate(), p.allocate()
    q = pool({"Subnet": "10.1.0.0/24"}, p.allocated)
    assert q.in_use(a) and q.in_use(b) and q.allocate() == "10.1.0.4"
    q.release(a)
    q.release(a)
    q.release("garbage")
    assert not q.in_use(a) and not q.in_use("garbage")
    assert q.allocate() == a


def test_a_whole_small_subnet_is_handed_out_exactly_once():
    p = pool({"Subnet": "10.1.0.0/26"})
    got = [p.allocate() for _ in range(61)]          # 64 - network - broadcast - gateway
    assert len(set(got)) == 61 and "10.1.0.63" not in got and "10.1.0.1" not in got
    with pytest.raises(ipam.NoAddresses):
        p.allocate()
