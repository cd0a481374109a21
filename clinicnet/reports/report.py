"""The report: probe results + findings + verdict, and its versioned JSON form.

The JSON form (``"schema": "clinicnet.report/1"``) is the interchange format:
``clinicnet report RESULT.json`` reads it back and renders it again without probing.
Readers accept any ``clinicnet.report/N`` with N <= the version they know and refuse
newer ones with a clear message (a newer clinicnet wrote it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clinicnet import SCHEMA, SCHEMA_VERSION, __version__
from clinicnet.model import Finding, JSONValue, ProbeResult, Severity, Unmeasured, Verdict


class ReportFormatError(ValueError):
    """A result file that cannot be read (not JSON, not ours, or from a newer schema)."""


@dataclass(frozen=True)
class Report:
    created_at: str
    host: Mapping[str, JSONValue]
    settings: Mapping[str, JSONValue]
    verdict: Verdict
    findings: tuple[Finding, ...]
    unmeasured: tuple[Unmeasured, ...]
    probes: tuple[ProbeResult, ...]
    clinicnet_version: str = __version__
    schema: str = SCHEMA
    #: set when addresses/host names/MACs were masked (renderers say so)
    redacted: bool = False
    extra: Mapping[str, JSONValue] = field(default_factory=dict)

    def probe(self, name: str) -> ProbeResult | None:
        for p in self.probes:
            if p.name == name:
                return p
        return None

    def findings_by_severity(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (-f.severity.rank, f.id))

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "schema": self.schema,
            "clinicnet_version": self.clinicnet_version,
            "created_at": self.created_at,
            "redacted": self.redacted,
            "host": dict(self.host),
            "settings": dict(self.settings),
            "verdict": self.verdict.value,
            "findings": [f.to_json() for f in self.findings_by_severity()],
            "unmeasured": [{"what": u.what, "why": u.why} for u in self.unmeasured],
            "probes": [p.to_json() for p in self.probes],
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> Report:
        if not isinstance(data, dict):
            raise ReportFormatError("not a clinicnet result (the top level is not an object)")
        schema = data.get("schema")
        if not isinstance(schema, str) or not schema.startswith("clinicnet.report/"):
            raise ReportFormatError("not a clinicnet result (no 'schema': 'clinicnet.report/N' key)")
        tail = schema.rsplit("/", 1)[1]
        # ASCII digits only: int() also takes "-1", " 1", "1_0" and other scripts' digits
        if not (tail.isascii() and tail.isdigit()) or int(tail) < 1:
            raise ReportFormatError(f"unknown schema {schema!r}")
        version = int(tail)
        redacted = data.get("redacted", False)
        if not isinstance(redacted, bool):  # "no" must not read as True: the flag says what a reader may see
            raise ReportFormatError(f"'redacted' must be true or false, not {redacted!r}")
        if version > SCHEMA_VERSION:
            raise ReportFormatError(
                f"this result uses schema {schema}, newer than this clinicnet "
                f"{__version__} understands ({SCHEMA}); use a newer clinicnet to render it"
            )
        try:
            return cls(
                schema=schema,
                clinicnet_version=str(data.get("clinicnet_version", "")),
                created_at=str(data["created_at"]),
                redacted=redacted,
                host=dict(data.get("host") or {}),
                settings=dict(data.get("settings") or {}),
                verdict=Verdict(data["verdict"]),
                findings=tuple(
                    Finding(str(f["id"]), Severity(f["severity"]), dict(f.get("evidence") or {}))
                    for f in data.get("findings") or []
                ),
                unmeasured=tuple(
                    Unmeasured(str(u["what"]), str(u["why"])) for u in data.get("unmeasured") or []
                ),
                probes=tuple(ProbeResult.from_json(p) for p in data.get("probes") or []),
                extra=dict(data.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReportFormatError(f"damaged clinicnet result: {exc!r}") from None

    @classmethod
    def loads(cls, text: str) -> Report:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReportFormatError(f"not JSON: {exc}") from None
        return cls.from_json(data)
