"""The vpn and routes probes on Linux against a real routing table in the lab: a VPN client's
split default route (0.0.0.0/1 + 128.0.0.0/1 on tun0) beside the LAN's default, as OpenVPN and
many IPsec clients install it. The kernel's own route lookup (nothing sent) must agree."""

from __future__ import annotations

import json
import sys

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT

CODE = """
import json, time
from clinicnet.probes import routes, vpn
from clinicnet.probes.interface import ProbeContext
ctx = ProbeContext(targets=({gw!r},), internet_checks=({web!r},), deadline=time.monotonic() + 3)
print(json.dumps({{"vpn": vpn.probe(ctx).to_json(), "routes": routes.probe(ctx).to_json()}}))
"""


def run_probes(lab) -> dict:
    code = CODE.format(gw=A.GATEWAY_V4, web=f"http://{A.WEB_V4}/generate_204")
    proc = lab.run("pc", [sys.executable, "-c", code], env={"PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT)
    return json.loads(proc.stdout)


def test_split_default_route_through_tun0_is_a_vpn_and_wins_over_the_lan_default(make_lab):
    lab = make_lab(vpn_up=True)
    gw = A.ROUTER_LAN_V4
    # turn the device default into a split pair and give the LAN its default back (metric 100)
    for cmd in (["ip", "route", "del", "default", "dev", A.TUN_IFACE],
                ["ip", "route", "add", "0.0.0.0/1", "dev", A.TUN_IFACE],
                ["ip", "route", "add", "128.0.0.0/1", "dev", A.TUN_IFACE],
                ["ip", "route", "add", "default", "via", gw, "metric", "100"]):
        lab.run("pc", cmd)
    out = run_probes(lab)
    v4 = out["routes"]["values"]["default_v4"]
    assert v4[0] == {"interface": A.TUN_IFACE, "gateway": None, "metric": 0, "split": True}, v4
    assert v4[1]["gateway"] == gw
    vpn = out["vpn"]["values"]
    assert vpn["vpn_up"] and vpn["default_via_tunnel"] and vpn["internet_via_tunnel"], vpn
    assert {c["address"]: c["interface"] for c in vpn["carriers"]} == {A.WEB_V4: A.TUN_IFACE, A.GATEWAY_V4: "eth0"}
    assert out["vpn"]["reason_code"] == "up_default"


def test_without_the_tunnel_routes_no_vpn(make_lab):
    lab = make_lab(vpn_up=True)
    lab.run("pc", ["ip", "route", "replace", "default", "via", A.ROUTER_LAN_V4])
    out = run_probes(lab)
    vpn = out["vpn"]["values"]
    assert not vpn["default_via_tunnel"] and not vpn["internet_via_tunnel"], vpn
    assert {c["interface"] for c in vpn["carriers"]} == {"eth0"}
    # tun0 is up and carries nothing; the process list is the machine's (other labs run charon),
    # so a known client process may still make it "up" without the default route
    assert out["vpn"]["reason_code"] == ("up" if vpn["processes"] else "tunnel_only"), vpn
