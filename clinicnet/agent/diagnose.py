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
from clinicnet.probes import registry
from clinicnet.probes.interface import ProbeContext, ProbeSpec
from clinicnet.reports import findings as finding_rules
from clinicnet.reports import verdict
from clinicnet.reports.report import Report


def default_dns_names(s: Settings) -> tuple[str, ...]:
    """Without --dns-name, resolve what the run needs anyway: check hosts and target names."""
    names: list[str] = []
    for url in s.internet_checks:
        host = urlsplit(url).hostname
        if host and not is_ip(host):
            names.append(host)
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


def context(s: Settings) -> ProbeContext:
    raw, raw_reason = system.raw_sockets_available()
    return ProbeContext(
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


def diagnose(
    s: Settings,
    *,
    specs: Sequence[ProbeSpec[Any]] | None = None,
    observer: Observer | None = None,
) -> Report:
    """Run ``specs`` (default: every probe the registry finds) and build the report."""
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    ctx = context(s)
    t0 = time.monotonic()
    results = run_probes(registry.specs() if specs is None else specs, ctx, timeout=s.timeout, observer=observer)
    if s.long:
        results += run_long(s.long, ctx, observer)
    wall = time.monotonic() - t0
    settings = {**s.public(), "dns_names": list(ctx.dns_names)}
    return build_report(results, settings, created_at=created, host=host_info(), wall_s=wall)


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
        extra={"wall_s": round(wall_s, 3)},
    )

