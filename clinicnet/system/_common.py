"""Helpers shared by the platform modules (pure functions, testable anywhere)."""

from __future__ import annotations

import errno as errno_mod
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict


class _RouteDict(TypedDict):
    family: int
    interface: str
    gateway: str | None
    metric: int


class RouteDict(_RouteDict, total=False):
    #: a VPN client's split default route (``0.0.0.0/1`` + ``128.0.0.0/1``): present only then
    split: bool


class PrefixRoute(TypedDict):
    """One routing-table entry that may be (half of) a default route."""

    family: int
    prefix: str
    prefix_len: int
    interface: str
    gateway: str | None
    metric: int


#: the two /1 halves that VPN clients install instead of replacing the default route: being
#: more specific than ``/0`` they win over it whatever the metrics say
SPLIT_HALVES = {4: ("0.0.0.0", "128.0.0.0"), 6: ("::", "8000::")}


def default_routes_from(rows: Iterable[PrefixRoute]) -> list[RouteDict]:
    """Default routes (``/0``) and split default routes (both ``/1`` halves on one interface),
    best first per family: a split pair before any ``/0`` (longest prefix wins), then by metric."""
    out: list[RouteDict] = []
    halves: dict[tuple[int, str], dict[str, PrefixRoute]] = {}
    for r in rows:
        if r["prefix_len"] == 0:
            out.append({"family": r["family"], "interface": r["interface"], "gateway": r["gateway"],
                        "metric": r["metric"]})
        elif r["prefix_len"] == 1 and r["prefix"] in SPLIT_HALVES.get(r["family"], ()):
            halves.setdefault((r["family"], r["interface"]), {})[r["prefix"]] = r
    for (family, interface), got in halves.items():
        if len(got) == 2:
            low, high = (got[h] for h in SPLIT_HALVES[family])
            out.append({"family": family, "interface": interface, "gateway": low["gateway"] or high["gateway"],
                        "metric": max(low["metric"], high["metric"]), "split": True})
    return sorted(out, key=lambda r: (r["family"], not r.get("split", False), r["metric"]))

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


# --------------------------------------------------------------------------------------
# ICMP errors on a datagram socket (public face: clinicnet.system.icmp)
# --------------------------------------------------------------------------------------

PORT = "icmp_port_unreachable"
HOST = "icmp_host_unreachable"
NET = "icmp_net_unreachable"
ADMIN = "icmp_admin_prohibited"
OTHER = "icmp_other"
#: not ICMP at all: the local stack refused (e.g. EMSGSIZE), reported as a send error
LOCAL = "local_error"
OUTCOMES = (PORT, HOST, NET, ADMIN, OTHER)


@dataclass(frozen=True)
class IcmpError:
    """One ICMP error (or the errno standing in for it) on a probe socket.

    Platform-neutral on purpose: Linux fills it from the socket's error queue,
    Windows (later) from IcmpSendEcho2 replies or ``WSAECONNRESET``; the probes
    only ask the questions below.
    """

    outcome: str
    errno: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    #: the router or host that sent the ICMP; not necessarily the target
    offender: str | None = None
    #: ``errqueue`` when read from the kernel's record of the ICMP, ``errno`` for the portable fallback
    source: str = "errno"
    #: ICMPv6 rather than ICMP (type numbers differ)
    v6: bool = False
    #: the next-hop MTU of "fragmentation needed" / "packet too big", else 0
    info: int = 0
    #: where the datagram that caused the error was going, when the OS says
    dest: tuple[str, int] | None = None

    @property
    def is_icmp(self) -> bool:
        return self.icmp_type is not None and self.outcome != LOCAL

    @property
    def time_exceeded(self) -> bool:
        return self.is_icmp and self.icmp_type == (3 if self.v6 else 11)

    @property
    def frag_needed(self) -> bool:
        if not self.is_icmp:
            return False
        return self.icmp_type == 2 if self.v6 else (self.icmp_type, self.icmp_code) == (3, 4)

    @property
    def port_unreachable(self) -> bool:
        return self.is_icmp and self.outcome == PORT

    @property
    def unreachable(self) -> bool:
        """Destination unreachable of any kind: the request has its answer, waiting longer is pointless."""
        return self.is_icmp and self.icmp_type == (1 if self.v6 else 3)

    def concerns(self, dest: tuple[str, int]) -> bool:
        """Whether this error was caused by a datagram sent to ``dest`` (raw sockets have port 0)."""
        if self.dest is None:
            return True
        addr, port = self.dest
        return addr == dest[0] and (not port or not dest[1] or port == dest[1])

    def describe(self) -> str:
        parts = [self.outcome.replace("icmp_", "ICMP ").replace("_", " ")]
        if self.icmp_type is not None:
            parts.append(f"type {self.icmp_type} code {self.icmp_code}")
        if self.offender:
            parts.append(f"from {self.offender}")
        if self.errno is not None:
            parts.append(f"({errno_mod.errorcode.get(self.errno, self.errno)})")
        return " ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "type": self.icmp_type,
            "code": self.icmp_code,
            "from": self.offender,
            "errno": errno_mod.errorcode.get(self.errno, self.errno) if self.errno is not None else None,
            "source": self.source,
            "info": self.info,
        }


def classify_icmp(v6: bool, icmp_type: int, icmp_code: int) -> str:
    """Map an ICMP (v4 or v6) type/code to one of :data:`OUTCOMES`."""
    if v6:
        if icmp_type == 1:  # destination unreachable
            return {0: NET, 1: ADMIN, 3: HOST, 4: PORT, 5: ADMIN, 6: ADMIN}.get(icmp_code, OTHER)
        return OTHER
    if icmp_type == 3:
        if icmp_code == 3:
            return PORT
        if icmp_code in (0, 6, 11):
            return NET
        if icmp_code in (1, 5, 7, 12):
            return HOST
        if icmp_code in (9, 10, 13):
            return ADMIN
    return OTHER


# --------------------------------------------------------------------------------------
# What arrived with a datagram (public face: clinicnet.system.udp)
# --------------------------------------------------------------------------------------


#: room for the ancillary data a received datagram may carry (``recvmsg``'s ancbufsize)
ANCILLARY_SPACE = 256


@dataclass(frozen=True)
class Arrival:
    """What the OS told about one received datagram besides its bytes."""

    #: the local address it was sent to (a wildcard socket answers from it)
    local: str | None = None
    #: TTL / hop limit it arrived with (0: not told)
    ttl: int = 0
    #: the largest IP fragment when it arrived in pieces, 0 when whole (or not told)
    fragment: int = 0
