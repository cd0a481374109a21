"""Whether this run has administrator/root rights and raw sockets.

Measured once, before the probes start (``agent.diagnose.context``), so probes
that need raw sockets can skip cleanly with a reason instead of failing half-way;
this probe puts that measurement in the report, where the rules and the reader
find it.
"""

from __future__ import annotations

import platform

from clinicnet.model import ProbeResult, Status
from clinicnet.probes.interface import ProbeContext, Stopwatch


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch("privileges")
    values = {
        "admin": ctx.privileged,
        "raw_sockets": ctx.raw_sockets,
        "raw_sockets_reason": ctx.raw_sockets_reason,
        "platform": platform.system(),
    }
    reason = "running with administrator/root rights" if ctx.privileged else "running without administrator/root rights"
    return sw.result(Status.OK, reason, values)
