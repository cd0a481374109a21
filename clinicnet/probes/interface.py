"""The contract every probe module follows.

A probe is one module in ``clinicnet.probes`` with one entry point,
``probe(ctx: ProbeContext) -> ProbeResult``. The runner calls it in its own thread
and enforces the deadline from outside as well, so a probe that overruns is
abandoned and reported as ``error`` rather than holding up the report; probes
still honour ``ctx.deadline`` themselves so they can say *what* timed out.

Probes must not raise for anything the network does: a refused connection, a
malformed packet or silence is a measurement (``failed``), not an exception.
An exception that escapes is treated as a bug and becomes status ``error``.

Beside ``probe`` the module holds its ``SPEC`` (name, display order, title, the
``TypedDict`` of its values, its reason texts); the registry finds it there. A
result's reason is a code with parameters (``Stopwatch.result``): the English
sentence goes into the JSON ``reason`` as before, and a report renders the code
in its own language from the SPEC's texts or ``COMMON_REASONS``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, cast

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
    #: the values of settings probes declare themselves (``ProbeSpec.settings``), by name
    probe_settings: Mapping[str, Any] = field(default_factory=dict)

    def setting(self, option: ProbeOption) -> Any:
        """The value of a setting this probe declared, or its default."""
        return self.probe_settings.get(option.name, option.default)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


class ProbeFunc(Protocol):
    def __call__(self, ctx: ProbeContext) -> ProbeResult: ...


V = TypeVar("V")


@dataclass(frozen=True)
class ProbeOption:
    """A setting only one probe reads, declared in that probe's SPEC.

    The command line (``diagnose``/``watch``), the config file and the probe
    context take it from here, so a new probe with a new setting is still one
    module. ``kind`` says how a value is checked: ``hosts`` (repeatable host
    names or IP addresses), ``bool`` (a switch).
    """

    #: key in the config file and in ``ProbeContext.probe_settings``
    name: str
    #: the command-line flag, e.g. ``--ntp-server``
    flag: str
    help: Text
    kind: Literal["hosts", "bool"] = "hosts"
    metavar: str = "HOST"
    default: Any = ()


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
    #: settings only this probe reads (command-line flag, config key), see ``ProbeOption``
    settings: tuple[ProbeOption, ...] = ()
    #: takes minutes: run only when asked (``diagnose --long``, watch mode), with its own deadline
    long: bool = False

    @property
    def module_name(self) -> str:
        return self.module or f"clinicnet.probes.{self.name}"

    @property
    def title_en(self) -> str:
        return self.title.en

    @property
    def title_ja(self) -> str:
        return self.title.ja


#: reasons any probe (and the runner) may give; a probe's ``SPEC.reasons`` may
#: override one with a more precise text under the same code, so rules that match
#: the code (``privileges.limited`` matches the three rights codes) still see it
COMMON_REASONS: Mapping[str, Text] = {
    "no_target": Text(
        ja="VPN 装置（--target）が指定されていないため、測定していません",
        en="no VPN gateway given (--target HOST), nothing to probe",
    ),
    "no_reflector": Text(
        ja="リフレクタ（--reflector）が指定されていないため、測定していません",
        en="no reflector given (--reflector HOST): this needs a clinicnet reflector",
    ),
    "unresolved": Text(
        ja="リフレクタの名前を解決できませんでした", en="no reflector address could be resolved"
    ),
    "no_privileges": Text(
        ja="管理者権限が必要なため、測定していません",
        en="needs administrator/root privileges; run as administrator to measure it",
    ),
    "no_raw_sockets": Text(
        ja="raw ソケットを使えないため、測定していません",
        en="needs raw sockets, which are not available: {detail}",
    ),
    "no_npcap": Text(
        ja="Npcap がインストールされていない（または壊れている）ため、測定していません",
        en="needs Npcap on Windows: {detail}",
    ),
    "unsupported_platform": Text(
        ja="この OS では測定できません",
        en="not measurable on this operating system",
    ),
    "deadline": Text(
        ja="{timeout} 秒以内に終わらなかったため、打ち切りました",
        en="did not finish within {timeout} s and was abandoned",
    ),
    "crashed": Text(
        ja="測定プログラムの内部エラーで終了しました（{error}）",
        en="probe crashed: {error}{where}",
    ),
}

#: the codes that mean "skipped for want of rights" (the ``privileges.limited`` finding)
RIGHTS_CODES: tuple[str, ...] = ("no_privileges", "no_raw_sockets", "no_npcap")


def combined_reasons(groups: Sequence[Mapping[str, Text]], sep: Text) -> dict[str, Text]:
    """Reasons made of parts, for a result that names several things at once.

    Each code takes at most one part from every group, in group order, joined by
    ``+`` (``frag_up+black_hole``); its text joins the parts' texts with ``sep``.
    A group of one part is an optional suffix (a part every code must have is a
    one-part group whose other codes the caller leaves out). The codes are written
    out at import, so each has both texts and the reason test checks them all.
    """
    out: dict[str, Text] = {}
    for choice in itertools.product(*[(None, *g) for g in groups]):
        chosen = [(k, g[k]) for g, k in zip(groups, choice, strict=True) if k is not None]
        if chosen:
            out["+".join(k for k, _ in chosen)] = Text(
                ja=sep.ja.join(t.ja for _, t in chosen), en=sep.en.join(t.en for _, t in chosen)
            )
    return out


def reason_texts(spec: ProbeSpec[Any] | None) -> Mapping[str, Text]:
    """Every reason a probe can give: the common ones, overridden by its own."""
    if spec is None:
        return COMMON_REASONS
    return {**COMMON_REASONS, **spec.reasons}


def format_reason(text: Text | None, params: Mapping[str, JSONValue], lang: str) -> str | None:
    """``text`` in ``lang`` with ``params`` filled in; None if it cannot be (unknown code,
    a field the result does not carry): the caller then shows the stored English reason."""
    if text is None:
        return None
    try:
        return text.get(lang).format_map(dict(params))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return None


class Stopwatch(Generic[V]):
    """Measures a probe's duration and stamps its results consistently.

    Takes the probe's ``SPEC`` so a result is written as a reason *code* with
    parameters; the English sentence is filled from the code (the JSON ``reason``
    key keeps its meaning) and a report renders the code in its own language.
    """

    def __init__(self, spec: ProbeSpec[V]) -> None:
        self.spec = spec
        self.name = spec.name
        self._texts = reason_texts(spec)
        self._t0 = time.monotonic()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def result(
        self,
        status: Status,
        code: str,
        values: V | None = None,
        /,
        **params: JSONValue,
    ) -> ProbeResult:
        """The result; ``code`` must be one of the probe's reasons (a KeyError is a bug)."""
        reason = format_reason(self._texts[code], params, "en")
        if reason is None:
            raise KeyError(f"{self.name}: reason {code!r} needs parameters {sorted(params)} does not give")
        return ProbeResult(
            name=self.name,
            status=status,
            reason=reason,
            values=dict(cast(Mapping[str, JSONValue], values or {})),
            duration_s=time.monotonic() - self._t0,
            started_at=self.started_at,
            reason_code=code,
            reason_params=dict(params),
        )
