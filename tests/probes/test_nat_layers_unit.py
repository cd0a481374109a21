"""NAT layer counting from trace hops and the gateway's WAN address."""

from __future__ import annotations

from clinicnet.probes.nat_layers import layers_from


def hop(ttl: int, address: str | None, kind: str) -> dict[str, object]:
    return {"ttl": ttl, "address": address, "kind": kind}


def test_two_private_layers_name_the_modem():
    v = layers_from([hop(1, "192.168.10.1", "private"), hop(2, "192.168.0.1", "private"),
                     hop(3, "198.51.100.1", "public")], "192.168.10.1", None, None)
    assert v["private_layers"] == 2 and v["modem_layer"]["address"] == "192.168.0.1"
    assert v["count_is_lower_bound"] is False


def test_a_silent_hop_before_the_first_public_one_makes_the_count_a_lower_bound():
    v = layers_from([hop(1, None, "silent"), hop(2, "198.51.100.1", "public")], "192.168.10.1", None, None)
    assert v["private_layers"] == 0
    assert v["count_is_lower_bound"] is True and v["silent_hops"] == [1]


def test_silent_hops_after_the_public_one_do_not_matter():
    v = layers_from([hop(1, "192.168.10.1", "private"), hop(2, "198.51.100.1", "public"), hop(3, None, "silent")],
                    "192.168.10.1", None, None)
    assert v["count_is_lower_bound"] is False


def test_private_wan_address_adds_a_layer_and_cgn_wan_is_cgn():
    v = layers_from([], "192.168.10.1", "192.168.0.2", None)
    assert v["private_layers"] == 2
    v = layers_from([], "192.168.10.1", "100.64.0.2", None)
    assert v["cgn"] is True
