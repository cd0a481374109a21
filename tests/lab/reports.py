"""Reading the JSON report a lab diagnosis printed: one place for the lab tests."""

from __future__ import annotations

from typing import Any


def findings(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's findings by id."""
    return {f["id"]: f for f in report["findings"]}


def probe_result(report: dict[str, Any], name: str) -> dict[str, Any]:
    """One probe's result; a KeyError-like StopIteration names a probe that did not run."""
    return next(p for p in report["probes"] if p["name"] == name)
