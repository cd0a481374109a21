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


def test_dslite_aftr_hop_is_neither_a_private_layer_nor_public():
    v = layers_from([hop(1, "192.168.10.1", "private"), hop(2, "192.0.0.1", "dslite"),
                     hop(3, "198.51.100.1", "public")], "192.168.10.1", None, None)
    assert v["private_layers"] == 1 and v["modem_layer"] is None and v["cgn"] is False
    assert v["nat_layers"] == 2  # the clinic router and the AFTR's NAT44
    over = v["ipv4_over_ipv6"]
    assert over["detected"] is True and over["mechanism"] == "DS-Lite"
    assert over["evidence"][0]["address"] == "192.0.0.1" and over["evidence"][0]["ttl"] == 2


def test_dslite_b4_wan_address_is_evidence_too():
    v = layers_from([], "192.168.10.1", "192.0.0.2", None)
    assert v["private_layers"] == 1  # the router itself; 192.0.0.2 is not another private NAT
    assert v["ipv4_over_ipv6"]["detected"] is True
    assert v["ipv4_over_ipv6"]["evidence"] == [
        {"source": "gateway_wan", "address": "192.0.0.2",
         "meaning": "the router's WAN IPv4 is a DS-Lite softwire address (B4)"}]


def test_no_softwire_address_no_ipv4_over_ipv6():
    v = layers_from([hop(1, "192.168.10.1", "private"), hop(2, "198.51.100.1", "public")],
                    "192.168.10.1", "198.51.100.2", None)
    assert v["ipv4_over_ipv6"] == {"detected": False, "mechanism": None, "evidence": []}


def test_a_gateways_closed_ports_are_remembered_briefly_and_hashed(tmp_path, monkeypatch):
    """Back-to-back runs find the gateway's ICMP rate limit spent: what it said a moment ago
    shortens the wait for silence; the file holds no address; junk in it is ignored."""
    import json
    import time as _time

    from clinicnet.probes import nat_layers as N

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    assert N.recall("127.0.0.1") == {}
    N.remember("127.0.0.1", ["upnp", "natpmp"])
    got = N.recall("127.0.0.1")
    assert set(got) == {"upnp", "natpmp"}
    assert N.recall("127.0.0.2") == {}  # another gateway
    path = tmp_path / "clinicnet" / "gateway-memory.json"
    assert "127.0.0" not in path.read_text()
    later = _time.time() + N._MEMORY_S + 1
    monkeypatch.setattr(N.time, "time", lambda: later)
    assert N.recall("127.0.0.1") == {}
    for junk in ("[1, 2]", "{", '{"x": 5}', json.dumps({"a": {"upnp": "soon"}})):
        path.write_text(junk)
        assert N.recall("127.0.0.1") == {}
        N.remember("127.0.0.1", ["upnp"])  # never raises, rewrites the file


def test_a_silent_first_hop_is_the_default_gateway_without_waiting():
    from clinicnet.probes.nat_layers import _TraceStop

    class P:
        def __init__(self, icmp=(), reply=None):
            self.icmp, self.reply = list(icmp), reply

    class TE:
        time_exceeded, port_unreachable, offender = True, False, "198.51.100.1"

    pend = [P(), P([TE()])]  # hop 1 silent (rate limit), hop 2 public
    assert _TraceStop(known_first_hop=True)(pend) is True
    stop = _TraceStop(known_first_hop=False)
    assert stop(pend) is False  # waits _SILENT_HOP_GRACE_S for hop 1
