"""The contract every probe module follows.

A probe is one module in ``clinicnet.probes`` with one entry point,
``probe(ctx: ProbeContext) -> ProbeResult``. The runner calls it in its own thread
and enforces the deadline from outside as well, so a probe that overruns is
abandoned and reported as ``error`` rather than holding up the report; probes
still honour ``ctx.deadline`` themselves so they can say *what* timed out.

Probes must not raise for anything the network does: a refused connection, a
malformed packet or silence is a measurement (``failed``), not an exception.
An exception that escapes is treated as a bug and becomes status ``error``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from clinicnet.model import JSONValue, ProbeResult, Status, Text


@dataclass(frozen=True)
class ProbeContext:
    """Settings a probe may read; the same object goes to every probe."""

    targets: tuple[str, ...] = ()
    reflectors: tuple[str, ...] = ()
    internet_checks: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    #: extra VPN client process names from the config file
    vpn_processes: tuple[str, ...] = ()
    timeout: float = 5.0
    privileged: bool = False
    #: raw IP sockets usable (root/CAP_NET_RAW on Linux; administrator *and* Npcap on
    #: Windows), and why not when they are not: the ESP probe needs them
    raw_sockets: bool = False
    raw_sockets_reason: str = ""
    #: absolute ``time.monotonic()`` value by which the probe must have returned
    deadline: float = field(default_factory=lambda: time.monotonic() + 5.0)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


class ProbeFunc(Protocol):
    def __call__(self, ctx: ProbeContext) -> ProbeResult: ...


V = TypeVar("V")


@dataclass(frozen=True)
class ProbeSpec(Generic[V]):
    """Everything about a probe except its code, kept in the probe's own module as ``SPEC``.

    The runner, the progress line, the report and ``clinicnet findings`` all take
    the probe's title from here, so it is written once. ``values`` is the
    ``TypedDict`` of ``ProbeResult.values``: rules read a probe's values through
    ``Evidence.of(SPEC)`` and mypy checks every key they use.
    """

    name: str
    #: display order in the progress line and the report (smaller first)
    order: int
    title: Text
    #: the TypedDict describing ``ProbeResult.values`` of this probe
    values: type[V]
    #: the ``ProbeContext`` fields this probe reads (documentation and ``--help`` text)
    options: tuple[str, ...] = ()
    #: reason code -> text (``str.format`` fields from ``ProbeResult.reason_params``)
    reasons: Mapping[str, Text] = field(default_factory=dict)
    #: importable module holding ``probe(ctx)``; defaults to ``clinicnet.probes.<name>``
    module: str = ""

    @property
    def module_name(self) -> str:
        return self.module or f"clinicnet.probes.{self.name}"

    @property
    def title_en(self) -> str:
        return self.title.en

    @property
    def title_ja(self) -> str:
        return self.title.ja


class Stopwatch:
    """Measures a probe's duration and stamps its results consistently."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._t0 = time.monotonic()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def result(
        self,
        status: Status,
        reason: str,
        values: Mapping[str, JSONValue] | None = None,
    ) -> ProbeResult:
        return ProbeResult(
            name=self.name,
            status=status,
            reason=reason,
            values=dict(values or {}),
            duration_s=time.monotonic() - self._t0,
            started_at=self.started_at,
        )

