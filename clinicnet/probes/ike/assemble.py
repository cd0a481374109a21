"""From targets to the probe's values: resolve, run the exchange, summarise per port.

The summary keys (``udp500``, ``udp4500``, ``nat``, ...) are what the rules read;
the attempts stay in the values as evidence for the technician.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from typing import Any, cast

from clinicnet.model import ProbeResult, Status
from clinicnet.probes._deadline import resolve
from clinicnet.probes.ike import IKE_PORT, NAT_T_PORT, SPEC, Nat, Target, Values, VendorIdJson
from clinicnet.probes.ike.exchange import ICMP_OUTCOMES, LOCAL_ERROR, AttemptResult, Engine
from clinicnet.probes.interface import ProbeContext, Stopwatch
from clinicnet.wire.ike import VendorId, natd_hash

#: keep this much of the deadline to assemble the result
DEADLINE_MARGIN = 0.05

Resolved = tuple[str | None, int | None, str | None]


def run(ctx: ProbeContext, *, ikev1_always: bool = False) -> ProbeResult:
    watch = Stopwatch(SPEC)
    if not ctx.targets:
        return watch.result(Status.SKIPPED, "no_target", {"targets": []})
    deadline = ctx.deadline - DEADLINE_MARGIN
    resolved = _resolve_all(ctx.targets, deadline)
    engine = Engine(deadline, ikev1_always)
    for index, (address, family, _err) in enumerate(resolved):
        if address is None or family is None:
            continue
        engine.plan(index, address, family, ctx.privileged)
    engine.loop()
    targets = [
        target_values(name, res, engine.results_for(i), engine.notes_for(i))
        for i, (name, res) in enumerate(zip(ctx.targets, resolved, strict=True))
    ]
    values: Values = {"targets": targets, "source_port_500": {str(k): v for k, v in engine.sport500.items()}}
    silent = [t for t in targets if not answered_any(t)]
    local = [t for t in silent if t["attempts"] and all(a["outcome"] == LOCAL_ERROR for a in t["attempts"])]
    if silent and len(local) == len(silent):
        # nothing was learnt about the network: a failure of this PC, never "unreachable" (issue 9)
        return watch.result(Status.ERROR, "local_error", values,
                            targets=", ".join(t["target"] for t in local), error=local[0]["attempts"][0]["detail"])
    if silent:
        return watch.result(Status.FAILED, "silent", values, targets=", ".join(t["target"] for t in silent))
    return watch.result(Status.OK, "answered", values)


def port_preserved(attempt: dict[str, Any], public_address: str) -> bool | None:
    """Did the NAT keep our source port? Needs the public address from elsewhere (reflector).

    The gateway's NAT_DETECTION_DESTINATION_IP hashes the address *and port* it
    saw; with the public address known, matching the hash with our own source
    port answers the question. ``None`` when the attempt has no NAT detection data.
    """
    natd = attempt.get("natd")
    if not natd or attempt.get("source_port") is None:
        return None
    try:
        got = natd_hash(
            bytes.fromhex(natd["spi_i"]), bytes.fromhex(natd["spi_r"]), public_address, attempt["source_port"]
        )
    except (ValueError, KeyError, TypeError):
        return None
    return got.hex() == natd.get("destination_hash")


# --- resolution ----------------------------------------------------------------------------


def _resolve_all(targets: tuple[str, ...], deadline: float) -> list[Resolved]:
    """Resolve names concurrently, IPv4 first (the VPN runs over IPv4, guide G8).

    Resolution may use at most half the remaining time, so a dead resolver still
    leaves time to probe the targets given as addresses.
    """
    from clinicnet.probes._deadline import run_all

    budget_end = time.monotonic() + max(0.0, (deadline - time.monotonic()) / 2)
    names = [t for t in targets if _literal(t) is None]
    found: dict[str, Resolved] = {}
    if names:
        # daemon threads, not a pool: a hung resolver must not keep the process alive after the run
        outs = run_all([functools.partial(_resolve_one, n, budget_end) for n in names], budget_end + 0.2,
                       name="clinicnet-ike-dns")
        for n, out in zip(names, outs, strict=True):
            found[n] = out.value if out.value is not None else (None, None, "timeout" if out.timed_out else
                                                                 f"error: {out.error!r}")
    return [_literal(t) or found[t] for t in targets]


def _literal(name: str) -> Resolved | None:
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None
    return str(ip), ip.version, None


def _resolve_one(name: str, until: float) -> Resolved:
    errors = []
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        out = resolve(name, until - time.monotonic(), family=family, socktype=socket.SOCK_DGRAM)
        if out.timed_out:
            return None, None, "DNS timeout"
        if out.addresses:
            return out.addresses[0], version, None
        errors.append(out.why())
    return None, None, errors[0] or "no address"


# --- assembling the values -----------------------------------------------------------------

_RANK = {"answered": 3, "icmp": 2, "silent": 1, "error": 0}


def port_state(attempts: list[AttemptResult], port: int) -> str:
    best = "error"
    for a in attempts:
        if a.port != port:
            continue
        if a.answered:
            state = "answered"
        elif a.outcome in ICMP_OUTCOMES:
            state = "icmp"
        elif a.outcome in ("timeout", "malformed"):
            state = "silent"
        else:
            state = "error"
        if _RANK[state] > _RANK[best]:
            best = state
    return best


def target_values(
    name: str,
    resolved: Resolved,
    attempts: list[AttemptResult],
    notes: list[str],
) -> Target:
    address, family, error = resolved
    order = {(2, IKE_PORT, False): 0, (2, NAT_T_PORT, False): 1, (2, IKE_PORT, True): 2, (1, IKE_PORT, False): 3}
    attempts = sorted(attempts, key=lambda a: order.get((a.ike_version, a.port, a.fixed_source_port), 4))
    icmp = next((a.outcome for a in attempts if a.outcome in ICMP_OUTCOMES), None)
    icmp_from = next((a.icmp.offender for a in attempts if a.icmp is not None and a.icmp.offender), None)
    measured = [a.nat for a in attempts if a.nat is not None and a.nat.measured]
    tried = [a.nat for a in attempts if a.nat is not None]
    nat: Nat = {
        "measured": bool(measured),
        "local_behind_nat": any(n.local_behind_nat for n in measured) if measured else None,
        "remote_behind_nat": any(n.remote_behind_nat for n in measured) if measured else None,
        # IKEv2's NAT_DETECTION notifies, or IKEv1's NAT-D from Main Mode 4 (RFC 3947)
        "method": (measured or tried)[0].method if (measured or tried) else "ikev2-natd",
    }
    vids: dict[str, VendorId] = {}
    for a in attempts:
        for v in a.vendor_ids:
            vids.setdefault(v.hex, v)
    rtts = [a.rtt_ms for a in attempts if a.rtt_ms is not None]
    any_answer = any(a.answered for a in attempts)
    notes = list(notes)
    if any_answer and any(a.outcome == "timeout" and a.sent for a in attempts):
        notes.append(
            "some attempts got no answer while others did: the gateway may limit half-open IKE SAs "
            "per address (rate limit), or a filter treats these ports/versions differently"
        )
    return {
        "target": name,
        "address": address,
        "family": family,
        "resolve_error": error,
        "attempts": [a.to_json() for a in attempts],
        "udp500": port_state(attempts, IKE_PORT) if attempts else "error",
        "udp4500": port_state(attempts, NAT_T_PORT) if attempts else "error",
        "icmp": icmp,
        "icmp_from": icmp_from,
        "nat": nat,
        "vendor_ids": [cast(VendorIdJson, v.to_json()) for v in vids.values()],
        "rtt_ms": min(rtts) if rtts else None,
        "ike_versions": sorted({a.ike_version for a in attempts if a.answered}),
        # full responses leave a half-open SA on the gateway until it times out (strongSwan:
        # 30 s); gateways limit them per address, so re-runs within that time can be refused
        "half_open_created": sum(a.outcome in ("response", "ikev1_response") for a in attempts),
        "notes": notes,
    }


def answered_any(target: Target) -> bool:
    return target["udp500"] == "answered" or target["udp4500"] == "answered"
