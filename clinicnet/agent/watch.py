"""``clinicnet watch``: the light probes on a schedule, one report with a timeline at the end.

"The VPN drops now and then" needs hours of evidence, and a clinic PC may be
switched off or crash in the middle. So every round is appended to a state file
(one JSON line, flushed and fsynced) before the next begins: a crash or a power
loss loses at most the round in progress, and running the same command again
with the same ``--state`` file resumes the run (its ``--for`` still counts from the
first start, and the hours it was not running show as not measured).

Only light probes run (addresses, routes, DNS, internet, IKE to the targets, the
NAT mapping via a reflector), so a round takes one probe timeout and needs no
administrator rights.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from clinicnet import __version__
from clinicnet.errors import UsageError
from clinicnet.model import ProbeResult, Status
from clinicnet.reports import timeline as TL

SCHEMA = "clinicnet.watch/1"
#: the probes a round runs: no raw sockets, no trace, one timeout each
WATCH_PROBES = ("interfaces", "routes", "dns", "internet", "ike", "nat_mapping")

Measure = Callable[[float], Sequence[ProbeResult]]
#: the longest idle delay the binding-lifetime probe tries in watch mode (the reflector's cap)
LONG_MAX_DELAY_S = 180.0


def _values(results: Iterable[ProbeResult], name: str) -> Mapping[str, Any] | None:
    r = next((x for x in results if x.name == name), None)
    if r is None or r.status not in (Status.OK, Status.FAILED):
        return None
    return r.values


def _updown(v: object) -> str | None:
    return None if v is None else (TL.UP if v else TL.DOWN)


def signals(results: Sequence[ProbeResult]) -> dict[str, str | None]:
    """The signals of one round: up/down per connection, values for addresses and routes.

    A probe that did not measure (skipped, error) gives None: a gap, never an outage.
    """
    out: dict[str, str | None] = {}
    ike = _values(results, "ike")
    for t in (ike or {}).get("targets") or []:
        name = str(t.get("target") or t.get("address"))
        for port in (500, 4500):
            state = t.get(f"udp{port}")
            out[f"ike{port}@{name}"] = None if state is None else (TL.UP if state == "answered" else TL.DOWN)
    inet = _values(results, "internet")
    out["internet"] = _updown(inet.get("any_ok")) if inet is not None else None
    dns = _values(results, "dns")
    out["dns"] = _updown(dns.get("all_resolved")) if dns is not None and dns.get("names") else None
    mapping = _values(results, "nat_mapping")
    if mapping is not None:
        out["public_address"] = mapping.get("public_address") or None
    ifs = _values(results, "interfaces")
    if ifs is not None:
        addrs = sorted(
            a["address"] for i in ifs.get("interfaces") or [] if i.get("kind") != "loopback"
            for a in i.get("ipv4") or [] if a.get("address")
        )
        out["pc_addresses"] = " ".join(addrs) or None
    routes = _values(results, "routes")
    if routes is not None:
        gws = sorted({str(r.get("gateway")) for r in routes.get("default_v4") or [] if r.get("gateway")})
        out["default_route"] = " ".join(gws) or None
    return out


@dataclass
class StateFile:
    """Append-only record of a watch run: a header line, then one line per round."""

    path: Path

    def read(self) -> tuple[dict[str, Any] | None, list[TL.Round], list[ProbeResult]]:
        """The header, the rounds and the long probes' results, in one pass over the file.

        A torn last line (power loss mid-write) is ignored; a long result that does not
        parse is skipped (it is evidence, not the timeline).
        """
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None, [], []
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the watch state file {self.path}: {exc}") from None
        header: dict[str, Any] | None = None
        rounds: list[TL.Round] = []
        longs: list[ProbeResult] = []
        for n, line in enumerate(lines):
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError):
                if n == len(lines) - 1:
                    break  # the round being written when the PC stopped
                raise UsageError(f"{self.path}:{n + 1}: not a clinicnet watch state line") from None
            if n == 0:
                if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
                    raise UsageError(f"{self.path} is not a clinicnet watch state file ({SCHEMA})")
                header = rec
            elif isinstance(rec, dict) and isinstance(rec.get("long"), dict):
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    longs.append(ProbeResult.from_json(rec["long"]))
            elif isinstance(rec, dict) and isinstance(rec.get("t"), int | float) and isinstance(rec.get("signals"), dict):
                rounds.append(TL.Round(float(rec["t"]), {str(k): (None if v is None else str(v))
                                                          for k, v in rec["signals"].items()}))
        return header, rounds, longs

    def load(self) -> tuple[dict[str, Any] | None, list[TL.Round]]:
        """The header and the rounds."""
        header, rounds, _longs = self.read()
        return header, rounds

    def drop_torn_tail(self) -> None:
        """Cut a last line without its newline (a write the PC never finished) before appending.

        Left in place, the next round would be glued onto it and two rounds would be lost.
        """
        try:
            with open(self.path, "rb+") as f:
                data = f.read()
                if data and not data.endswith(b"\n"):
                    f.truncate(data.rfind(b"\n") + 1)
        except FileNotFoundError:
            pass

    def _append(self, rec: Mapping[str, Any]) -> None:
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def start(self, header: Mapping[str, Any]) -> None:
        self._append(header)

    def add(self, t: float, sig: Mapping[str, str | None], notes: Mapping[str, str]) -> None:
        self._append({"t": round(t, 3), "signals": dict(sig), "notes": dict(notes)})

    def add_long(self, t: float, result: ProbeResult) -> None:
        """A long probe's result (the NAT binding lifetime), kept like a round."""
        self._append({"t": round(t, 3), "long": result.to_json()})

    def long_results(self) -> list[ProbeResult]:
        """The long probes' results recorded so far (a resumed run keeps its earlier ones)."""
        try:
            return self.read()[2]
        except UsageError:
            return []


def _notes(results: Sequence[ProbeResult]) -> dict[str, str]:
    """Why a probe did not measure this round (kept with the round, for the technician)."""
    return {r.name: r.reason for r in results if r.status in (Status.ERROR, Status.SKIPPED) and r.reason}


def intermittent(tl: TL.Timeline) -> list[dict[str, Any]]:
    """Signals that were up, went down (and maybe came back): how often, for how long.

    A signal that was down in every round is not intermittent: it is simply down,
    and a diagnosis says why; it is left out here.
    """
    out = []
    for name in tl.signals:
        outs = [o for o in tl.outages if o.signal == name]
        if not outs or all(o.last_up is None and o.back_up is None for o in outs):
            continue
        out.append({
            "signal": name,
            "outages": len(outs),
            "typical_s": round(statistics.median(o.estimate_s for o in outs), 1),
            "longest_s": round(max(o.estimate_s for o in outs), 1),
            "down_at_end": outs[-1].back_up is None,
        })
    return out


@dataclass(frozen=True)
class WatchResult:
    header: Mapping[str, Any]
    rounds: tuple[TL.Round, ...]
    interrupted: bool
    #: the long probes' results (NAT binding lifetime), oldest first
    long: tuple[ProbeResult, ...] = ()

    @property
    def timeline(self) -> TL.Timeline:
        return TL.build(self.rounds)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "clinicnet_version": __version__,
            "started_at": self.header.get("started_at"),
            "every_s": self.header.get("every_s"),
            "for_s": self.header.get("for_s"),
            "settings": self.header.get("settings", {}),
            "interrupted": self.interrupted,
            "timeline": self.timeline.to_json(),
            "intermittent": intermittent(self.timeline),
            "rounds": [{"t": r.t, "signals": dict(r.signals)} for r in self.rounds],
            "long": [r.to_json() for r in self.long],
            "findings": [f.to_json() for f in self.findings()],
        }

    def findings(self) -> list[Any]:
        """The findings the latest long result supports (``nat.binding_short``): the same rules as diagnose."""
        latest = {r.name: r for r in self.long}
        if not latest:
            return []
        from clinicnet.reports.findings import evaluate

        found, _broken = evaluate(list(latest.values()), self.header.get("settings") or {})
        return found

    def exit_code(self) -> int:
        """0 nothing went down or changed, 1 something did, 4 nothing was measured."""
        if not self.timeline.rounds:
            return 4
        return 1 if self.timeline.outages or self.timeline.changes else 0


def watch(
    measure: Measure,
    state: StateFile,
    *,
    every: float,
    duration: float,
    settings: Mapping[str, Any],
    progress: TextIO | None = sys.stderr,
    lang: str = "ja",
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    long: Callable[[], Sequence[ProbeResult]] | None = None,
    long_every: float = 3600.0,
) -> WatchResult:
    """Run rounds every ``every`` seconds until ``duration`` after the (first) start or Ctrl-C.

    ``long`` (the probes that take minutes: the NAT binding lifetime) runs beside the
    rounds in a daemon thread, at the start and then every ``long_every`` seconds; each
    result is recorded as it arrives, and one still running at the end is not waited for.
    """
    header, rounds, long_results = state.read()
    state.drop_torn_tail()
    if header is None:
        header = {"schema": SCHEMA, "clinicnet_version": __version__, "started_at": clock(),
                  "every_s": every, "for_s": duration, "settings": dict(settings)}
        state.start(header)
    # the header is on disk before anything else is appended (the long probe's thread included)
    stop = threading.Event()
    if long is not None:
        def run_long() -> None:
            while not stop.is_set():
                for r in long():
                    if stop.is_set():
                        return
                    long_results.append(r)
                    with contextlib.suppress(OSError):
                        state.add_long(clock(), r)
                if stop.wait(long_every):
                    return

        threading.Thread(target=run_long, daemon=True, name="clinicnet-watch-long").start()
    ends = float(header.get("started_at") or clock()) + duration
    interrupted = False
    try:
        while True:
            t0 = clock()
            if t0 >= ends:
                break
            results = measure(max(0.5, min(every * 0.8, ends - t0)))
            sig = signals(results)
            state.add(t0, sig, _notes(results))
            rounds.append(TL.Round(t0, sig))
            if progress is not None:
                # a terminal that went away must not end a watch that records to disk
                with contextlib.suppress(OSError, ValueError):
                    progress.write(_progress_line(len(rounds), t0, sig, lang) + "\n")
                    progress.flush()
            nxt = t0 + every
            if nxt >= ends:
                break
            sleep(max(0.0, nxt - clock()))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
    return WatchResult(header, tuple(rounds), interrupted, tuple(long_results))


def _progress_line(n: int, t: float, sig: Mapping[str, str | None], lang: str) -> str:
    marks = {TL.UP: "○", TL.DOWN: "×", None: "?"}  # a Japanese console (cp932) prints these
    parts = []
    for k, v in sig.items():
        title = TL.signal_title(k, lang)
        parts.append(f"{title} {marks[v]}" if v in marks else f"{title} {v}")
    return f"[{time.strftime('%H:%M:%S', time.localtime(t))}] #{n}: " + ", ".join(parts)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, what: str) -> float:
    """``90``, ``90s``, ``30m``, ``8h`` -> seconds; anything else is a usage error."""
    t = text.strip().lower()
    unit = _UNITS.get(t[-1:], None)
    number = t[:-1] if unit is not None else t
    try:
        value = float(number) * (unit or 1.0)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a duration (e.g. 90s, 30m, 8h)") from None
    if not (value > 0 and value < 366 * 86400):  # also refuses nan and inf
        raise UsageError(f"{what}: {text!r} must be more than 0 and less than a year")
    return value


def run_cli(args: Any) -> int:
    """``clinicnet watch``: settings as for diagnose, rounds until --for or Ctrl-C, then the report."""
    from clinicnet.agent import config, output
    from clinicnet.agent.cli import lang_of, probe_settings_of
    from clinicnet.agent.diagnose import context
    from clinicnet.agent.runner import run_probes
    from clinicnet.probes import registry
    from clinicnet.reports import render_watch

    every = parse_duration(args.every, "--every")
    duration = parse_duration(args.duration, "--for")
    if every < 1:
        raise UsageError("--every must be at least 1 second")
    settings = config.build({
        "targets": args.target, "reflectors": args.reflector, "internet_checks": args.internet_check,
        "dns_names": args.dns_name, "timeout": args.timeout, "lang": args.lang, "redact": args.redact,
        "json": args.json, "html": args.html, "markdown": None, "output_dir": args.output_dir, "quiet": args.quiet,
        "probe_settings": probe_settings_of(args),
    }, args.config)

    lang = lang_of(settings.lang)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(settings.output_dir or ".")
    state = StateFile(Path(args.state) if args.state else base / f"clinicnet-watch-{stamp}.jsonl")
    outputs = {k: v for k, v in (("json", settings.json), ("html", settings.html)) if v}
    announce = not outputs
    if announce:
        outputs = {"html": str(base / f"clinicnet-watch-{stamp}.html"), "json": str(base / f"clinicnet-watch-{stamp}.json")}
    for path in [*outputs.values(), str(state.path)]:
        if path != "-":
            output.check_path(path)
    specs = [s for s in registry.specs() if s.name in WATCH_PROBES]
    ctx = context(settings)

    def measure(timeout: float) -> Sequence[ProbeResult]:
        return run_probes(specs, ctx, timeout=min(settings.timeout, timeout))

    long = None
    if settings.reflectors:
        from clinicnet.agent.diagnose import run_long

        def long() -> Sequence[ProbeResult]:
            return run_long(LONG_MAX_DELAY_S, ctx)

    result = watch(measure, state, every=every, duration=duration, settings=settings.public(),
                   progress=None if settings.quiet else sys.stderr, lang=lang, long=long)
    data = result.to_json()
    if settings.redact:
        from clinicnet.reports.redact import Redactor, host_of

        r = Redactor()
        for key in ("targets", "reflectors", "internet_checks", "dns_names"):
            for v in settings.public().get(key) or []:
                if isinstance(v, str) and (h := host_of(v)):
                    r.add_hostname(h)
        data = r.value(data)
        data["redacted"] = True
    for fmt, path in sorted(outputs.items(), key=lambda item: item[1] == "-"):  # files before stdout
        text = (json.dumps(data, ensure_ascii=False, indent=2) + "\n" if fmt == "json"
                else render_watch.render_html(data, lang))
        output.write_text(path, text)
    if announce and not settings.quiet:
        from clinicnet.agent import stdio

        for path in outputs.values():
            stdio.error_line(("レポートを保存しました: " if lang == "ja" else "report written: ") + path)
    if not settings.quiet and "-" not in outputs.values():
        sys.stdout.write(render_watch.render_text(data, lang))
    return result.exit_code()
