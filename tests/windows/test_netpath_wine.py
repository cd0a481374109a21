"""``clinicnet.system.netpath`` on Windows CPython under Wine, in lab namespaces.

The Windows calls (IcmpSendEcho2 with a TTL or DF, IP_DONTFRAGMENT, GetBestInterfaceEx,
GetAdaptersAddresses' tail) run for real against the lab's routers: a double-NAT trace must
name both clinic routers, a DS-Lite softwire (MTU 1460) must refuse a 1500-byte DF echo.
Wine implements these calls on Linux sockets; where its answers could differ from Windows'
(docs/windows.md, "what only real Windows can confirm"), the assertion says so.
"""

from __future__ import annotations

import json
from typing import Any

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT
from tests.windows import wine as W

#: run by the Windows interpreter: the measurements, as JSON on stdout
SCRIPT = r"""
import dataclasses, json, socket, sys
from clinicnet.system import netpath
target = sys.argv[1]
out = {"hops": []}
for ttl in range(1, 8):
    hop = netpath.trace_hop(target, ttl, timeout=1.0)
    out["hops"].append(dataclasses.asdict(hop))
    if hop.kind not in ("ttl_expired", "timeout"):
        break
out["df"] = {n: dataclasses.asdict(netpath.echo_dont_fragment(target, n)) for n in (1400, 1500)}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
netpath.set_dont_fragment(s)
out["df_option"] = s.getsockopt(socket.IPPROTO_IP, 14)
try:
    s.sendto(b"x" * 3000, (target, 9))
    out["df_oversize"] = "sent"
except OSError as exc:
    out["df_oversize"] = getattr(exc, "winerror", None) or exc.errno
s.close()
best = netpath.best_interface(target)
out["best"] = dataclasses.asdict(best) if best else None
out["best_for"] = {t: getattr(netpath.best_interface(t), "name", None) for t in sys.argv[2:]}
out["adapters"] = [dataclasses.asdict(a) for a in netpath.adapters()]
from clinicnet.system import udp
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out["policy"] = udp.fragment_policy(u, udp.PROBE)
for name, opt in (("mtu_discover", 71), ("dontfragment", 14)):
    try:
        out[name] = u.getsockopt(socket.IPPROTO_IP, opt)
    except OSError as exc:
        out[name] = f"error {getattr(exc, 'winerror', None) or exc.errno}"
u.connect((target, 500))
out["path_mtu"] = udp.path_mtu(u)
u.close()
from clinicnet import system
out["routes"] = [dataclasses.asdict(r) for r in system.default_routes()]
print(json.dumps(out))
"""


def measure(make_lab: Any, *route_targets: str, **options: Any) -> dict[str, Any]:
    lab = make_lab(**options)
    wine = W.wine_in_lab(lab)
    res = wine.run(W.python_argv("-c", SCRIPT, A.GATEWAY_V4, *route_targets), env=W.source_env(), cwd=REPO_ROOT,
                   timeout=120)
    assert res.returncode == 0, res.detail()
    out: dict[str, Any] = json.loads(res.stdout)
    W.record_artifact(f"netpath:{options}", {"mtu_discover": out.get("mtu_discover"), "hops": [(h["kind"], h["responder"]) for h in out["hops"]],
                                             "df": {k: v["kind"] for k, v in out["df"].items()},
                                             "seconds": round(res.seconds, 1)})
    return out


def test_trace_double_nat_names_both_clinic_routers(make_lab) -> None:
    out = measure(make_lab, nat_layers=2)
    hops = [(h["kind"], h["responder"]) for h in out["hops"]]
    assert hops == [("ttl_expired", A.ROUTER_LAN_V4),
                    ("ttl_expired", "192.168.0.1"), ("ttl_expired", "198.51.100.1"), ("reply", A.GATEWAY_V4)]
    assert out["hops"][-1]["ip_status"] == 0 and out["hops"][0]["ip_status"] == 11013
    # all links 1500: DF echoes of 1400 and 1500 bytes pass
    assert {k: v["kind"] for k, v in out["df"].items()} == {"1400": "reply", "1500": "reply"}
    assert out["df_option"] == 1
    # WSAEMSGSIZE (10040): with DF a datagram larger than the link is refused, not fragmented
    assert out["df_oversize"] == 10040
    assert out["best"] is not None and out["best"]["mtu"] == 1500 and out["best"]["tunnel"] is None
    # system.udp's PROBE policy: Wine refuses IP_MTU_DISCOVER (71), so IP_DONTFRAGMENT carries DF;
    # the path MTU falls back to the routing adapter's MTU (Wine has no IP_MTU either)
    assert out["policy"] is True and out["dontfragment"] == 1, out
    assert out["mtu_discover"] != 3, out  # not PMTUDISC_PROBE: refused or not honoured
    assert out["path_mtu"] == 1500


def test_ds_lite_softwire_refuses_a_1500_byte_df_echo(make_lab) -> None:
    out = measure(make_lab, dslite=True)
    hops = [(h["kind"], h["responder"]) for h in out["hops"]]
    assert hops[:2] == [("ttl_expired", A.ROUTER_LAN_V4), ("ttl_expired", "192.0.0.1")]
    assert hops[-1] == ("reply", A.GATEWAY_V4)
    assert out["df"]["1400"]["kind"] == "reply"
    # the B4 (the clinic router) cannot forward 1500 bytes into its 1460 softwire with DF set
    assert out["df"]["1500"]["kind"] == "too_big" and out["df"]["1500"]["responder"] == A.ROUTER_LAN_V4


def test_best_interface_follows_the_vpn_default_route_and_the_gateway_host_route(make_lab) -> None:
    """A VPN client's default route on tun0, the gateway kept on the LAN by a host route: the
    internet goes through the tunnel, the VPN gateway itself does not (GetBestInterfaceEx)."""
    out = measure(make_lab, A.WEB_V4, vpn_up=True)
    assert out["best"]["name"] == "eth0"
    assert out["best_for"] == {A.WEB_V4: "tun0"}
    # Wine shows the TUN device as IfType 1 (other) named tun0: not a Windows tunnel type, so it
    # is found by its device-like name only; real Windows VPN adapters' types need real Windows
    tun = next(a for a in out["adapters"] if a["name"] == "tun0")
    assert tun["if_type"] == 1 and tun["tunnel"] == "name"
    # GetIpForwardTable2: the VPN's gateway-less default route, which replaced the LAN's
    # (netifaces' gateway list has no entry for a route without a gateway)
    v4 = [(r["interface"], r["gateway"]) for r in out["routes"] if r["family"] == 4]
    assert v4 == [("tun0", None)], out["routes"]


SPLIT_SCRIPT = r"""
import dataclasses, json, sys, time
from clinicnet import system
from clinicnet.probes import vpn
from clinicnet.probes.interface import ProbeContext
ctx = ProbeContext(targets=(sys.argv[1],), internet_checks=(sys.argv[2],), deadline=time.monotonic() + 3)
r = vpn.probe(ctx).to_json()
print(json.dumps({"routes": [dataclasses.asdict(x) for x in system.default_routes()], "vpn": r["values"],
                  "code": r["reason_code"]}))
"""


def test_split_default_route_under_wine(make_lab) -> None:
    """GetIpForwardTable2 gives the two /1 halves on tun0; they count as the default route and win
    over the LAN's /0, and GetBestInterfaceEx sends the internet check through tun0."""
    lab = make_lab(vpn_up=True)
    for cmd in (["ip", "route", "del", "default", "dev", A.TUN_IFACE],
                ["ip", "route", "add", "0.0.0.0/1", "dev", A.TUN_IFACE],
                ["ip", "route", "add", "128.0.0.0/1", "dev", A.TUN_IFACE],
                ["ip", "route", "add", "default", "via", A.ROUTER_LAN_V4, "metric", "100"]):
        lab.run("pc", cmd)
    wine = W.wine_in_lab(lab)
    res = wine.run(W.python_argv("-c", SPLIT_SCRIPT, A.GATEWAY_V4, f"http://{A.WEB_V4}/generate_204"),
                   env=W.source_env(), cwd=REPO_ROOT, timeout=120)
    assert res.returncode == 0, res.detail()
    out = json.loads(res.stdout)
    v4 = [(r["interface"], r["gateway"], r["split"]) for r in out["routes"] if r["family"] == 4]
    assert v4 == [("tun0", None, True), ("eth0", A.ROUTER_LAN_V4, False)], out["routes"]
    vpn = out["vpn"]
    assert vpn["default_via_tunnel"] and vpn["internet_via_tunnel"] and out["code"] == "up_default", vpn
    assert {c["address"]: c["interface"] for c in vpn["carriers"]} == {A.WEB_V4: "tun0", A.GATEWAY_V4: "eth0"}
