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
