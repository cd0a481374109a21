"""Whether this run has administrator/root rights and raw sockets.

Measured once, before the probes start (``agent.diagnose.context``), so probes
that need raw sockets can skip cleanly with a reason instead of failing half-way;
this probe puts that measurement in the report, where the rules and the reader
find it.
"""

from __future__ import annotations

import platform
from typing import TypedDict

from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class Values(TypedDict, total=False):
    admin: bool
    raw_sockets: bool
    #: why raw sockets are (not) available, in English from the platform seam
    raw_sockets_reason: str
    #: ``platform.system()``: Windows, Linux
    platform: str


SPEC = ProbeSpec(
    name="privileges",
    order=10,
    title=Text(ja="実行権限", en="Privileges"),
    values=Values,
    options=("privileged", "raw_sockets", "raw_sockets_reason"),
    reasons={
        "admin": Text(ja="管理者権限で実行しています", en="running with administrator/root rights"),
        "not_admin": Text(
            ja="管理者権限なしで実行しています（一部の測定は省略されます）",
            en="running without administrator/root rights",
        ),
    },
)


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    values: Values = {
        "admin": ctx.privileged,
        "raw_sockets": ctx.raw_sockets,
        "raw_sockets_reason": ctx.raw_sockets_reason,
        "platform": platform.system(),
    }
    return sw.result(Status.OK, "admin" if ctx.privileged else "not_admin", values)
