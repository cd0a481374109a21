"""The contract of a rule: one finding id, its G-reference, one check function.

A check reads the probe results (``Evidence``) and returns the finding or None.
Rules never guess: when the probes they need did not produce data, they return
None and the verdict's "unmeasured" list says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from clinicnet.model import Finding, ProbeResult, Severity, Status

if TYPE_CHECKING:
    from clinicnet.probes.interface import ProbeSpec

V = TypeVar("V")


class Evidence:
    """Read-only view of one run's probe results, with safe accessors for rules."""

    def __init__(self, results: Iterable[ProbeResult], settings: Mapping[str, Any] | None = None) -> None:
        self._by_name = {r.name: r for r in results}
        self.settings: Mapping[str, Any] = settings or {}

    def result(self, name: str) -> ProbeResult | None:
        return self._by_name.get(name)

    def measured(self, name: str) -> bool:
        """True when the probe ran to a conclusion (ok or failed)."""
        r = self._by_name.get(name)
        return r is not None and r.status in (Status.OK, Status.FAILED)

    def values(self, name: str) -> Mapping[str, Any]:
        """The probe's values if it was measured, else an empty mapping."""
        r = self._by_name.get(name)
        return r.values if r is not None and r.status in (Status.OK, Status.FAILED) else {}

    def of(self, spec: ProbeSpec[V]) -> V:
        """The probe's values typed by its ``SPEC.values`` TypedDict (empty if not measured).

        Rules use this rather than ``values(name)`` so mypy checks every key they read
        against what the probe declares it writes.
        """
        return cast(V, self.values(spec.name))

    def all(self) -> list[ProbeResult]:
        return list(self._by_name.values())


Check = Callable[[Evidence], "Finding | None"]


@dataclass(frozen=True)
class Rule:
    id: str
    g_refs: tuple[str, ...]
    check: Check


RULES: list[Rule] = []


def rule(finding_id: str, *g_refs: str) -> Callable[[Check], Check]:
    """Register ``check`` as the rule for ``finding_id``."""

    def deco(fn: Check) -> Check:
        if any(r.id == finding_id for r in RULES):
            raise ValueError(f"two rules for {finding_id}")
        RULES.append(Rule(finding_id, tuple(g_refs), fn))
        return fn

    return deco


def finding(finding_id: str, severity: Severity, **evidence: Any) -> Finding:
    return Finding(finding_id, severity, evidence)
