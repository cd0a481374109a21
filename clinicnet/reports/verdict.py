"""From findings and what could not be measured to one verdict.

Order matters: a measured error makes the network not ready whatever else is
missing; otherwise a missing essential measurement makes the answer
inconclusive (never a guessed "ready"); then warnings; then ready.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from clinicnet.model import Finding, ProbeResult, Severity, Status, Unmeasured, Verdict

#: probes without which "can this network carry the VPN" has no answer
ESSENTIAL = ("internet", "ike")


def unmeasured_from(results: Iterable[ProbeResult]) -> list[Unmeasured]:
    return [
        Unmeasured(what=r.name, why=r.reason or r.status.value)
        for r in results
        if r.status in (Status.SKIPPED, Status.ERROR)
    ]


def decide(findings: Sequence[Finding], results: Sequence[ProbeResult]) -> Verdict:
    if any(f.severity is Severity.ERROR for f in findings):
        return Verdict.NOT_READY
    by_name = {r.name: r for r in results}
    for name in ESSENTIAL:
        r = by_name.get(name)
        if r is None or r.status in (Status.SKIPPED, Status.ERROR):
            return Verdict.INCONCLUSIVE
    if any(f.severity is Severity.WARNING for f in findings):
        return Verdict.READY_WITH_WARNINGS
    return Verdict.READY
