"""The vpn probe's route evidence with the platform seams replaced by recorded answers: a
gateway-less default route on a tunnel, a split default route (0.0.0.0/1 + 128.0.0.0/1), and the
route the OS picks for an internet check (GetBestInterfaceEx / the kernel's lookup). The real
seams run in the lab (tests/windows and the Linux lab tests)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import psutil
import pytest

from clinicnet import system
from clinicnet.probes import routes, vpn
from clinicnet.probes.interface import ProbeContext
from clinicnet.system import DefaultRoute, netpath

WEB = "198.51.100.80"
GATEWAY = "203.0.113.10"


def adapter(name: str, index: int, tunnel: str | None = None) -> netpath.Adapter:
    return netpath.Adapter(index=index, name=name, description="", if_type=1, tunnel_type="none", mtu=1500,
                           up=True, tunnel=tunnel)


@pytest.fixture
def pc(monkeypatch):
    """eth0 and tun0 up; the test sets the routes and what carries which address."""
    state = SimpleNamespace(routes=[], carrier={}, kinds={"eth0": "wired", "tun0": "tunnel"},
                            adapters=[adapter("eth0", 2), adapter("tun0", 5, "if_type")])
    monkeypatch.setattr(psutil, "net_if_stats", lambda: {n: SimpleNamespace(isup=True) for n in state.kinds})
    monkeypatch.setattr(system, "interface_kind", lambda n: state.kinds.get(n, "unknown"))
    monkeypatch.setattr(system, "default_routes", lambda: state.routes)
    monkeypatch.setattr(netpath, "adapters", lambda: state.adapters)
    monkeypatch.setattr(netpath, "best_interface",
                        lambda a: next((x for x in state.adapters if x.name == state.carrier.get(a)), None))
    monkeypatch.setattr(vpn, "_process_names", lambda: [])
    return state


def ctx() -> ProbeContext:
    return ProbeContext(targets=(GATEWAY, "vpn.example.jp"), internet_checks=(f"http://{WEB}/generate_204",),
                        deadline=time.monotonic() + 2)


def test_device_default_route_on_the_tunnel(pc):
    pc.routes = [DefaultRoute(4, "tun0", None, 0), DefaultRoute(4, "eth0", "192.168.10.1", 100)]
    pc.carrier = {WEB: "tun0", GATEWAY: "eth0"}
    r = vpn.probe(ctx())
    v = r.values
    assert v["vpn_up"] and v["default_via_tunnel"] and v["internet_via_tunnel"] and r.reason_code == "up_default"
    assert v["carriers"] == [
        {"role": "internet", "address": WEB, "interface": "tun0", "tunnel": True},
        {"role": "target", "address": GATEWAY, "interface": "eth0", "tunnel": False},
    ]  # names are not resolved: vpn.example.jp has no carrier entry
    assert v["tunnel_interfaces"] == [{"name": "tun0", "up": True, "reason": "if_type"}]


def test_split_default_route_beats_the_lan_default(pc):
    pc.routes = [DefaultRoute(4, "tun0", "10.8.0.1", 500, split=True), DefaultRoute(4, "eth0", "192.168.10.1", 25)]
    v = vpn.probe(ctx()).values
    assert v["default_via_tunnel"] and v["routes_via_tunnel"] == [
        {"family": 4, "interface": "tun0", "gateway": "10.8.0.1", "split": True}]


def test_internet_routed_through_a_tunnel_counts_even_when_the_table_shows_no_default(pc):
    """A client that routes only the checked networks through the tunnel (or a table we could not
    read): the OS's route choice for the internet check decides."""
    pc.routes = [DefaultRoute(4, "eth0", "192.168.10.1", 25)]
    pc.carrier = {WEB: "tun0"}
    v = vpn.probe(ctx()).values
    assert v["vpn_up"] and not v["default_via_tunnel"] and v["internet_via_tunnel"]


def test_a_tunnel_that_carries_nothing_is_not_a_connected_vpn(pc):
    pc.routes = [DefaultRoute(4, "eth0", "192.168.10.1", 25)]
    pc.carrier = {WEB: "eth0", GATEWAY: "eth0"}
    r = vpn.probe(ctx())
    assert not r.values["vpn_up"] and r.reason_code == "tunnel_only"


def test_a_tunnel_found_by_type_only(pc):
    """Windows: an adapter whose name says nothing (renamed, Japanese) but IfType 131/23/53 does."""
    pc.kinds = {"eth0": "wired", "ローカル エリア接続 2": "wired"}
    pc.adapters = [adapter("eth0", 2), adapter("ローカル エリア接続 2", 9, "if_type")]
    pc.routes = [DefaultRoute(4, "ローカル エリア接続 2", None, 1), DefaultRoute(4, "eth0", "192.168.10.1", 25)]
    v = vpn.probe(ctx()).values
    assert v["vpn_up"] and v["tunnel_interfaces"][0]["name"] == "ローカル エリア接続 2"


def test_routes_probe_shows_an_ipv6_only_pc_and_the_device_route(pc):
    pc.routes = [DefaultRoute(6, "eth0", "fe80::1", 256)]
    r = routes.probe(ProbeContext())
    assert r.reason_code == "v6" and r.values["default_v4"] == []
    pc.routes = [DefaultRoute(4, "tun0", None, 0)]
    r = routes.probe(ProbeContext())
    assert r.reason_code == "v4" and r.values["default_v4"] == [{"interface": "tun0", "gateway": None, "metric": 0}]


def test_linux_route_lookup_names_the_interface_that_holds_the_source_address():
    """The kernel's own choice for loopback: no packet leaves (connect() on UDP sends nothing)."""
    best = netpath.best_interface("127.0.0.1")
    assert best is not None and best.name == "lo"


def test_an_ipv6_transition_tunnel_with_its_own_default_route_is_not_a_vpn(pc):
    """Windows gives Teredo a ::/0 of its own; that is IPv6 over IPv4, not a VPN connection."""
    teredo = "Teredo Tunneling Pseudo-Interface"
    pc.kinds = {"eth0": "wired", teredo: "tunnel"}
    pc.adapters = [adapter("eth0", 2), netpath.Adapter(index=14, name=teredo, description="", if_type=131,
                                                       tunnel_type="teredo", mtu=1280, up=True, tunnel="if_type")]
    pc.routes = [DefaultRoute(4, "eth0", "192.168.10.1", 25), DefaultRoute(6, teredo, None, 331)]
    r = vpn.probe(ctx())
    assert not r.values["vpn_up"] and r.reason_code == "none"
    assert r.values["tunnel_interfaces"] == [{"name": teredo, "up": True, "reason": "if_type"}]
