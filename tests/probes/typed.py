"""Check a probe's values against its ``SPEC.values`` TypedDict at run time.

mypy checks what the probe code builds where it can; this catches the rest (a
key added through a plain ``dict``, a nested record built elsewhere): every key
written must be declared, every required key present, nested records included.
"""

from __future__ import annotations

import types
import typing
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict


def problems(value: Any, tp: Any, where: str = "values") -> list[str]:
    """What in ``value`` does not match the TypedDicts inside ``tp`` (scalars are not checked)."""
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: expected a record, got {type(value).__name__}"]
        hints = get_type_hints(tp)
        out = [f"{where}.{k}: not declared in {tp.__name__}" for k in value if k not in hints]
        out += [f"{where}.{k}: required by {tp.__name__}, missing" for k in tp.__required_keys__ if k not in value]
        for k, v in value.items():
            if k in hints:
                out += problems(v, hints[k], f"{where}.{k}")
        return out
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return []
        options = [a for a in get_args(tp) if a is not type(None)]
        results = [problems(value, a, where) for a in options]
        return [] if any(not r for r in results) else results[0]
    if origin is list and isinstance(value, list):
        (item,) = get_args(tp)
        return [p for i, v in enumerate(value) for p in problems(v, item, f"{where}[{i}]")]
    if origin is dict and isinstance(value, dict):
        _, item = get_args(tp)
        return [p for k, v in value.items() for p in problems(v, item, f"{where}[{k!r}]")]
    return []


def assert_declared(report: dict[str, Any]) -> None:
    """Every probe result of a JSON report writes only declared values and a known reason code."""
    from clinicnet.probes import registry
    from clinicnet.probes.interface import reason_texts

    for p in report["probes"]:
        spec = registry.get(p["name"])
        assert spec is not None, p["name"]
        assert p["reason_code"] in reason_texts(spec), (p["name"], p["reason_code"])
        assert problems(p["values"], spec.values) == [], p["name"]
