"""Is a VPN up? Tunnel adapters, a default route through a tunnel, VPN client processes.

Needed to tell the guide's G4 case ("while the VPN is connected, general internet
is impossible, by design") from a real line fault; so the evidence is kept: which
adapter, which route, which process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from clinicnet import system
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class Tunnel(TypedDict):
    name: str
    up: bool


class TunnelRoute(TypedDict):
    family: int
    interface: str
    gateway: str | None


class Process(TypedDict):
    process: str
    product: str


class Values(TypedDict, total=False):
    vpn_up: bool
    tunnel_interfaces: list[Tunnel]
    #: the best default route of a family goes through an up tunnel
    default_via_tunnel: bool
    routes_via_tunnel: list[TunnelRoute]
    processes: list[Process]
    #: why the process list is missing (English, from the OS), else None
    process_error: str | None


SPEC = ProbeSpec(
    name="vpn",
    order=40,
    title=Text(ja="VPN 接続状態", en="VPN state"),
    values=Values,
    options=("vpn_processes",),
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


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    import psutil

    stats = psutil.net_if_stats()
    tunnels: list[Tunnel] = []
    for name, st in sorted(stats.items()):
        if system.interface_kind(name) == "tunnel":
            tunnels.append({"name": name, "up": bool(st.isup)})
    up_tunnels = {t["name"] for t in tunnels if t["up"]}
    routes = system.default_routes()
    via_tunnel: list[TunnelRoute] = [
        {"family": r.family, "interface": r.interface, "gateway": r.gateway}
        for r in routes
        if r.interface in up_tunnels
    ]
    # Only the best default route of a family decides where general traffic goes.
    best: dict[int, str] = {}
    for r in routes:
        best.setdefault(r.family, r.interface)
    default_via_tunnel = any(best.get(v["family"]) == v["interface"] for v in via_tunnel)
    try:
        processes = match_processes(_process_names(), load_client_names(ctx.vpn_processes))
    except Exception as exc:  # noqa: BLE001 - psutil AccessDenied on hardened systems: still report the rest
        processes = []
        proc_error: str | None = f"could not list processes: {exc}"
    else:
        proc_error = None
    vpn_up = default_via_tunnel or bool(up_tunnels and processes)
    values: Values = {
        "vpn_up": vpn_up,
        "tunnel_interfaces": tunnels,
        "default_via_tunnel": default_via_tunnel,
        "routes_via_tunnel": via_tunnel,
        "processes": processes,
        "process_error": proc_error,
    }
    tunnel_names = ", ".join(sorted(up_tunnels))
    if vpn_up:
        return sw.result(Status.OK, "up_default" if default_via_tunnel else "up", values, tunnels=tunnel_names)
    if up_tunnels:
        return sw.result(Status.OK, "tunnel_only", values, tunnels=tunnel_names)
    return sw.result(Status.OK, "none", values)
