"""Is a VPN up? Tunnel adapters, a default route through a tunnel, VPN client processes.

Needed to tell the guide's G4 case ("while the VPN is connected, general internet
is impossible, by design") from a real line fault; so the evidence is kept: which
adapter, which route, which process.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from typing import Any

from clinicnet import system
from clinicnet.model import ProbeResult, Status
from clinicnet.probes.interface import ProbeContext, Stopwatch


def load_client_names(extra: Iterable[str] = ()) -> dict[str, str]:
    """Lower-case process name (no .exe) -> product."""
    data = tomllib.loads(resources.files("clinicnet.probes").joinpath("vpn_clients.toml").read_text("utf-8"))
    names: dict[str, str] = {}
    for client in data.get("client", []):
        for n in client.get("names", []):
            names[str(n).lower()] = str(client.get("product", n))
    for n in extra:
        names[n.lower().removesuffix(".exe")] = n
    return names


def match_processes(process_names: Iterable[str], known: dict[str, str]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
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
    sw = Stopwatch("vpn")
    import psutil

    stats = psutil.net_if_stats()
    tunnels: list[dict[str, Any]] = []
    for name, st in sorted(stats.items()):
        if system.interface_kind(name) == "tunnel":
            tunnels.append({"name": name, "up": bool(st.isup)})
    up_tunnels = {t["name"] for t in tunnels if t["up"]}
    routes = system.default_routes()
    via_tunnel = [
        {"family": r.family, "interface": r.interface, "gateway": r.gateway}
        for r in routes
        if r.interface in up_tunnels
    ]
    # Only the best default route of a family decides where general traffic goes.
    best: dict[Any, str] = {}
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
    values = {
        "vpn_up": vpn_up,
        "tunnel_interfaces": tunnels,
        "default_via_tunnel": default_via_tunnel,
        "routes_via_tunnel": via_tunnel,
        "processes": processes,
        "process_error": proc_error,
    }
    if vpn_up:
        where = ", ".join(sorted(up_tunnels)) or "a tunnel"
        reason = f"a VPN looks connected ({where}{' carries the default route' if default_via_tunnel else ''})"
    elif up_tunnels:
        reason = f"tunnel interface(s) up but not carrying the default route: {', '.join(sorted(up_tunnels))}"
    else:
        reason = "no VPN connected"
    return sw.result(Status.OK, reason, values)
