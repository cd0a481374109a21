"""Field conditions as data: what ``clinicnet diagnose`` must say on each kind of real clinic line.

Issue 10's scenarios (IKEv1-only gateways, a gateway that ignores IKEv2, 20 % loss each way,
400 ms round trips, ICMP filtered upstream) plus the plain line they are compared with.  Each
row says which findings must appear, which must not (a finding the line does not justify is a
false alarm), the verdict, and for the slow line the band the reported IKE round trip must lie
in.  ``bench/bench_field.py`` runs every row N times and counts how often today's code misses;
``tests/lab/test_field_lab.py`` runs the same rows in CI (``check`` returns the problems of one
report; ``CLINICNET_FIELD_RUNS=10`` for ten runs each).

Every row has a strongSwan gateway and a reflector, as a clinic with a vendor's configuration
would; nothing on any of these lines blocks IKE, ESP, fragments or the internet.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .harness import LabOptions

#: findings that claim something is blocked or broken: none of these lines justifies any
BLOCKED = frozenset({
    "ike.udp500.blocked",
    "ike.udp4500.blocked",
    "ike.unreachable",
    "esp.blocked",
    "fragments.dropped",
    "mtu.small",
    "internet.down",
    "dns.failed",
    "ipv4.missing",
})
#: what a clean line must not show besides blocks: loss it does not have, a NAT layer too many
CLEAN = BLOCKED | {"path.lossy", "nat.double"}
#: the verdicts' exit-code order, for reading a report
VERDICTS = ("ready", "ready_with_warnings", "not_ready")


@dataclass(frozen=True)
class FieldScenario:
    """One kind of line, and the report it must produce (every run, not most runs)."""

    name: str
    options: LabOptions
    must: frozenset[str]
    must_not: frozenset[str]
    verdict: str
    #: (low, high) ms for every IKE round trip the report gives, or None when not the point
    ike_rtt_ms: tuple[float, float] | None = None
    #: the same for the reflector exchanges (IKE-shaped, NAT-T, ESP)
    reflector_rtt_ms: tuple[float, float] | None = None
    why: str = ""

    def check(self, report: Mapping[str, Any]) -> list[str]:
        """What is wrong with one ``diagnose`` JSON report for this line (empty: right)."""
        found = finding_ids(report)
        problems = [f"missing {fid}" for fid in sorted(self.must - found)]
        problems += [f"false alarm {fid}" for fid in sorted(self.must_not & found)]
        if report.get("verdict") != self.verdict:
            problems.append(f"verdict {report.get('verdict')} (expected {self.verdict})")
        for what, band, rtts in (
            ("IKE", self.ike_rtt_ms, ike_rtts(report)),
            ("reflector", self.reflector_rtt_ms, reflector_rtts(report)),
        ):
            if band is None:
                continue
            low, high = band
            if not rtts:
                problems.append(f"no {what} round trip reported")
            problems += [f"{what} RTT {rtt:.0f} ms outside {low:.0f}-{high:.0f}" for rtt in rtts if not low <= rtt <= high]
        return problems


def finding_ids(report: Mapping[str, Any]) -> set[str]:
    return {str(f["id"]) for f in report.get("findings", ())}


def _probe_values(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for probe in report.get("probes", ()):
        if probe.get("name") == name:
            values: Mapping[str, Any] = probe.get("values") or {}
            return values
    return {}


def ike_rtts(report: Mapping[str, Any]) -> list[float]:
    """Every round trip the IKE probe reports for an answered attempt (ms)."""
    out = []
    for target in _probe_values(report, "ike").get("targets", ()):
        for attempt in target.get("attempts", ()):
            if attempt.get("answered") and attempt.get("rtt_ms") is not None:
                out.append(float(attempt["rtt_ms"]))
    return out


def reflector_rtts(report: Mapping[str, Any]) -> list[float]:
    """Round trips of the reflector exchanges (IKE-shaped, NAT-T, ESP) the ESP probe reports."""
    out = []
    for refl in _probe_values(report, "esp").get("reflectors", ()):
        for part in refl.values():
            if isinstance(part, dict) and part.get("state") == "answered" and part.get("rtt_ms") is not None:
                out.append(float(part["rtt_ms"]))
    return out


def summary_ms(values: Iterable[float]) -> str:
    vals = sorted(values)
    if not vals:
        return "-"
    return f"{vals[0]:.0f}/{statistics.median(vals):.0f}/{vals[-1]:.0f}"


def _gateway_line(**changes: Any) -> LabOptions:
    base: dict[str, Any] = {"gateway": "strongswan", "reflector": True}
    return LabOptions(**{**base, **changes})


SCENARIOS: tuple[FieldScenario, ...] = (
    FieldScenario(
        "baseline-nat",
        _gateway_line(),
        must=frozenset({"nat.present"}),
        must_not=CLEAN,
        verdict="ready",
        why="the clean lab: one clinic router, nothing blocked (the control row)",
    ),
    FieldScenario(
        "ikev1-only-nat",
        _gateway_line(gateway="ikev1-only"),
        must=frozenset({"nat.present"}),
        must_not=CLEAN,
        verdict="ready",
        why="IKEv2 gets NO_PROPOSAL_CHOSEN, IKEv1 Main Mode is answered; NAT from IKEv1 NAT-D and the reflector",
    ),
    FieldScenario(
        "ikev1-only-direct",
        _gateway_line(gateway="ikev1-only", nat_layers=0),
        must=frozenset(),
        must_not=CLEAN | {"nat.present"},
        verdict="ready",
        why="the same gateway, the PC holds the public address: no NAT anywhere",
    ),
    FieldScenario(
        "ikev2-ignored-nat",
        _gateway_line(gateway="ikev2-ignored"),
        must=frozenset({"nat.present"}),
        must_not=CLEAN,
        verdict="ready",
        why="IKEv2 is dropped silently on 500 and 4500, IKEv1 Main Mode is answered on both",
    ),
    FieldScenario(
        "lossy-20",
        _gateway_line(loss_percent=20),
        must=frozenset({"nat.present", "path.lossy"}),
        must_not=BLOCKED | {"nat.double"},
        verdict="ready_with_warnings",
        why="20 % of packets lost each way, nothing blocked: path.lossy (warning) and no invented block",
    ),
    FieldScenario(
        "slow-400ms",
        _gateway_line(delay_ms=400),
        must=frozenset({"nat.present"}),
        must_not=CLEAN,
        verdict="ready",
        # the gateway's own work (DH for IKE_SA_INIT: 15-85 ms on the loaded lab machine, see
        # baseline-nat) adds to the path's 400 ms; below 400 is a reply timed from a resend
        ike_rtt_ms=(400.0, 550.0),
        reflector_rtt_ms=(400.0, 450.0),
        why="400 ms round trip (satellite, congested uplink): everything answers, each RTT is the real one",
    ),
    FieldScenario(
        "icmp-filtered",
        _gateway_line(icmp_filtered=True),
        must=frozenset({"nat.present"}),
        must_not=CLEAN,
        verdict="ready",
        why="every ICMP packet dropped upstream (no ping, no traceroute hops, no unreachables); MTU is 1500",
    ),
)

BY_NAME: dict[str, FieldScenario] = {s.name: s for s in SCENARIOS}
