"""Whether this run has administrator/root rights.

Measured first and once, so probes that need raw sockets can skip cleanly with a
reason instead of failing half-way, and the report can say how to enable them.
"""

from __future__ import annotations

import platform

from clinicnet import system
from clinicnet.model import ProbeResult, Status
from clinicnet.probes.interface import ProbeContext, Stopwatch


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch("privileges")
    admin = system.is_admin()
    raw, raw_reason = system.raw_sockets_available()
    values = {
        "admin": admin,
        "raw_sockets": raw,
        "raw_sockets_reason": raw_reason,
        "platform": platform.system(),
    }
    reason = "running with administrator/root rights" if admin else "running without administrator/root rights"
    return sw.result(Status.OK, reason, values)
