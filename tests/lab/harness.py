"""The lab: a clinic network built from network namespaces, veth pairs and nftables NAT.

Why namespaces instead of mocks: clinicnet's verdicts (NAT present, UDP 500 blocked, VPN up and
internet down ...) come from real packets, so the tests give it real packets.  Every namespace is
isolated from the host (no veth ever reaches the host namespace, no route leads out), and the lab's
own dnsmasq answers every DNS query, so nothing a test does can reach the machine's real network.

Roles, inside to outside (see ``addresses`` for the numbers)::

    pc -> router -> modem -> cgn -> isp -> dc
          (nat_layers>=1) (==2) (cgn)

* ``pc``: the clinic PC, where clinicnet runs.
* ``router``: the clinic's NAT router; ``modem``: a Wi-Fi cable modem that routes and NATs too
  (double NAT); ``cgn``: the carrier's NAT on 100.64.0.0/10.
* ``aftr`` (``dslite=True``): the ISP's DS-Lite AFTR; the router is then the B4, IPv6-only on
  its WAN, with an IPv4-in-IPv6 softwire (``softwire.py``) to the AFTR, which does NAT44.
* ``isp``: the internet core; hosts the web server and DNS on its ``lo``.
* ``dc``: the data centre with the VPN gateway (192.0.2.10) and the reflector (192.0.2.20).

Building takes a handful of processes, mostly in parallel: one ``ip -batch`` on the host creates
all namespaces and veth pairs (each veth end is created directly inside its namespace, so no
interface ever appears on the host), then one ``ip netns exec`` per namespace applies addresses,
routes, sysctls and nftables, then the services start.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from . import addresses as A
from . import netns

if TYPE_CHECKING:  # pragma: no cover - annotations only; strongswan.py is imported when used
    from .strongswan import Charon

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = Path(__file__).resolve().parent

#: accepted ``LabOptions.dns`` values
DNS_MODES = ("ok", "down", "servfail", "refused", "timeout")
#: accepted ``LabOptions.gateway`` values (see LabOptions)
GATEWAY_MODES = ("none", "strongswan", "ikev1-only", "ikev2-ignored")
#: ICMPv6 types that keep a link working (neighbour discovery): never lost, never filtered
_ND_TYPES = "{ nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }"
#: accepted ``blocks_at``/``rejects_at`` values besides the role names
EDGE = "edge"
#: short reject specs understood by nft's family-agnostic ``icmpx``
_ICMPX_TYPES = ("port-unreachable", "admin-prohibited", "no-route", "host-unreachable")
#: diagnose() accepts these exit codes (the CLI's "ran fine, here are findings" range)
DIAGNOSE_OK_CODES = frozenset({0, 1, 3, 4})
#: environment variables that would send a subprocess's HTTP to a proxy outside the lab
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")
# a root trust anchor (the real KSK-2017 DS) makes dnsmasq validate; the unsigned lab answers
# then fail validation, which dnsmasq reports as SERVFAIL: the only clean way to get SERVFAIL
_ROOT_TRUST_ANCHOR = ".,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"
_READY_TIMEOUT = 10.0


class LabError(RuntimeError):
    """The lab could not be built or a lab command failed."""


class LabCommandError(subprocess.CalledProcessError):
    """A command inside a namespace failed; the message shows its output (pytest prints it)."""

    def __str__(self) -> str:
        return (
            f"{shlex.join(str(a) for a in self.cmd)} exited {self.returncode}\n"
            f"--- stdout ---\n{self.stdout or ''}\n--- stderr ---\n{self.stderr or ''}"
        )


@dataclass(frozen=True)
class LabOptions:
    """What the clinic network looks like.

    * ``nat_layers``: 0 (PC has the public address, no router), 1 (clinic router), 2 (clinic
      router behind a routing Wi-Fi cable modem).
    * ``cgn``: add carrier-grade NAT (100.64.0.0/10) upstream of the clinic.  Combined with
      ``nat_layers=0`` the PC sits directly on the CGN's customer network (100.64.0.10).
    * ``ipv4``/``ipv6``: ``ipv4=False`` is an IPv6-only PC (no IPv4 address or route on the PC;
      the rest of the network stays dual-stack) and implies ``ipv6=True``.
    * ``internet_down``: the ISP drops everything to and from the clinic, no ICMP back.
    * ``dns``: "ok"; "down" (no server: ICMP port unreachable, i.e. refused at once);
      "servfail" (every answer SERVFAIL); "refused" (every answer REFUSED); "timeout" (the
      server swallows queries).
    * ``vpn_up``: a VPN client holds ``tun0`` with the default route; only the gateway keeps a
      host route via the LAN.
    * ``nat_random_ports``: the clinic router rewrites source ports (``masquerade
      random,fully-random``); needs a router.
    * ``blocks``: nft expressions whose matches are dropped; ``rejects``: (expression,
      reject-spec) pairs.  Both act on traffic leaving the clinic (PC -> internet direction):

      - ``"isp"`` (default): input+forward chains of the isp, packets arriving from the clinic.
        Applies to every variant and ICMP errors come from upstream (198.51.100.1).
      - ``"router"``/``"modem"``/``"cgn"``: forward chain, packets arriving on its LAN side.
      - ``"edge"``: the outermost clinic device (modem, router, or the PC when nat_layers=0).
      - ``"pc"``: output chain (a desktop firewall); ``"dc"``: input chain (gateway host firewall).

      A reject-spec is a full nft statement (``"reject with icmp type host-unreachable"``) or a
      short icmpx type (``"port-unreachable"``, ``"admin-prohibited"``, ``"host-unreachable"``,
      ``"no-route"``), or ``"tcp reset"``.
    * ``web_clock_offset_s``: the web server's clock (its HTTP ``Date`` header) is this many
      seconds off, as the PC's clock would look from outside when the PC's is wrong.
    * ``dslite``: DS-Lite (RFC 6333, e.g. transix).  The clinic router is the B4: its WAN has
      no IPv4, only IPv6 to an ``aftr`` role (in the ISP, between router and isp), and IPv4 goes
      through a softwire (IPv4-in-IPv6, next header 4; ``softwire.py`` on a TUN, as the kernel
      has no ip6tnl) with 192.0.0.2 (B4) / 192.0.0.1 (AFTR) and MTU 1460 on ``dslite0``.  The
      AFTR does NAT44 (masquerade) to 198.51.100.2 and drops ESP (a real AFTR translates by
      port; Linux conntrack would pass ESP).  The router keeps NAPT on its LAN, as consumer
      routers in DS-Lite mode commonly do (RFC 6333's B4 does not NAT; the trace looks the same).
      Needs ``nat_layers=1`` and no ``cgn``.
    * ``loss_percent``: that share of IP packets (IPv4 and IPv6; ARP and neighbour discovery
      excepted) is dropped at random on the link between the clinic and the isp, independently
      in each direction and per fragment (nftables ``numgen random`` on the isp's ``clinic0``
      ingress and egress hooks: before reassembly, after fragmentation).
    * ``delay_ms``: the round trip between the clinic and anything beyond the isp (web, DNS,
      gateway, reflector, the isp itself) grows by this much: the isp routes every packet
      crossing it to or from the clinic through ``delayrelay.py`` (a TUN), which holds it
      ``delay_ms / 2`` per direction.  The kernel has no netem; see delayrelay.py for accuracy.
    * ``icmp_filtered``: the isp drops every ICMP / ICMPv6 packet (neighbour discovery excepted)
      crossing the clinic link, both ways: no ping, no traceroute hops beyond the clinic, no
      port-unreachable, no fragmentation-needed from upstream.
    * ``gateway``: an IKE responder on 192.0.2.10 started with the lab (``lab.charon``):
      "none" (tests start their own, see strongswan.py), "strongswan" (IKEv2 and IKEv1 PSK
      connections), "ikev1-only" (charon with only the IKEv1 connection: it answers an IKEv2
      IKE_SA_INIT with NO_PROPOSAL_CHOSEN), "ikev2-ignored" (the same charon, and the gateway
      host drops every IKEv2 datagram on UDP 500/4500 by its version byte: IKEv2 gets no answer
      at all, IKEv1 Main Mode is answered, like old gateways that discard what they cannot parse).
    * ``reflector``: ``clinicnet reflector`` runs on 192.0.2.20 (``lab.reflector_log``), set up
      the documented way beside a gateway on the same host (ports 10500/14500 plus a DNAT from
      500/4500 of its own address), and ``diagnose()`` passes ``--reflector 192.0.2.20``.
    """

    nat_layers: int = 1
    cgn: bool = False
    ipv4: bool = True
    ipv6: bool = False
    internet_down: bool = False
    dns: str = "ok"
    vpn_up: bool = False
    nat_random_ports: bool = False
    blocks: tuple[str, ...] = ()
    blocks_at: str = "isp"
    rejects: tuple[tuple[str, str], ...] = ()
    rejects_at: str = "isp"
    web_clock_offset_s: float = 0.0
    dslite: bool = False
    loss_percent: int = 0
    delay_ms: int = 0
    icmp_filtered: bool = False
    gateway: str = "none"
    reflector: bool = False

    def __post_init__(self) -> None:
        if self.nat_layers not in (0, 1, 2):
            raise ValueError(f"nat_layers must be 0, 1 or 2, not {self.nat_layers!r}")
        if self.dns not in DNS_MODES:
            raise ValueError(f"dns must be one of {DNS_MODES}, not {self.dns!r}")
        if self.gateway not in GATEWAY_MODES:
            raise ValueError(f"gateway must be one of {GATEWAY_MODES}, not {self.gateway!r}")
        if not 0 <= self.loss_percent <= 100:
            raise ValueError(f"loss_percent must be 0..100, not {self.loss_percent!r}")
        if not 0 <= self.delay_ms <= 10_000:
            raise ValueError(f"delay_ms must be 0..10000, not {self.delay_ms!r}")
        if not self.ipv4 and not self.ipv6:
            object.__setattr__(self, "ipv6", True)  # an IPv6-only PC has IPv6, by definition
        if self.nat_random_ports and self.nat_layers == 0:
            raise ValueError("nat_random_ports needs a clinic router (nat_layers >= 1)")
        if self.dslite and (self.nat_layers != 1 or self.cgn):
            raise ValueError("dslite needs exactly the clinic router (nat_layers=1) and no cgn")
        if isinstance(self.blocks, str) or isinstance(self.rejects, str):
            raise TypeError("blocks/rejects are tuples of expressions, not a single string")
        object.__setattr__(self, "blocks", tuple(self.blocks))
        object.__setattr__(self, "rejects", tuple((str(e), str(s)) for e, s in self.rejects))
        for where in (self.blocks_at, self.rejects_at):
            if where != EDGE and where not in topology_roles(self):
                raise ValueError(f"no {where!r} in this lab (roles: {', '.join(topology_roles(self))})")


def topology_roles(options: LabOptions) -> list[str]:
    """Roles present in a variant, inside to outside."""
    roles = ["pc"]
    if options.nat_layers >= 1:
        roles.append("router")
    if options.nat_layers >= 2:
        roles.append("modem")
    if options.cgn:
        roles.append("cgn")
    if options.dslite:
        roles.append("aftr")
    return [*roles, "isp", "dc"]


def _edge_role(options: LabOptions) -> str:
    return {0: "pc", 1: "router", 2: "modem"}[options.nat_layers]


def reject_statement(spec: str) -> str:
    """Turn a short reject spec into an nft statement (see LabOptions)."""
    spec = spec.strip()
    if spec.startswith("reject"):
        return spec
    if spec in _ICMPX_TYPES:
        return f"reject with icmpx type {spec}"
    if spec in ("tcp reset", "tcp-reset"):
        return "reject with tcp reset"
    return f"reject with icmp type {spec}"


# --------------------------------------------------------------------------------------------
# the plan: pure data, so it can be checked without root
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One veth pair between an inner and an outer device, with its addresses."""

    inner: str
    inner_if: str
    outer: str
    outer_if: str
    inner_v4: str | None  # "addr/prefix"; None = no IPv4 on that end
    outer_v4: str | None
    inner_v6: str
    outer_v6: str
    v6_net: str
    #: interface indexes of the two ends, distinct on purpose: when a veth's ifindex equals its
    #: peer's (both ends are "2" in fresh namespaces) the kernel treats its carrier change as
    #: non-urgent and linkwatch applies it up to 1 s later; until then the qdisc drops packets
    inner_index: int = 0
    outer_index: int = 0


@dataclass
class Plan:
    """Everything needed to build one variant, computed from ``LabOptions`` alone."""

    roles: list[str]
    links: list[Link]
    ip_batch: dict[str, list[str]] = field(default_factory=dict)
    sysctls: dict[str, list[str]] = field(default_factory=dict)
    nft: dict[str, str] = field(default_factory=dict)
    resolv_conf: str = ""


def _link_addresses(inner: str, outer: str) -> tuple[str | None, str | None, str, str, str]:
    """(inner_v4, outer_v4, inner_v6, outer_v6, v6_net) for a link between two roles."""
    if outer == "aftr":  # DS-Lite: the B4's WAN is IPv6 only
        return (None, None, f"{A.DSLITE_B4_V6}/64", f"{A.DSLITE_AFTR_V6}/64", A.DSLITE_V6_NET)
    if inner == "pc":
        v6 = (f"{A.PC_V6}/64", f"{A.ROUTER_LAN_V6}/64", A.LAN_V6_NET)
        if outer == "router":
            v4 = (f"{A.PC_V4}/{A.LAN_V4_PREFIX}", f"{A.ROUTER_LAN_V4}/{A.LAN_V4_PREFIX}")
        elif outer == "cgn":
            v4 = (f"{A.PC_CGN_V4}/{A.CGN_V4_PREFIX}", f"{A.CGN_INSIDE_V4}/{A.CGN_V4_PREFIX}")
        else:
            v4 = (f"{A.PC_PUBLIC_V4}/{A.PUBLIC_V4_PREFIX}", f"{A.ISP_PUBLIC_V4}/{A.PUBLIC_V4_PREFIX}")
        return (*v4, *v6)
    if outer == "modem":
        return (
            f"{A.ROUTER_WAN_V4}/{A.MODEM_LAN_V4_PREFIX}",
            f"{A.MODEM_LAN_V4}/{A.MODEM_LAN_V4_PREFIX}",
            f"{A.ROUTER_WAN_V6}/64",
            f"{A.MODEM_LAN_V6}/64",
            A.MODEM_LAN_V6_NET,
        )
    if outer == "cgn":
        return (
            f"{A.CGN_CUSTOMER_V4}/{A.CGN_V4_PREFIX}",
            f"{A.CGN_INSIDE_V4}/{A.CGN_V4_PREFIX}",
            f"{A.CGN_CUSTOMER_V6}/64",
            f"{A.CGN_INSIDE_V6}/64",
            A.CGN_V6_NET,
        )
    return (
        f"{A.PUBLIC_V4}/{A.PUBLIC_V4_PREFIX}",
        f"{A.ISP_PUBLIC_V4}/{A.PUBLIC_V4_PREFIX}",
        f"{A.PUBLIC_V6}/64",
        f"{A.ISP_PUBLIC_V6}/64",
        A.PUBLIC_V6_NET,
    )


def _addr(cidr: str) -> str:
    return cidr.split("/", 1)[0]


def _filter_chains(role: str) -> tuple[tuple[str, str], ...]:
    """(chain hook, packet selector) pairs where blocks/rejects apply for a role."""
    if role == "pc":
        return (("output", ""),)
    if role == "isp":
        sel = f'iifname "{A.ISP_CLINIC_IFACE}" '
        return (("input", sel), ("forward", sel))
    if role == "dc":
        return (("input", ""),)
    if role == "aftr":
        return (("forward", f'iifname "{A.DSLITE_IFACE}" '),)
    return (("forward", f'iifname "{A.LAN_IFACE}" '),)


def make_plan(options: LabOptions) -> Plan:
    """Compute addresses, routes, sysctls and nftables rules for every namespace."""
    roles = topology_roles(options)
    chain = roles[:-1]  # pc ... isp; dc hangs off the isp
    v6 = options.ipv6
    links: list[Link] = []
    for inner, outer in zip(chain, chain[1:], strict=False):
        in4, out4, in6, out6, net6 = _link_addresses(inner, outer)
        links.append(
            Link(
                inner=inner,
                inner_if=A.PC_IFACE if inner == "pc" else A.WAN_IFACE,
                outer=outer,
                outer_if=A.ISP_CLINIC_IFACE if outer == "isp" else A.LAN_IFACE,
                inner_v4=None if (inner == "pc" and not options.ipv4) else in4,
                outer_v4=out4,
                inner_v6=in6,
                outer_v6=out6,
                v6_net=net6,
                inner_index=10 + 2 * len(links),
                outer_index=11 + 2 * len(links),
            )
        )
    links.append(
        Link(
            inner="dc",
            inner_if=A.DC_IFACE,
            outer="isp",
            outer_if=A.ISP_DC_IFACE,
            inner_v4=f"{A.GATEWAY_V4}/{A.DC_V4_PREFIX}",
            outer_v4=f"{A.ISP_DC_V4}/{A.DC_V4_PREFIX}",
            inner_v6=f"{A.GATEWAY_V6}/64",
            outer_v6=f"{A.ISP_DC_V6}/64",
            v6_net=A.DC_V6_NET,
            inner_index=10 + 2 * len(links),
            outer_index=11 + 2 * len(links),
        )
    )
    plan = Plan(roles=roles, links=links)
    batch: dict[str, list[str]] = {r: ["link set lo up"] for r in roles}

    def add_v6(role: str, cidr: str, dev: str) -> None:
        # nodad: DAD would keep the address "tentative" (unusable) for ~1 s after the build
        batch[role].append(f"addr add {cidr} dev {dev} nodad")

    for link in links:
        for role, dev, a4, a6 in (
            (link.inner, link.inner_if, link.inner_v4, link.inner_v6),
            (link.outer, link.outer_if, link.outer_v4, link.outer_v6),
        ):
            if a4 is not None:
                batch[role].append(f"addr add {a4} dev {dev}")
            if v6 or link.outer == "aftr":  # the softwire's underlay is IPv6 whatever ipv6 says
                add_v6(role, a6, dev)
            batch[role].append(f"link set {dev} up")
    # dc's second address: the reflector
    batch["dc"].append(f"addr add {A.REFLECTOR_V4}/{A.DC_V4_PREFIX} dev {A.DC_IFACE}")
    if v6:
        add_v6("dc", f"{A.REFLECTOR_V6}/64", A.DC_IFACE)
    # services of the internet core live on the isp's lo (no dummy links on this kernel)
    batch["isp"] += [f"addr add {A.WEB_V4}/32 dev lo", f"addr add {A.DNS_V4}/32 dev lo"]
    if v6:
        add_v6("isp", f"{A.WEB_V6}/128", "lo")
        add_v6("isp", f"{A.DNS_V6}/128", "lo")

    # routes: everyone but the isp defaults outward; IPv6 is routed (no NAT), so every device
    # also needs routes back to the IPv6 networks further inside
    clinic_links = links[:-1]
    for i, role in enumerate(chain):
        if role != "isp":
            out_link = clinic_links[i]
            # the B4's IPv4 default route goes into the softwire, set once it exists
            if (role != "pc" or options.ipv4) and out_link.outer_v4 is not None:
                batch[role].append(f"route add default via {_addr(out_link.outer_v4)}")
            if v6:
                batch[role].append(f"route add ::/0 via {_addr(out_link.outer_v6)}")
        if v6 and i >= 2:
            via = _addr(clinic_links[i - 1].inner_v6)
            for inner_link in clinic_links[: i - 1]:
                batch[role].append(f"route add {inner_link.v6_net} via {via}")
    batch["dc"].append(f"route add default via {A.ISP_DC_V4}")
    if v6:
        batch["dc"].append(f"route add ::/0 via {A.ISP_DC_V6}")
    plan.ip_batch = batch

    # No DAD anywhere: a router forwarding IPv6 sends its neighbour solicitations from its
    # link-local address and sends none while that is still tentative (~1 s after link up), so
    # the first forwarded packets would vanish.  The veths already exist (they inherited
    # default.accept_dad=1 at creation), hence the per-interface settings; tun0 inherits default.
    ifaces: dict[str, list[str]] = {r: [] for r in roles}
    for link in links:
        ifaces[link.inner].append(link.inner_if)
        ifaces[link.outer].append(link.outer_if)
    for role in roles:
        sysctls = [f"net.ipv6.conf.{name}.accept_dad=0" for name in ("all", "default", *ifaces[role])]
        if role in ("router", "modem", "cgn", "aftr", "isp"):
            sysctls.append("net.ipv4.ip_forward=1")
            if v6:
                sysctls.append("net.ipv6.conf.all.forwarding=1")
        plan.sysctls[role] = sysctls

    nft: dict[str, list[str]] = {r: [] for r in roles}
    for role in ("router", "modem", "cgn"):
        if role in roles:
            flags = " random,fully-random" if (role == "router" and options.nat_random_ports) else ""
            out_if = A.DSLITE_IFACE if (role == "router" and options.dslite) else A.WAN_IFACE
            nft[role].append(
                "table ip clinicnet_nat {\n"
                "  chain postrouting {\n"
                "    type nat hook postrouting priority srcnat; policy accept;\n"
                f'    oifname "{out_if}" masquerade{flags}\n'
                "  }\n"
                "}\n"
            )
    if options.dslite:
        # NAT44 at the AFTR; ESP has no port to translate, so a real AFTR drops it
        nft["aftr"].append(
            "table ip clinicnet_nat {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            f'    oifname "{A.WAN_IFACE}" masquerade\n'
            "  }\n"
            "}\n"
            "table inet clinicnet_aftr {\n"
            "  chain forward {\n"
            "    type filter hook forward priority filter; policy accept;\n"
            "    meta l4proto esp counter drop\n"
            "  }\n"
            "}\n"
        )
    filters: dict[str, list[str]] = {}
    for where, rules in (
        (options.blocks_at, [f"{expr} counter drop" for expr in options.blocks]),
        (
            options.rejects_at,
            [f"{expr} counter {reject_statement(spec)}" for expr, spec in options.rejects],
        ),
    ):
        if rules:
            role = _edge_role(options) if where == EDGE else where
            filters.setdefault(role, []).extend(rules)
    for role, rules in filters.items():
        body = []
        for hook, selector in _filter_chains(role):
            lines = "".join(f"    {selector}{rule}\n" for rule in rules)
            body.append(
                f"  chain {hook} {{\n    type filter hook {hook} priority filter; policy accept;\n{lines}  }}\n"
            )
        nft[role].append("table inet clinicnet_filter {\n" + "".join(body) + "}\n")
    if options.internet_down:
        c = A.ISP_CLINIC_IFACE
        nft["isp"].append(
            "table inet clinicnet_fault {\n"
            "  chain input {\n    type filter hook input priority -200; policy accept;\n"
            f'    iifname "{c}" counter drop\n  }}\n'
            "  chain forward {\n    type filter hook forward priority -200; policy accept;\n"
            f'    iifname "{c}" counter drop\n'
            f'    oifname "{c}" counter drop\n  }}\n'
            "  chain output {\n    type filter hook output priority -200; policy accept;\n"
            f'    oifname "{c}" counter drop\n  }}\n'
            "}\n"
        )
    if options.loss_percent or options.icmp_filtered:
        nft["isp"].append(_clinic_link_impairments(options))
    if options.gateway == "ikev2-ignored":
        nft["dc"].append(IGNORE_IKEV2_NFT)
    plan.nft = {role: "".join(parts) for role, parts in nft.items() if parts}

    servers = []
    if options.ipv4:
        servers.append(f"nameserver {A.DNS_V4}")
    if v6:
        servers.append(f"nameserver {A.DNS_V6}")
    plan.resolv_conf = "\n".join([*servers, "options timeout:1 attempts:1", ""])
    return plan


REFLECTOR_BESIDE_GATEWAY_NFT = f"""
table ip clinicnet_reflector {{
  chain pre {{
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr {A.REFLECTOR_V4} udp dport 500 dnat to {A.REFLECTOR_V4}:10500
    ip daddr {A.REFLECTOR_V4} udp dport 4500 dnat to {A.REFLECTOR_V4}:14500
  }}
}}
"""

#: the gateway host discards IKEv2 to the gateway's addresses (not the reflector's): version
#: byte 0x20 at IKE header offset 17, on 4500 after the four-byte non-ESP marker; ``@th``
#: offsets are bits from the UDP header's start
IGNORE_IKEV2_NFT = (
    "table inet clinicnet_ignore_ikev2 {\n"
    "  chain input {\n    type filter hook input priority -10; policy accept;\n"
    f"    ip daddr {A.GATEWAY_V4} udp dport 500 @th,200,8 0x20 counter drop\n"
    f"    ip daddr {A.GATEWAY_V4} udp dport 4500 @th,64,32 0 @th,232,8 0x20 counter drop\n"
    f"    ip6 daddr {A.GATEWAY_V6} udp dport 500 @th,200,8 0x20 counter drop\n"
    f"    ip6 daddr {A.GATEWAY_V6} udp dport 4500 @th,64,32 0 @th,232,8 0x20 counter drop\n"
    "  }\n"
    "}\n"
)


def _clinic_link_impairments(options: LabOptions) -> str:
    """Random loss and/or an ICMP filter on the isp's clinic-facing link, both directions.

    Netdev ingress/egress hooks see each packet as it is on the wire: fragments one by one
    (before the isp reassembles anything, after it fragments), so loss is per packet, as on a
    real line.  Neighbour discovery and ARP are spared: a lost neighbour solicitation only
    adds the kernel's own retry delay, which would blur the measured loss rate.
    """
    rules = [f"meta protocol ip6 icmpv6 type {_ND_TYPES} accept"]
    if options.icmp_filtered:
        rules += ["meta protocol ip ip protocol icmp counter drop",
                  "meta protocol ip6 meta l4proto ipv6-icmp counter drop"]
    if options.loss_percent:
        rules += [  # the first rule counts what the second one chooses from (the self-test reads both)
            'meta protocol { ip, ip6 } counter comment "seen"',
            f"meta protocol {{ ip, ip6 }} numgen random mod 100 < {options.loss_percent} counter drop",
        ]
    body = "".join(f"    {rule}\n" for rule in rules)
    dev = A.ISP_CLINIC_IFACE
    return (
        "table netdev clinicnet_link {\n"
        f"  chain from_clinic {{\n    type filter hook ingress device \"{dev}\" priority 0; policy accept;\n{body}  }}\n"
        f"  chain to_clinic {{\n    type filter hook egress device \"{dev}\" priority 0; policy accept;\n{body}  }}\n"
        "}\n"
    )


def dnsmasq_argv(options: LabOptions, logfile: Path) -> list[list[str]]:
    """Command lines for the DNS service (empty for dns="down"; two processes for servfail)."""
    if options.dns == "down":
        return []
    common = [
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--pid-file=",
        "--user=root",
        "--group=root",
        "--log-queries",
    ]
    main = [*common, f"--log-facility={logfile}", f"--listen-address={A.DNS_V4}"]
    if options.ipv6:
        main.append(f"--listen-address={A.DNS_V6}")
    upstream_port = "5353"
    if options.dns == "ok":
        web = f"{A.WEB_V4},{A.WEB_V6}"
        main += [
            f"--host-record={A.WEB_NAME},{web}",
            f"--host-record={A.GATEWAY_NAME},{A.GATEWAY_V4},{A.GATEWAY_V6}",
            f"--host-record={A.REFLECTOR_NAME},{A.REFLECTOR_V4}",
            *(f"--host-record={name},{web}" for name in A.CONNECTIVITY_NAMES_DUAL),
            *(f"--host-record={name},{A.WEB_V6}" for name in A.CONNECTIVITY_NAMES_V6),
            f"--host-record={A.NCSI_DNS_NAME},{A.NCSI_DNS_V4},{A.NCSI_DNS_V6}",
            # authoritative for everything: NXDOMAIN/NODATA instead of REFUSED for other names,
            # like a real resolver (and no attempt to forward anywhere)
            "--local=/#/",
        ]
        return [main]
    if options.dns == "refused":
        return [main]  # no data, no upstream: dnsmasq refuses every query
    if options.dns == "timeout":
        # forwards to a port where nothing listens and never answers the client
        return [[*main, f"--server=127.0.0.1#{upstream_port}"]]
    # servfail: validate DNSSEC against the real root anchor; the upstream's unsigned answers
    # are BOGUS, which dnsmasq answers with SERVFAIL immediately
    upstream = [
        *common,
        f"--log-facility={logfile.with_name(logfile.stem + '-upstream.log')}",
        "--listen-address=127.0.0.1",
        f"--port={upstream_port}",
        "--local=/#/",
    ]
    main += [
        f"--server=127.0.0.1#{upstream_port}",
        "--dnssec",
        f"--trust-anchor={_ROOT_TRUST_ANCHOR}",
    ]
    return [upstream, main]


# --------------------------------------------------------------------------------------------
# process helpers
# --------------------------------------------------------------------------------------------


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without proxy settings, plus ``extra`` (overrides)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
    env.pop(netns._RUN_ENV, None)
    if extra:
        env.update(extra)
    return env


def _host(argv: Sequence[str], *, input: str | None = None, timeout: float = 30) -> str:
    proc = subprocess.run(list(argv), input=input, text=True, capture_output=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise LabCommandError(proc.returncode, list(argv), proc.stdout, proc.stderr)
    return proc.stdout


def _wait_ready_line(proc: subprocess.Popen[str], what: str, timeout: float) -> None:
    """Wait for a service that prints READY on stdout once it listens."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LabError(f"{what} did not become ready within {timeout:.0f}s")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            line = proc.stdout.readline()
            if line.strip() == "READY":
                return
            if not line:
                raise LabError(f"{what} exited with {proc.wait()} before it was ready")


def _wait_log_line(proc: subprocess.Popen[Any], logfile: Path, marker: str, timeout: float) -> None:
    """Wait for dnsmasq: it logs 'started' only after its sockets are bound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            if marker in logfile.read_text(errors="replace"):
                return
        if proc.poll() is not None:
            raise LabError(f"dnsmasq exited with {proc.returncode}; see {logfile}")
        time.sleep(0.003)
    raise LabError(f"dnsmasq did not start within {timeout:.0f}s; see {logfile}")


class _State:
    """Everything teardown needs, kept apart from ``Lab`` so a finaliser can hold it without
    keeping the Lab alive."""

    def __init__(self, base: str, tmpdir: Path) -> None:
        self.base = base
        self.tmpdir = tmpdir
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen[Any]] = []
        self.files: list[IO[Any]] = []
        self.cleanups: list[Callable[[], object]] = []
        self.started_teardown = False
        self.torn_down = False  # set after the cleanup callbacks, which may still use the lab
        self.lock = threading.Lock()

    def teardown(self) -> list[BaseException]:
        """Cleanups (reverse order), then processes, namespaces, temp dir.  Collects errors
        instead of raising so every step runs."""
        with self.lock:
            if self.started_teardown:
                return []
            self.started_teardown = True
        errors: list[BaseException] = []
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - report after the rest is cleaned up
                errors.append(exc)
        self.torn_down = True
        live = [p for p in self.processes if p.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        for proc in live:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        netns.delete_namespaces(self.namespaces)
        for fh in self.files:
            with contextlib.suppress(OSError):
                fh.close()
        for proc in self.processes:  # pipes opened by spawn(stdout=PIPE, ...)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        netns.drop_registry(self.base)
        if os.environ.get("CLINICNET_LAB_KEEP") != "1":
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        _live_states.discard(self)
        return errors


_live_states: set[_State] = set()


def teardown_all() -> None:
    """Tear down every lab of this process that is still up (leak check, interrupts)."""
    for state in list(_live_states):
        state.teardown()


# --------------------------------------------------------------------------------------------
# the Lab
# --------------------------------------------------------------------------------------------


class Lab:
    """A built clinic network.  Use as a context manager: build on enter, always tear down on
    exit (also on exceptions and KeyboardInterrupt); a finaliser tears down labs that were never
    exited (garbage collection, interpreter exit)."""

    def __init__(self, options: LabOptions | None = None, *, name: str | None = None) -> None:
        self.options = options if options is not None else LabOptions()
        if name is not None and (not name or len(name) > 24 or not name.replace("-", "").isalnum()):
            raise ValueError(f"lab name must be short and [A-Za-z0-9-], not {name!r}")
        self.name = name or netns.next_base()
        self.plan = make_plan(self.options)
        self._ns = {role: f"{self.name}-{role}" for role in self.plan.roles}
        self._tmp: Path | None = None
        self._state: _State | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        #: CompletedProcess of the last diagnose() run (for debugging failing assertions)
        self.last_diagnose: subprocess.CompletedProcess[str] | None = None
        #: seconds the last build took (namespaces up to services ready)
        self.build_seconds: float | None = None
        #: the gateway's charon when ``options.gateway`` asked for one
        self.charon: Charon | None = None
        #: the reflector's JSON-lines log when ``options.reflector`` started one
        self.reflector_log: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        self.build()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        errors = self.close()
        if errors and exc is None:
            raise LabError(f"lab teardown had errors: {errors!r}") from errors[0]

    @property
    def tmpdir(self) -> Path:
        """Per-lab temp dir (logs, configs); removed at teardown unless CLINICNET_LAB_KEEP=1."""
        if self._tmp is None:
            raise LabError("the lab is not built")
        return self._tmp

    @property
    def is_up(self) -> bool:
        return self._state is not None and not self._state.torn_down

    def build(self) -> None:
        """Create the namespaces, configure them and start the services."""
        if self._state is not None:
            raise LabError("a Lab is built once; create a new one")
        start = time.monotonic()
        self._tmp = Path(tempfile.mkdtemp(prefix=f"clinicnet-lab-{self.name}-"))
        state = _State(self.name, self._tmp)
        self._state = state
        _live_states.add(state)
        self._finalizer = weakref.finalize(self, state.teardown)
        try:
            self._build_network(state)
            self._start_services()
        except BaseException:
            state.teardown()
            raise
        self.build_seconds = time.monotonic() - start

    def close(self) -> list[BaseException]:
        """Tear everything down (idempotent).  Returns cleanup-callback errors."""
        if self._state is None:
            return []
        return self._state.teardown()

    def _build_network(self, state: _State) -> None:
        plan = self.plan
        names = [self._ns[r] for r in plan.roles]
        state.namespaces = names
        netns.write_registry(self.name, names, self.tmpdir)
        netns.remember(names)
        for name in names:
            etc = netns.ETC_NETNS_DIR / name
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "resolv.conf").write_text(plan.resolv_conf)
        host = [f"netns add {n}" for n in names]
        for link in plan.links:
            host.append(
                f"link add name {link.inner_if} index {link.inner_index} netns {self._ns[link.inner]} "
                f"type veth peer name {link.outer_if} index {link.outer_index} netns {self._ns[link.outer]}"
            )
        _host(["ip", "-batch", "-"], input="\n".join(host) + "\n")
        procs: list[tuple[str, subprocess.Popen[str]]] = []
        for role in plan.roles:
            batch_file = self.tmpdir / f"{role}.ip"
            batch_file.write_text("\n".join(plan.ip_batch[role]) + "\n")
            steps = [f"ip -batch {shlex.quote(str(batch_file))}"]
            if role in plan.sysctls:  # before the links go up (accept_dad)
                steps.insert(0, "sysctl -q -w " + " ".join(plan.sysctls[role]))
            if role in plan.nft:
                nft_file = self.tmpdir / f"{role}.nft"
                nft_file.write_text(plan.nft[role])
                steps.append(f"nft -f {shlex.quote(str(nft_file))}")
            argv = ["ip", "netns", "exec", self._ns[role], "sh", "-ec", " && ".join(steps)]
            procs.append((role, subprocess.Popen(argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
        failures = []
        for role, proc in procs:
            out, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                failures.append(f"[{role}] exit {proc.returncode}: {out}{err}")
        if failures:
            raise LabError("configuring the namespaces failed:\n" + "\n".join(failures))

    def _start_services(self) -> None:
        opts = self.options
        waits: list[Callable[[], None]] = []
        dns_log = self.tmpdir / "dnsmasq.log"
        for argv in dnsmasq_argv(opts, dns_log):
            log = Path(next(a for a in argv if a.startswith("--log-facility=")).split("=", 1)[1])
            proc = self.spawn("isp", argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            waits.append(functools.partial(_wait_log_line, proc, log, "started, version", _READY_TIMEOUT))
        binds = ["--bind", A.WEB_V4]
        if opts.ipv6:
            binds += ["--bind", A.WEB_V6]
        web = self.spawn(
            "isp",
            [sys.executable, str(LAB_DIR / "webserver.py"), *binds, "--port", str(A.WEB_PORT),
             "--clock-offset", str(opts.web_clock_offset_s)],
            stdout=subprocess.PIPE,
            text=True,
            log_name="webserver.log",
        )
        waits.append(lambda: _wait_ready_line(web, "webserver", _READY_TIMEOUT))
        tun: subprocess.Popen[str] | None = None
        if opts.vpn_up:
            tun = self.spawn(
                "pc",
                [sys.executable, str(LAB_DIR / "tunholder.py"), "--name", A.TUN_IFACE],
                stdout=subprocess.PIPE,
                text=True,
                log_name="tunholder.log",
            )
        softwires = []
        if opts.dslite:
            for role, local, remote in (
                ("router", A.DSLITE_B4_V6, A.DSLITE_AFTR_V6),
                ("aftr", A.DSLITE_AFTR_V6, A.DSLITE_B4_V6),
            ):
                softwires.append(self.spawn(
                    role,
                    [sys.executable, str(LAB_DIR / "softwire.py"), "--name", A.DSLITE_IFACE,
                     "--local", local, "--remote", remote],
                    stdout=subprocess.PIPE,
                    text=True,
                    log_name=f"softwire-{role}.log",
                ))
        relay: subprocess.Popen[str] | None = None
        if opts.delay_ms:
            relay = self.spawn(
                "isp",
                [sys.executable, str(LAB_DIR / "delayrelay.py"), "--name", A.DELAY_IFACE,
                 "--delay-ms", f"{opts.delay_ms / 2:g}"],
                stdout=subprocess.PIPE,
                text=True,
                log_name="delayrelay.log",
            )
        for wait in waits:
            wait()
        if relay is not None:
            _wait_ready_line(relay, "delayrelay", _READY_TIMEOUT)
            self._configure_delay()
        if opts.gateway != "none":
            from .strongswan import start_charon

            versions = (1, 2) if opts.gateway == "strongswan" else (1,)
            self.charon = start_charon(self, self.tmpdir, A.GATEWAY_V4, versions=versions)
        if opts.reflector:
            self._start_reflector()
        for proc in softwires:
            _wait_ready_line(proc, "softwire", _READY_TIMEOUT)
        if softwires:
            self._configure_softwire()
        if tun is not None:
            _wait_ready_line(tun, "tunholder", _READY_TIMEOUT)
            self._configure_tunnel()

    def _start_reflector(self) -> None:
        """``clinicnet reflector`` beside the gateway (packaging/REFLECTOR.md): other ports and a
        DNAT for the reflector's address only, so a charon binding the wildcard never clashes."""
        self.nft("dc", REFLECTOR_BESIDE_GATEWAY_NFT)
        log = self.tmpdir / "reflector.jsonl"
        proc = self.spawn(
            "dc",
            [sys.executable, "-m", "clinicnet", "reflector", "--bind", A.REFLECTOR_V4, "--ports", "10500,14500",
             "--log", str(log)],
            log_name="reflector.out",
            cwd=str(REPO_ROOT),
            env={"PYTHONPATH": str(REPO_ROOT)},
        )
        deadline = time.monotonic() + _READY_TIMEOUT
        while '"event": "start"' not in (log.read_text(errors="replace") if log.exists() else ""):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"the reflector did not start; see {self.tmpdir / 'reflector.out'}")
            time.sleep(0.02)
        self.reflector_log = log

    def _configure_delay(self) -> None:
        """Policy routing in the isp: whatever crosses it to or from the clinic detours through
        the relay's TUN (table DELAY_TABLE), and comes back out of the TUN into the main table.

        The ``local`` rule moves behind the clinic's rule so packets for the isp's own services
        (web, DNS) are delayed too; locally generated packets (``iif lo``) are sent into the
        TUN after the ``local`` lookup, so the isp still talks to itself directly.  Packets the
        relay writes back carry the isp's own source address (web and DNS replies), which the
        kernel accepts only with ``accept_local``; ``rp_filter`` would drop them all.
        """
        t, table = A.DELAY_IFACE, A.DELAY_TABLE
        families = [("-4", A.ISP_PUBLIC_V4)] + ([("-6", A.ISP_PUBLIC_V6)] if self.options.ipv6 else [])
        _host(["ip", "-n", self.ns("isp"), "link", "set", t, "up"])
        for family, src in families:
            cmds = [
                f"route add default dev {t} table {table} src {src}",
                f"rule add pref 10 iif {A.ISP_CLINIC_IFACE} lookup {table}",
                f"rule add pref 11 iif {A.ISP_DC_IFACE} lookup {table}",
                "rule add pref 20 lookup local",
                "rule del pref 0",
                f"rule add pref 30 iif lo lookup {table}",
            ]
            _host(["ip", "-n", self.ns("isp"), family, "-batch", "-"], input="\n".join(cmds) + "\n")
        # the isp answers ARP only for addresses it routes as local *on the asking interface*,
        # and the rules above send that lookup into the TUN: both neighbours (the clinic's
        # outermost device and the dc) get the isp's MAC as a permanent entry instead, or they
        # lose the isp once their first entry expires (IPv6 neighbour discovery checks
        # addresses, not routes, and needs nothing)
        for link in self.plan.links:
            if link.outer != "isp" or link.inner_v4 is None or link.outer_v4 is None:
                continue
            info = json.loads(_host(["ip", "-n", self.ns("isp"), "-j", "link", "show", link.outer_if]))
            _host(["ip", "-n", self.ns(link.inner), "neigh", "replace", _addr(link.outer_v4), "lladdr",
                   info[0]["address"], "dev", link.inner_if, "nud", "permanent"])
        # no early demux: it attaches the isp's own TCP socket to a packet still on its way
        # into the TUN, and the forwarding path drops packets that carry a socket
        self.run("isp", ["sysctl", "-q", "-w", "net.ipv4.ip_early_demux=0", "net.ipv4.conf.all.rp_filter=0",
                         f"net.ipv4.conf.{t}.rp_filter=0", f"net.ipv4.conf.{t}.accept_local=1"])

    def _configure_softwire(self) -> None:
        """Addresses, MTU and routes on both ends of the DS-Lite softwire."""
        t = A.DSLITE_IFACE
        pfx = A.DSLITE_V4_PREFIX
        for role, addr, extra in (
            ("router", A.DSLITE_B4_V4, [f"route add default dev {t}"]),
            ("aftr", A.DSLITE_AFTR_V4, []),
        ):
            cmds = [f"link set {t} mtu {A.DSLITE_MTU} up", f"addr add {addr}/{pfx} dev {t}", *extra]
            _host(["ip", "-n", self.ns(role), "-batch", "-"], input="\n".join(cmds) + "\n")

    def _configure_tunnel(self) -> None:
        """Default route into tun0, host route to the gateway via the LAN (split tunnel)."""
        opts = self.options
        t = A.TUN_IFACE
        cmds = [f"link set {t} up"]
        if opts.ipv4:
            cmds += [
                f"addr add {A.TUN_V4}/{A.TUN_V4_PREFIX} dev {t}",
                f"route add {A.GATEWAY_V4}/32 via {A.pc_gateway_v4(opts)}",
                f"route replace default dev {t}",
            ]
        if opts.ipv6:
            cmds += [
                f"addr add {A.TUN_V6}/{A.TUN_V6_PREFIX} dev {t} nodad",
                f"route add {A.GATEWAY_V6}/128 via {A.pc_gateway_v6(opts)}",
                f"route replace ::/0 dev {t}",
            ]
        _host(["ip", "-n", self.ns("pc"), "-batch", "-"], input="\n".join(cmds) + "\n")

    # -- public API --------------------------------------------------------------------------

    def ns(self, role: str) -> str:
        """Real namespace name of a role ("pc", "router", "modem", "cgn", "aftr", "isp", "dc")."""
        try:
            return self._ns[role]
        except KeyError:
            raise KeyError(f"no {role!r} in this lab (roles: {', '.join(self.roles())})") from None

    @property
    def pc_ipv4(self) -> str | None:
        """The PC's own IPv4 address (None for an IPv6-only PC)."""
        return A.pc_ipv4(self.options)

    @property
    def public_ipv4(self) -> str:
        """The clinic's source address as the internet sees it (after every NAT)."""
        return A.public_ipv4(self.options)

    def roles(self) -> list[str]:
        """Roles present in this variant, inside to outside."""
        return list(self.plan.roles)

    def _require_up(self) -> _State:
        if self._state is None or self._state.torn_down:
            raise LabError("the lab is not up")
        return self._state

    def run(
        self,
        role: str,
        argv: Sequence[str],
        *,
        timeout: float = 30,
        check: bool = True,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a namespace and capture its output (text).

        ``env`` is merged over the current environment (minus proxy variables, which would point
        outside the lab).  With ``check``, a non-zero exit raises ``LabCommandError`` whose
        message shows stdout and stderr.
        """
        self._require_up()
        cmd = ["ip", "netns", "exec", self.ns(role), *[str(a) for a in argv]]
        proc = subprocess.run(
            cmd,
            input=input,
            text=True,
            capture_output=True,
            timeout=timeout,
            env=_clean_env(env),
            cwd=cwd,
            check=False,
        )
        if check and proc.returncode != 0:
            raise LabCommandError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc

    def spawn(
        self, role: str, argv: Sequence[str], *, log_name: str | None = None, **popen_kwargs: Any
    ) -> subprocess.Popen[Any]:
        """Start a long-running process inside a namespace; it is stopped at teardown (SIGTERM,
        then SIGKILL after 1 s; anything else left in the namespace is SIGKILLed).

        stdin defaults to /dev/null and stdout/stderr to ``tmpdir/<log_name or spawn-N.log>`` so
        service output never interleaves with pytest's.  ``env`` is merged like in ``run``.
        """
        state = self._require_up()
        cmd = ["ip", "netns", "exec", self.ns(role), *[str(a) for a in argv]]
        popen_kwargs["env"] = _clean_env(popen_kwargs.get("env"))
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        if "stdout" not in popen_kwargs or "stderr" not in popen_kwargs:
            log = self.tmpdir / (log_name or f"spawn-{len(state.processes)}-{Path(str(argv[0])).name}.log")
            fh = open(log, "ab")  # noqa: SIM115 - closed at teardown
            state.files.append(fh)
            popen_kwargs.setdefault("stdout", fh)
            popen_kwargs.setdefault("stderr", fh)
        proc = subprocess.Popen(cmd, **popen_kwargs)
        state.processes.append(proc)
        return proc

    def probe(self, role: str, args: Sequence[str], *, timeout: float = 30) -> dict[str, Any]:
        """Run ``netprobe.py ARGS`` inside a namespace and return its JSON result
        (http / udp / resolve / dns probes; see ``tests/lab/netprobe.py``)."""
        proc = self.run(role, [sys.executable, str(LAB_DIR / "netprobe.py"), *args], timeout=timeout)
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def udp_echo(self, role: str, bind: str, port: int) -> subprocess.Popen[str]:
        """Start a UDP echo server (answers with the sender's address as JSON); returns once it
        listens.  Stopped at teardown."""
        proc = self.spawn(
            role,
            [sys.executable, str(LAB_DIR / "netprobe.py"), "udp-echo", "--bind", bind, "--port", str(port)],
            stdout=subprocess.PIPE,
            text=True,
            log_name=f"udp-echo-{role}-{port}.log",
        )
        _wait_ready_line(proc, "udp-echo", _READY_TIMEOUT)
        return proc

    def nft(self, role: str, script: str) -> None:
        """Apply an nftables script inside a namespace (``nft -f -``)."""
        self.run(role, ["nft", "-f", "-"], input=script)

    def add_cleanup(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` at teardown, before processes are stopped; callbacks run in reverse order."""
        self._require_up().cleanups.append(fn)

    def clinicnet(
        self,
        args: Iterable[str],
        *,
        timeout: float = 90,
        role: str = "pc",
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m clinicnet ARGS`` inside a namespace (default the PC), from the repo
        root with the repo on PYTHONPATH, so the working tree is what gets tested."""
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        merged = {"PYTHONPATH": pythonpath, "PYTHONIOENCODING": "utf-8", **(env or {})}
        return self.run(
            role,
            [sys.executable, "-m", "clinicnet", *args],
            timeout=timeout,
            check=False,
            env=merged,
            cwd=REPO_ROOT,
        )

    def diagnose_argv(
        self, extra: Sequence[str] = (), *, target: str | None = A.GATEWAY_V4, timeout: float = 3.0
    ) -> list[str]:
        """The clinicnet arguments ``diagnose`` uses (exposed for tests that need the raw run)."""
        args = [
            "diagnose",
            "--json",
            "-",
            "--quiet",
            "--timeout",
            f"{timeout:g}",
            "--internet-check",
            f"http://{A.WEB_NAME}/generate_204",
            "--internet-check",
            f"http://{A.WEB_V4}/generate_204",
        ]
        if self.options.ipv6:
            args += ["--internet-check", f"http://[{A.WEB_V6}]/generate_204"]
        args += ["--dns-name", A.WEB_NAME]
        if self.options.reflector:
            args += ["--reflector", A.REFLECTOR_V4]
        if target is not None:
            args += ["--target", target]
        return [*args, *extra]

    def diagnose(
        self,
        extra: Sequence[str] = (),
        *,
        target: str | None = A.GATEWAY_V4,
        timeout: float = 3.0,
        run_timeout: float = 90,
    ) -> dict[str, Any]:
        """Run ``clinicnet diagnose`` on the PC against the lab and return its JSON report.

        Raises AssertionError (showing stdout and stderr) unless the exit code is one of the
        CLI's "report produced" codes {0, 1, 3, 4} and stdout is a JSON object.
        """
        proc = self.clinicnet(self.diagnose_argv(extra, target=target, timeout=timeout), timeout=run_timeout)
        self.last_diagnose = proc
        detail = f"\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        if proc.returncode not in DIAGNOSE_OK_CODES:
            raise AssertionError(f"clinicnet diagnose exited {proc.returncode}{detail}")
        try:
            report = json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError(f"clinicnet diagnose printed no JSON ({exc}){detail}") from None
        if not isinstance(report, dict):
            raise AssertionError(f"clinicnet diagnose JSON is not an object{detail}")
        return report

    def __repr__(self) -> str:
        state = "up" if self.is_up else "down"
        return f"<Lab {self.name} {state} {self.options}>"
