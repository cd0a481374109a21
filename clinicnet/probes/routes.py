"""Default routes for IPv4 and IPv6.

The interface that carries the default route is the one whose speed, kind and
tunnel status matter, so rules use this rather than "any interface". The routes come from
the routing table itself (Windows: GetIpForwardTable2; Linux: /proc/net), so a VPN's
gateway-less route, a split default route and an IPv6-only PC's route are all seen.
"""

from __future__ import annotations

from typing import TypedDict

from clinicnet import system
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class _Route(TypedDict):
    interface: str
    #: None for an on-link (device) route
    gateway: str | None
    metric: int


class Route(_Route, total=False):
    #: present (True) for a split default route: ``0.0.0.0/1`` + ``128.0.0.0/1`` on one interface
    split: bool


class Values(TypedDict, total=False):
    #: best first
    default_v4: list[Route]
    default_v6: list[Route]


SPEC = ProbeSpec(
    name="routes",
    order=30,
    title=Text(ja="経路（デフォルトルート）", en="Default routes"),
    values=Values,
    reasons={
        "none": Text(ja="デフォルトルートがありません（IPv4・IPv6 とも）", en="no default route (IPv4 or IPv6)"),
        "v4": Text(ja="IPv4: {v4_gateway}（{v4_interface}）", en="IPv4 via {v4_gateway} on {v4_interface}"),
        "v6": Text(
            ja="IPv4 のデフォルトルートなし、IPv6: {v6_gateway}（{v6_interface}）",
            en="no IPv4 default route; IPv6 via {v6_gateway} on {v6_interface}",
        ),
        "v4_v6": Text(
            ja="IPv4: {v4_gateway}（{v4_interface}）、IPv6: {v6_gateway}（{v6_interface}）",
            en="IPv4 via {v4_gateway} on {v4_interface}; IPv6 via {v6_gateway} on {v6_interface}",
        ),
    },
)


def _route(r: system.DefaultRoute) -> Route:
    out: Route = {"interface": r.interface, "gateway": r.gateway, "metric": r.metric}
    if r.split:
        out["split"] = True
    return out


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    routes = system.default_routes()
    v4: list[Route] = [_route(r) for r in routes if r.family == 4]
    v6: list[Route] = [_route(r) for r in routes if r.family == 6]
    values: Values = {"default_v4": v4, "default_v6": v6}
    if not v4 and not v6:
        return sw.result(Status.FAILED, "none", values)
    # "device": an on-link default route (PPP, some tunnels) has no gateway address
    code = "v4_v6" if v4 and v6 else ("v4" if v4 else "v6")
    return sw.result(
        Status.OK, code, values,
        v4_gateway=(v4[0]["gateway"] or "device") if v4 else None,
        v4_interface=v4[0]["interface"] if v4 else None,
        v6_gateway=(v6[0]["gateway"] or "device") if v6 else None,
        v6_interface=v6[0]["interface"] if v6 else None,
    )
