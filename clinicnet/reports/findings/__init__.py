"""Every finding the report can contain, one module per finding id.

A new finding is one new file here (see ``interface.py`` for what it holds); it is
found by listing the package, so nothing else needs editing. Modules are imported
only when findings are evaluated or listed, never at CLI start-up, and always in
the same order (by module name), so a run gives the same findings in the same
order every time. Private modules (``_evidence``: readings several findings share)
and ``interface`` are not findings. Each module's docstring is its row of
findings.md's table: when the finding is reported.

Texts: Japanese is written first and is the reference; the English says the same
thing. Contacts follow the guide: the equipment vendor (機器納入元, G3) for
anything in the clinic, the VPN service provider (MIND SecureMinder, FENICS, G2)
for the VPN side, the ISP only for faults of the line itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from clinicnet.model import Finding, ProbeResult, Unmeasured
from clinicnet.reports.findings.interface import Evidence, FindingSpec, Rule

__all__ = ["Evidence", "FindingSpec", "Rule", "discover", "evaluate", "rules"]

#: package modules that are not findings
_NOT_FINDINGS = frozenset({"interface"})

_cache: tuple[tuple[Rule, ...], tuple[Unmeasured, ...]] | None = None


def discover() -> tuple[list[Rule], list[Unmeasured]]:
    """Import every finding module of the package; the broken ones are returned as
    unmeasured instead of stopping the report (a bug in one finding must not cost
    the clinic the others).

    A module is a finding when its name does not start with ``_`` and is not
    ``interface``; it must define ``FINDING`` and ``check`` and be named after
    ``FINDING.id`` (dots as underscores), so ``clinicnet explain ID`` can say where
    it lives and a reader can find it by its id.
    """
    found: list[Rule] = []
    broken: list[Unmeasured] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _NOT_FINDINGS or info.ispkg:
            continue
        module_name = f"{__name__}.{info.name}"
        try:
            mod = importlib.import_module(module_name)
            spec = mod.FINDING
            check = mod.check
            if not isinstance(spec, FindingSpec) or not callable(check):
                raise TypeError("FINDING is not a FindingSpec or check is not callable")
            if spec.id.replace(".", "_") != info.name:  # which also keeps ids unique
                raise ValueError(f"defines {spec.id!r}, so it must be named {spec.id.replace('.', '_')}.py")
        except Exception as exc:  # noqa: BLE001  (any bug in a finding module)
            broken.append(Unmeasured(what=f"finding module {module_name}",
                                     why=f"cannot load: {type(exc).__name__}: {exc}"))
            continue
        found.append(Rule(replace(spec, module=module_name), check))
    return found, broken


def _discovered() -> tuple[tuple[Rule, ...], tuple[Unmeasured, ...]]:
    global _cache
    if _cache is None:
        found, broken = discover()
        _cache = (tuple(found), tuple(broken))
    return _cache


def rules() -> tuple[Rule, ...]:
    """Every finding module that loaded, in evaluation order (discovered once per process)."""
    return _discovered()[0]


def evaluate(
    results: Iterable[ProbeResult], settings: Mapping[str, Any] | None = None
) -> tuple[list[Finding], list[Unmeasured]]:
    """Run every finding's check. A check that raises is a bug: it is reported as
    unmeasured instead of losing the report, like a finding module that fails to load."""
    found, not_loaded = _discovered()
    ev = Evidence(results, settings)
    findings: list[Finding] = []
    broken: list[Unmeasured] = list(not_loaded)
    for r in found:
        try:
            f = r.check(ev)
        except Exception as exc:  # noqa: BLE001
            broken.append(Unmeasured(what=f"rule {r.id}", why=f"rule failed: {type(exc).__name__}: {exc}"))
            continue
        if f is None:
            continue
        if f.id != r.id:  # the texts shown would be another finding's
            broken.append(Unmeasured(what=f"rule {r.id}", why=f"rule failed: returned a finding {f.id!r}"))
            continue
        findings.append(f)
    return findings, broken
