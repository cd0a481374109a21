"""The probes ``diagnose`` runs, found by looking, not by a list.

Every public module (or package) in ``clinicnet.probes`` with a ``SPEC`` is a
probe: adding one is adding its module. Discovery imports the probe modules
themselves and nothing else; they keep heavy imports (wire codecs, psutil, the
IKE engine) inside ``probe()``, so listing the probes stays cheap, and the CLI
imports this module only for commands that probe or render, never for ``--help``.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from clinicnet.model import JSONValue, ProbeResult
from clinicnet.probes.interface import ProbeFunc, ProbeSpec, format_reason, reason_texts

#: modules of the package that are not probes
_NOT_PROBES = frozenset({"interface", "registry"})


@functools.cache
def all_specs() -> tuple[ProbeSpec[Any], ...]:
    """Every probe's SPEC, the long ones included, in display order (then by name, so the order is stable)."""
    import clinicnet.probes as package

    found: list[ProbeSpec[Any]] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in _NOT_PROBES:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, ProbeSpec):
            found.append(spec)
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))


def specs() -> tuple[ProbeSpec[Any], ...]:
    """The probes every ``diagnose`` runs, side by side within ``--timeout``."""
    return tuple(s for s in all_specs() if not s.long)


def long_specs() -> tuple[ProbeSpec[Any], ...]:
    """Probes that take minutes (``SPEC.long``): run only when asked (``diagnose --long``, watch mode)."""
    return tuple(s for s in all_specs() if s.long)


def get(name: str) -> ProbeSpec[Any] | None:
    """The SPEC of probe ``name``; None for a probe this version does not have."""
    return next((s for s in all_specs() if s.name == name), None)


def load(s: ProbeSpec[Any]) -> ProbeFunc:
    module = importlib.import_module(s.module_name)
    func: ProbeFunc = module.probe
    return func


def title(name: str, lang: str) -> str:
    """A probe's title in ``lang``; a result naming an unknown probe shows its raw name."""
    spec = get(name)
    return spec.title.get(lang) if spec is not None else name


def reason(result: ProbeResult, lang: str) -> str:
    """The result's reason in ``lang``, rendered from its code and parameters.

    Falls back to the stored English ``reason`` when the code is unknown here (a
    result file from a newer clinicnet) or its parameters do not fit the text.
    """
    return reason_text(result.name, result.reason_code, result.reason_params, lang) or result.reason


def reason_text(name: str, code: str, params: Mapping[str, JSONValue], lang: str) -> str | None:
    """Text of reason ``code`` of probe ``name`` in ``lang``; None when it cannot be rendered."""
    if not code:
        return None
    return format_reason(reason_texts(get(name)).get(code), params, lang)
