"""All rules, one per finding id, grouped by what they look at.

Importing this package registers every rule; ``evaluate`` runs them all. A rule
that raises is a bug: it is reported as unmeasured instead of losing the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clinicnet.model import Finding, ProbeResult, Unmeasured
from clinicnet.reports.rules import ike, local, reflector  # noqa: F401  (registers rules)
from clinicnet.reports.rules.interface import RULES, Evidence, Rule

__all__ = ["RULES", "Evidence", "Rule", "evaluate"]


def evaluate(
    results: Iterable[ProbeResult], settings: Mapping[str, Any] | None = None
) -> tuple[list[Finding], list[Unmeasured]]:
    ev = Evidence(results, settings)
    findings: list[Finding] = []
    broken: list[Unmeasured] = []
    for r in RULES:
        try:
            f = r.check(ev)
        except Exception as exc:  # noqa: BLE001
            broken.append(Unmeasured(what=f"rule {r.id}", why=f"rule failed: {type(exc).__name__}: {exc}"))
            continue
        if f is not None:
            findings.append(f)
    return findings, broken
