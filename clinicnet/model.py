"""The data every part of clinicnet exchanges: probe results, findings, reports.

Everything here is a frozen dataclass made of plain JSON-able values, so a result
can be written to JSON, read back by ``clinicnet report`` on another machine and
rendered again with the same findings. Probes never hand out live objects.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of one probe.

    ``failed`` means the probe ran and measured a problem (the network said no);
    ``error`` means the probe itself could not do its job (a bug, a deadline, an OS
    refusal) so nothing can be concluded from it; ``skipped`` means it was not run
    on purpose (no target given, no privileges) and says why.
    """

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Verdict(enum.StrEnum):
    READY = "ready"
    READY_WITH_WARNINGS = "ready_with_warnings"
    NOT_READY = "not_ready"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        """Process exit code; 2 is reserved for usage errors (argparse's own)."""
        return {
            "ready": 0,
            "ready_with_warnings": 1,
            "not_ready": 3,
            "inconclusive": 4,
        }[self.value]


JSONValue = Any  # str | int | float | bool | None | list | dict of those


@dataclass(frozen=True)
class Text:
    """One user-facing text in both report languages.

    Japanese is the reference (clinic staff read it); the English says the same
    for technicians. Texts sit beside the code that emits them (a probe's SPEC, a
    finding's module) so a newcomer edits one file, not a central table.
    """

    ja: str
    en: str

    def get(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class ProbeResult:
    """What one probe measured.

    ``values`` holds the measurements as plain JSON data (the evidence the rules
    and the report use); ``reason`` is one human sentence in English explaining the
    status, for the technician and the log.
    """

    name: str
    status: Status
    reason: str = ""
    values: Mapping[str, JSONValue] = field(default_factory=dict)
    duration_s: float = 0.0
    started_at: str = ""
    #: machine-readable cause of the status (a key of the probe's SPEC.reasons, or a
    #: common one such as ``no_privileges``); the report renders it in its language
    #: from the probe's texts, and rules match on it instead of on English words
    reason_code: str = ""
    #: values the reason text is formatted with (``str.format`` fields)
    reason_params: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "values": dict(self.values),
            "duration_s": round(self.duration_s, 4),
            "started_at": self.started_at,
            "reason_code": self.reason_code,
            "reason_params": dict(self.reason_params),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> ProbeResult:
        return cls(
            name=str(data["name"]),
            status=Status(data["status"]),
            reason=str(data.get("reason", "")),
            values=dict(data.get("values") or {}),
            duration_s=float(data.get("duration_s", 0.0)),
            started_at=str(data.get("started_at", "")),
            reason_code=str(data.get("reason_code") or ""),
            reason_params=dict(data.get("reason_params") or {}),
        )


@dataclass(frozen=True)
class Finding:
    """One matched known limitation or fault, keyed by a stable catalogue id.

    Titles and texts live in the catalogue (``reports.catalogue``), not here: the
    finding carries only the id, the severity it got in this situation (some ids
    change severity with context, e.g. ``esp.blocked``) and the evidence.
    """

    id: str
    severity: Severity
    evidence: Mapping[str, JSONValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSONValue]:
        return {"id": self.id, "severity": self.severity.value, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class Unmeasured:
    """Something the report could not measure, said instead of guessed."""

    what: str
    why: str
