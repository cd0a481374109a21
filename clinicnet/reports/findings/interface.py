"""The contract of a finding module: one ``FINDING`` spec and one ``check`` function.

A finding is one module in ``clinicnet.reports.findings``, named after its id with
dots as underscores (``ike.udp500.blocked`` -> ``ike_udp500_blocked.py``). It holds

- ``FINDING = FindingSpec(...)``: the id, the usual severity, the G-references of
  findings.md (written once, here) and the Japanese and English texts;
- ``def check(ev: Evidence) -> Finding | None``: the rule, which reads the probe
  results and returns ``finding(FINDING, ...)`` with its evidence, or None.

Rules never guess: when the probes they need did not produce data, they return
None and the verdict's "unmeasured" list says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from clinicnet.model import Finding, ProbeResult, Severity, Status, Text

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


@dataclass(frozen=True)
class FindingSpec:
    """Everything about a finding except its rule, kept in the finding's module as ``FINDING``.

    Ids are stable (ticket systems key on them, see findings.md). The texts are
    written for a clinic receptionist first (``summary``), with the technical
    explanation and the next step for the vendor technician below; Japanese is
    the reference and the English says the same. The renderers, ``clinicnet
    findings`` and ``clinicnet explain`` all read them from here.
    """

    id: str
    #: the usual severity; a rule may raise or lower it with context (say when in ``severity_note``)
    severity: Severity
    #: G-references of findings.md, e.g. ("G1", "G7"); empty where the guide says nothing
    g_refs: tuple[str, ...]
    title: Text
    #: plain words for clinic staff: what it means for them
    summary: Text
    #: for the technician: what was measured and why it matters for IPsec/IKE
    technical: Text
    #: what to do next
    next_step: Text
    #: when the severity differs from ``severity`` (e.g. "error without NAT, info with NAT")
    severity_note: str = ""
    #: the module that defines it; set by discovery (``clinicnet.reports.findings``)
    module: str = ""

    @property
    def path(self) -> str:
        """The defining file relative to the package's parent directory, as
        ``clinicnet findings`` and ``clinicnet explain`` show it: where to edit."""
        return self.module.replace(".", "/") + ".py" if self.module else ""


Check = Callable[[Evidence], "Finding | None"]


@dataclass(frozen=True)
class Rule:
    """A discovered finding module: its spec and its check, in evaluation order."""

    spec: FindingSpec
    check: Check

    @property
    def id(self) -> str:
        return self.spec.id


def finding(spec: FindingSpec, severity: Severity | None = None, /, **evidence: Any) -> Finding:
    """The finding of ``spec`` with ``evidence``; ``severity`` only where context changes it."""
    return Finding(spec.id, spec.severity if severity is None else severity, evidence)
