"""Network interfaces: addresses, up/down, link speed, wired or Wi-Fi.

psutil gives addresses and link state portably; the interface *kind* comes from the
platform seam because neither psutil nor netifaces knows Wi-Fi from wired.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from clinicnet import system
from clinicnet.model import ProbeResult, Status
from clinicnet.netaddr import v6_scope
from clinicnet.probes.interface import ProbeContext, Stopwatch


def collect() -> list[dict[str, Any]]:
    import psutil

    addrs = psutil.net_if_addrs()
    stats = psutil.net_if_stats()
    out: list[dict[str, Any]] = []
    for name in sorted(addrs):
        st = stats.get(name)
        entry: dict[str, Any] = {
            "name": name,
            "up": bool(st.isup) if st else False,
            "kind": system.interface_kind(name),
            "speed_mbps": (st.speed or None) if st else None,
            "mtu": st.mtu if st else None,
            "mac": None,
            "ipv4": [],
            "ipv6": [],
        }
        for a in addrs[name]:
            if a.family == socket.AF_INET:
                entry["ipv4"].append({"address": a.address, "netmask": a.netmask})
            elif a.family == socket.AF_INET6:
                text = a.address.split("%", 1)[0]
                try:
                    scope = v6_scope(ipaddress.IPv6Address(text))
                except ValueError:
                    scope = "other"
                entry["ipv6"].append({"address": text, "scope": scope})
            elif getattr(psutil, "AF_LINK", None) == a.family and a.address:
                entry["mac"] = a.address.replace("-", ":").lower()
        out.append(entry)
    return out


def summarise(interfaces: list[dict[str, Any]]) -> dict[str, Any]:
    """Facts the rules need, computed once here so the JSON shows them as evidence."""
    usable = [i for i in interfaces if i["up"] and i["kind"] != "loopback"]
    has_v4 = any(
        not ipaddress.IPv4Address(a["address"]).is_link_local for i in usable for a in i["ipv4"]
    )
    has_global_v6 = any(a["scope"] in ("global", "ula") for i in usable for a in i["ipv6"])
    return {
        "has_ipv4": has_v4,
        "has_global_ipv6": has_global_v6,
        "wifi_up": [i["name"] for i in usable if i["kind"] == "wifi" and (i["ipv4"] or i["ipv6"])],
    }


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch("interfaces")
    interfaces = collect()
    facts = summarise(interfaces)
    up = [i["name"] for i in interfaces if i["up"] and i["kind"] != "loopback"]
    if not up:
        return sw.result(Status.FAILED, "no network interface is up", {"interfaces": interfaces, **facts})
    reason = f"{len(up)} interface(s) up: {', '.join(up)}"
    return sw.result(Status.OK, reason, {"interfaces": interfaces, **facts})
