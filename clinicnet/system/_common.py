"""Helpers shared by the platform modules (pure functions, testable anywhere)."""

from __future__ import annotations

import re
from typing import TypedDict


class RouteDict(TypedDict):
    family: int
    interface: str
    gateway: str | None
    metric: int

#: interface name prefixes that are tunnels/VPN adapters on Linux and BSD-ish systems
TUNNEL_NAME = re.compile(
    r"^(tun|tap|wg|ppp|ipsec|xfrm|vti|ip_vti|gre|gretap|ip6tnl|sit|utun|zt|tailscale|nordlynx|vpn)",
    re.IGNORECASE,
)


def lang_from_locale_name(name: str | None) -> str:
    """Map a locale name such as ``ja_JP.UTF-8`` or ``Japanese_Japan.932`` to ja/en."""
    if not name:
        return "en"
    low = name.lower()
    if low.startswith("ja") or low.startswith("japanese"):
        return "ja"
    return "en"
