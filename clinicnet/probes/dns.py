"""DNS resolution of the configured names, IPv4 (A) and IPv6 (AAAA) separately.

Uses the system resolver (getaddrinfo), because that is what the VPN client and
the clinic's applications use; a name that resolves only over one family is
reported as such.
"""

from __future__ import annotations

import functools
import socket
import time
from typing import TypedDict

from clinicnet import system
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes._deadline import Outcome, run_all
from clinicnet.probes._deadline import resolve as resolve_within
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class FamilyAnswer(TypedDict):
    addresses: list[str]
    #: None, or no_answer / no_response / server_failure / timeout / ``error: ...``
    error: str | None
    ms: float
    #: queries sent (the system resolver's own resends not counted)
    attempts: int


class NameAnswer(TypedDict):
    name: str
    ipv4: FamilyAnswer
    ipv6: FamilyAnswer
    resolved: bool


class Values(TypedDict, total=False):
    resolvers: list[str]
    names: list[NameAnswer]
    all_resolved: bool
    any_resolved: bool
    ipv4_any: bool
    ipv6_any: bool


SPEC = ProbeSpec(
    name="dns",
    order=50,
    title=Text(ja="名前解決（DNS）", en="DNS resolution"),
    values=Values,
    options=("dns_names",),
    reasons={
        "no_names": Text(
            ja="名前解決する名前が指定されていないため、測定していません",
            en="no names to resolve were configured",
        ),
        "failed": Text(
            ja="{total} 件中 {failed} 件の名前を解決できませんでした: {names}（{errors}）",
            en="{failed} of {total} name(s) did not resolve: {names} ({errors})",
        ),
        "resolved": Text(ja="{total} 件の名前をすべて解決できました", en="all {total} name(s) resolved"),
    },
)

_EAI_NAMES = {
    getattr(socket, n): n
    for n in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_ADDRFAMILY", "EAI_SERVICE")
    if hasattr(socket, n)
}


def _classify(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        name = _EAI_NAMES.get(exc.errno or 0, "")
        if name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY"):
            return "no_answer"  # the resolver answered: no such name/record
        if name == "EAI_AGAIN":
            return "no_response"  # no resolver answered (or it answered SERVFAIL)
        if name == "EAI_FAIL":
            return "server_failure"
        return f"error: {exc}"
    return f"error: {exc!r}"


def resolve_family(name: str, family: int, timeout: float) -> FamilyAnswer:
    """One name in one family through the run's shared lookup, which resends on Windows'
    schedule while the resolver is silent (``_deadline.RETRY_AT_S``)."""
    t0 = time.monotonic()
    out = resolve_within(name, timeout, family=family)
    # the lookup may have started before this probe (the run resolves every name at once)
    ms = round((out.seconds if out.seconds is not None else time.monotonic() - t0) * 1000, 1)
    if out.timed_out:
        return {"addresses": [], "error": "timeout", "ms": ms, "attempts": out.attempts}
    if out.error is not None:
        return {"addresses": [], "error": _classify(out.error), "ms": ms, "attempts": out.attempts}
    addrs = sorted({a.split("%", 1)[0] for a in out.addresses})
    return {"addresses": addrs, "error": None if addrs else "no_answer", "ms": ms, "attempts": out.attempts}


def resolve(name: str, timeout: float) -> NameAnswer:
    deadline = time.monotonic() + timeout
    r4, r6 = (
        o.value if o.value is not None else _unfinished(o, timeout)
        for o in run_all([functools.partial(resolve_family, name, socket.AF_INET, timeout),
                          functools.partial(resolve_family, name, socket.AF_INET6, timeout)],
                         deadline + 0.05, name="clinicnet-dns")
    )
    return {"name": name, "ipv4": r4, "ipv6": r6, "resolved": bool(r4["addresses"] or r6["addresses"])}


def _unfinished(out: Outcome[FamilyAnswer], timeout: float) -> FamilyAnswer:
    error = "timeout" if out.timed_out else f"error: {out.error!r}"[:200]
    return {"addresses": [], "error": error, "ms": round(timeout * 1000, 1), "attempts": 0}


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    names = list(dict.fromkeys(ctx.dns_names))
    resolvers = system.resolvers()
    if not names:
        return sw.result(Status.SKIPPED, "no_names", {"resolvers": resolvers})
    budget = max(0.1, ctx.remaining() - 0.1)
    outs = run_all([functools.partial(resolve, n, budget) for n in names], time.monotonic() + budget + 0.1,
                   name="clinicnet-dns")
    results: list[NameAnswer] = []
    for n, o in zip(names, outs, strict=True):
        if o.value is not None:
            results.append(o.value)
        else:
            fam = _unfinished(Outcome(timed_out=o.timed_out, error=o.error), budget)
            results.append({"name": n, "ipv4": fam, "ipv6": dict(fam), "resolved": False})  # type: ignore[typeddict-item]
    failed = [r["name"] for r in results if not r["resolved"]]
    values: Values = {
        "resolvers": resolvers,
        "names": results,
        "all_resolved": not failed,
        "any_resolved": len(failed) < len(results),
        "ipv4_any": any(r["ipv4"]["addresses"] for r in results),
        "ipv6_any": any(r["ipv6"]["addresses"] for r in results),
    }
    if failed:
        errors = sorted({r[f]["error"] or "" for r in results if not r["resolved"] for f in ("ipv4", "ipv6")} - {""})
        return sw.result(
            Status.FAILED, "failed", values,
            failed=len(failed), total=len(results), names=", ".join(failed), errors=", ".join(errors),
        )
    return sw.result(Status.OK, "resolved", values, total=len(results))
