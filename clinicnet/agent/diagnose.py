"""One diagnosis: settings in, Report out. No terminal or file handling here."""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from clinicnet import system
from clinicnet.agent.config import Settings
from clinicnet.agent.runner import Observer, run_probes
from clinicnet.model import ProbeResult, Unmeasured
from clinicnet.netaddr import is_ip
from clinicnet.probes import _deadline, registry
from clinicnet.probes.interface import ProbeContext, ProbeSpec
from clinicnet.reports import findings as finding_rules
from clinicnet.reports import verdict
from clinicnet.reports.report import Report

#: the probes get at least this much of ``--timeout`` whatever came before them
MIN_PROBING_S = 1.0


def check_hosts(urls: Sequence[str]) -> list[str]:
    """The hosts of internet-check URLs (a URL without one is skipped: validated elsewhere)."""
    out: list[str] = []
    for url in urls:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if host:
            out.append(host)
    return out


def default_dns_names(s: Settings) -> tuple[str, ...]:
    """Without --dns-name, resolve what the run needs anyway: check hosts and target names."""
    names = [h for h in check_hosts(s.internet_checks) if not is_ip(h)]
    names.extend(t for t in s.targets if not is_ip(t))
    return tuple(dict.fromkeys(names))


def host_info() -> dict[str, str]:
    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "os_version": platform.version(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def run_hosts(s: Settings, dns_names: Sequence[str] = ()) -> list[str]:
    """Every name the run will look up: targets, reflectors, check hosts, DNS names."""
    names = [*s.targets, *s.reflectors, *dns_names, *check_hosts(s.internet_checks)]
    return [n for n in dict.fromkeys(names) if not is_ip(n)]


def context(s: Settings) -> ProbeContext:
    raw, raw_reason = system.raw_sockets_available()
    ctx = ProbeContext(
        raw_sockets=raw,
        raw_sockets_reason=raw_reason,
        targets=s.targets,
        reflectors=s.reflectors,
        internet_checks=s.internet_checks,
        dns_names=s.dns_names or default_dns_names(s),
        vpn_processes=s.vpn_processes,
        timeout=s.timeout,
        privileged=system.is_admin(),
        probe_settings=dict(s.probe_settings),
    )
    # One lookup per name and family for the whole run, all started now, side by side:
    # the probes (and the capture filter, started earlier) share them.
    _deadline.run_lookups().start_all(run_hosts(s, ctx.dns_names))
    return ctx


def diagnose(
    s: Settings,
    *,
    specs: Sequence[ProbeSpec[Any]] | None = None,
    observer: Observer | None = None,
) -> Report:
    """Run ``specs`` (default: every probe the registry finds) and build the report.

    The run starts with its first name lookup (``clinicnet diagnose`` looks up the targets
    before probing, ``--capture`` the hosts for its filter): the time spent there comes
    out of ``--timeout``, so the whole run, not only the probing, keeps to it.
    """
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    lookups = _deadline.run_lookups()
    start = lookups.started
    lookups.until = max(lookups.until, start + s.timeout)
    try:
        ctx = context(s)
        t0 = time.monotonic()
        budget = max(min(s.timeout, MIN_PROBING_S), s.timeout - (t0 - start))
        results = run_probes(registry.specs() if specs is None else specs, ctx, timeout=budget, observer=observer)
    finally:
        _deadline.end_run()
    probing = time.monotonic() - t0
    if s.long:  # minutes, with their own deadline: after the --timeout run
        results += run_long(s.long, ctx, observer)
    settings = {**s.public(), "dns_names": list(ctx.dns_names)}
    return build_report(results, settings, created_at=created, host=host_info(),
                        wall_s=time.monotonic() - start, probing_s=probing)


def run_long(max_delay: float, ctx: ProbeContext, observer: Observer | None = None) -> list[ProbeResult]:
    """The probes that take minutes, after the others, each with its own deadline (not --timeout)."""
    import functools

    from clinicnet.probes import nat_binding

    return run_probes(registry.long_specs(), ctx, timeout=nat_binding.budget(max_delay) + 5.0, observer=observer,
                      loader=lambda spec: functools.partial(nat_binding.probe, max_delay=max_delay))


def build_report(
    results: Sequence[ProbeResult],
    settings: Mapping[str, Any],
    *,
    created_at: str,
    host: Mapping[str, str],
    wall_s: float = 0.0,
    probing_s: float | None = None,
) -> Report:
    findings, broken_rules = finding_rules.evaluate(results, settings)
    unmeasured: list[Unmeasured] = verdict.unmeasured_from(results) + broken_rules
    return Report(
        created_at=created_at,
        host=host,
        settings=settings,
        verdict=verdict.decide(findings, results),
        findings=tuple(findings),
        unmeasured=tuple(unmeasured),
        probes=tuple(results),
        # wall_s: the whole run, from its first name lookup to the report; probing_s: the probes
        extra={"wall_s": round(wall_s, 3),
               **({"probing_s": round(probing_s, 3)} if probing_s is not None else {})},
    )

