"""Network interfaces: addresses, up/down, link speed, wired or Wi-Fi.

psutil gives addresses and link state portably; the interface *kind* comes from the
platform seam because neither psutil nor netifaces knows Wi-Fi from wired.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TypedDict

from clinicnet import system
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.netaddr import v6_scope
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class Ipv4Address(TypedDict):
    address: str
    netmask: str | None


class Ipv6Address(TypedDict):
    #: without the ``%zone`` suffix
    address: str
    #: ``netaddr.v6_scope``: global, ula, link, loopback, other
    scope: str


class Interface(TypedDict):
    name: str
    up: bool
    #: ``system.interface_kind``: wired, wifi, tunnel, loopback, other
    kind: str
    speed_mbps: int | None
    mtu: int | None
    mac: str | None
    ipv4: list[Ipv4Address]
    ipv6: list[Ipv6Address]


class Facts(TypedDict):
    has_ipv4: bool
    has_global_ipv6: bool
    #: Wi-Fi interfaces that are up and addressed
    wifi_up: list[str]


class Values(Facts, total=False):
    interfaces: list[Interface]


SPEC = ProbeSpec(
    name="interfaces",
    order=20,
    title=Text(ja="ネットワークアダプタとアドレス", en="Network interfaces and addresses"),
    values=Values,
    reasons={
        "none_up": Text(ja="有効なネットワークアダプタがありません", en="no network interface is up"),
        "up": Text(ja="{count} 個のアダプタが有効です: {names}", en="{count} interface(s) up: {names}"),
    },
)


def collect() -> list[Interface]:
    import psutil

    addrs = psutil.net_if_addrs()
    stats = psutil.net_if_stats()
    out: list[Interface] = []
    for name in sorted(addrs):
        st = stats.get(name)
        entry: Interface = {
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


def summarise(interfaces: list[Interface]) -> Facts:
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
    sw = Stopwatch(SPEC)
    interfaces = collect()
    values: Values = {"interfaces": interfaces, **summarise(interfaces)}
    up = [i["name"] for i in interfaces if i["up"] and i["kind"] != "loopback"]
    if not up:
        return sw.result(Status.FAILED, "none_up", values)
    return sw.result(Status.OK, "up", values, count=len(up), names=", ".join(up))
