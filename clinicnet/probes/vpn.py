"""Is a VPN up? Tunnel adapters, a default route through a tunnel, VPN client processes.

Needed to tell the guide's G4 case ("while the VPN is connected, general internet
is impossible, by design") from a real line fault; so the evidence is kept: which
adapter, which route, which process.

Tunnels are found by type first (Windows IfType/TunnelType, Linux device type), then by name
(``system.netpath``). The default route may be a VPN client's split pair (``0.0.0.0/1`` +
``128.0.0.0/1``), which wins over ``/0`` (``system.default_routes`` puts it first); and what
finally counts is the route the OS picks for the addresses the other probes talk to
(GetBestInterfaceEx on Windows, the kernel's route lookup on Linux: no packet is sent), so
an internet check carried by a tunnel means a VPN is up whatever the route table looks like.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import TypedDict
from urllib.parse import urlsplit

from clinicnet import system
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class Tunnel(TypedDict, total=False):
    name: str
    up: bool
    #: why it counts as a tunnel: ``if_type``, ``tunnel_type`` or ``name`` (None: kind only)
    reason: str | None


class TunnelRoute(TypedDict, total=False):
    family: int
    interface: str
    gateway: str | None
    #: a split default route (two /1 halves)
    split: bool


class Carrier(TypedDict):
    """The interface the OS routes one probe target through."""

    #: ``internet``, ``target`` (VPN gateway) or ``reflector``
    role: str
    address: str
    interface: str | None
    tunnel: bool


class Process(TypedDict):
    process: str
    product: str


class Values(TypedDict, total=False):
    vpn_up: bool
    tunnel_interfaces: list[Tunnel]
    #: the best default route of a family goes through an up tunnel
    default_via_tunnel: bool
    routes_via_tunnel: list[TunnelRoute]
    #: the route the OS picks for each probe target given as an address (no DNS, nothing sent)
    carriers: list[Carrier]
    #: an internet check's address is routed through an up tunnel
    internet_via_tunnel: bool
    processes: list[Process]
    #: why the process list is missing (English, from the OS), else None
    process_error: str | None


SPEC = ProbeSpec(
    name="vpn",
    order=40,
    title=Text(ja="VPN 接続状態", en="VPN state"),
    values=Values,
    options=("vpn_processes", "internet_checks", "targets", "reflectors"),
    reasons={
        "up_default": Text(
            ja="VPN が接続中のようです（{tunnels} が既定の経路）",
            en="a VPN looks connected ({tunnels} carries the default route)",
        ),
        "up": Text(ja="VPN が接続中のようです（{tunnels}）", en="a VPN looks connected ({tunnels})"),
        "tunnel_only": Text(
            ja="トンネルアダプタは有効ですが、既定の経路ではありません: {tunnels}",
            en="tunnel interface(s) up but not carrying the default route: {tunnels}",
        ),
        "none": Text(ja="VPN は接続されていません", en="no VPN connected"),
    },
)


def load_client_names(extra: Iterable[str] = ()) -> dict[str, str]:
    """Lower-case process name (no .exe) -> product."""
    import tomllib
    from importlib import resources  # lazily: ~10 ms, and only a run needs the list

    data = tomllib.loads(resources.files("clinicnet.probes").joinpath("vpn_clients.toml").read_text("utf-8"))
    names: dict[str, str] = {}
    for client in data.get("client", []):
        for n in client.get("names", []):
            names[str(n).lower()] = str(client.get("product", n))
    for n in extra:
        names[n.lower().removesuffix(".exe")] = n
    return names


def match_processes(process_names: Iterable[str], known: dict[str, str]) -> list[Process]:
    seen: dict[str, Process] = {}
    for raw in process_names:
        key = raw.lower().removesuffix(".exe")
        if key in known and key not in seen:
            seen[key] = {"process": raw, "product": known[key]}
    return sorted(seen.values(), key=lambda d: d["process"])


def _process_names() -> list[str]:
    import psutil

    out = []
    for p in psutil.process_iter(["name"]):
        name = p.info.get("name")
        if name:
            out.append(name)
    return out


def _literal(host: str) -> str | None:
    """The IP address in a target or URL, or None for a name (names are not resolved here)."""
    text = urlsplit(host).hostname if "://" in host else host
    try:
        return str(ipaddress.ip_address((text or "").strip("[]")))
    except ValueError:
        return None


def probe_addresses(ctx: ProbeContext) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    groups: Sequence[tuple[str, Iterable[str]]] = (
        ("internet", ctx.internet_checks), ("target", ctx.targets), ("reflector", ctx.reflectors))
    for role, hosts in groups:
        for host in hosts:
            addr = _literal(host)
            if addr is not None and (role, addr) not in out:
                out.append((role, addr))
    return out[:8]


def carriers(ctx: ProbeContext, tunnels: set[str]) -> list[Carrier]:
    from clinicnet.system import netpath

    out: list[Carrier] = []
    for role, addr in probe_addresses(ctx):
        try:
            best = netpath.best_interface(addr)
        except (OSError, ValueError):
            best = None
        name = best.name if best is not None else None
        out.append({"role": role, "address": addr, "interface": name, "tunnel": name in tunnels})
    return out


#: IPv6 transition tunnels (Teredo, 6to4, ISATAP; Linux's sit): they carry IPv6, not a VPN, and
#: Windows gives them a ``::/0`` route of their own
_TRANSITION_TYPES = {"6to4", "teredo", "isatap", "sit"}
_TRANSITION_NAME = re.compile(r"(teredo|isatap|6to4)", re.IGNORECASE)


def _tunnel_facts() -> tuple[dict[str, str | None], set[str]]:
    """Why each adapter is a tunnel (None: it is not, by type or name), and the names of the IPv6
    transition tunnels among them."""
    from clinicnet.system import netpath

    try:
        found = netpath.adapters()
    except (OSError, ValueError, AttributeError):
        return {}, set()
    transition = {a.name for a in found if a.tunnel_type in _TRANSITION_TYPES
                  or _TRANSITION_NAME.search(f"{a.name} {a.description}")}
    return {a.name: a.tunnel for a in found}, transition


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    import psutil

    stats = psutil.net_if_stats()
    reasons, transition = _tunnel_facts()
    tunnels: list[Tunnel] = []
    for name, st in sorted(stats.items()):
        if system.interface_kind(name) == "tunnel" or reasons.get(name):
            tunnels.append({"name": name, "up": bool(st.isup), "reason": reasons.get(name)})
    up_tunnels = {t["name"] for t in tunnels if t["up"] and t["name"] not in transition}
    routes = system.default_routes()
    via_tunnel: list[TunnelRoute] = []
    for r in routes:
        if r.interface in up_tunnels:
            entry: TunnelRoute = {"family": r.family, "interface": r.interface, "gateway": r.gateway}
            if r.split:
                entry["split"] = True
            via_tunnel.append(entry)
    # Only the best default route of a family decides where general traffic goes (a split
    # pair comes first: it is more specific than any /0).
    best: dict[int, str] = {}
    for r in routes:
        best.setdefault(r.family, r.interface)
    default_via_tunnel = any(best.get(v["family"]) == v["interface"] for v in via_tunnel)
    carried = carriers(ctx, up_tunnels)
    internet_via_tunnel = any(c["tunnel"] for c in carried if c["role"] == "internet")
    try:
        processes = match_processes(_process_names(), load_client_names(ctx.vpn_processes))
    except Exception as exc:  # noqa: BLE001 - psutil AccessDenied on hardened systems: still report the rest
        processes = []
        proc_error: str | None = f"could not list processes: {exc}"
    else:
        proc_error = None
    vpn_up = default_via_tunnel or internet_via_tunnel or bool(up_tunnels and processes)
    values: Values = {
        "vpn_up": vpn_up,
        "tunnel_interfaces": tunnels,
        "default_via_tunnel": default_via_tunnel,
        "routes_via_tunnel": via_tunnel,
        "carriers": carried,
        "internet_via_tunnel": internet_via_tunnel,
        "processes": processes,
        "process_error": proc_error,
    }
    tunnel_names = ", ".join(sorted(up_tunnels))
    if vpn_up:
        code = "up_default" if default_via_tunnel or internet_via_tunnel else "up"
        return sw.result(Status.OK, code, values, tunnels=tunnel_names)
    if up_tunnels:
        return sw.result(Status.OK, "tunnel_only", values, tunnels=tunnel_names)
    return sw.result(Status.OK, "none", values)
