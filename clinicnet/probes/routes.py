"""Default routes for IPv4 and IPv6.

The interface that carries the default route is the one whose speed, kind and
tunnel status matter, so rules use this rather than "any interface".
"""

from __future__ import annotations

from clinicnet import system
from clinicnet.model import ProbeResult, Status
from clinicnet.probes.interface import ProbeContext, Stopwatch


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch("routes")
    routes = system.default_routes()
    v4 = [{"interface": r.interface, "gateway": r.gateway, "metric": r.metric} for r in routes if r.family == 4]
    v6 = [{"interface": r.interface, "gateway": r.gateway, "metric": r.metric} for r in routes if r.family == 6]
    values = {"default_v4": v4, "default_v6": v6}
    if not v4 and not v6:
        return sw.result(Status.FAILED, "no default route (IPv4 or IPv6)", values)
    parts = []
    if v4:
        parts.append(f"IPv4 via {v4[0]['gateway'] or 'device'} on {v4[0]['interface']}")
    else:
        parts.append("no IPv4 default route")
    if v6:
        parts.append(f"IPv6 via {v6[0]['gateway'] or 'device'} on {v6[0]['interface']}")
    return sw.result(Status.OK, "; ".join(parts), values)
