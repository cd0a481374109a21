"""What a watch run saw over time: per-signal segments, outages, changes, and a picture of them.

"It fails now and then" and "it drops after a while" cannot be seen in one
five-second diagnosis. A watch run records a few *signals* each round (IKE on 500
and 4500 per target, internet, DNS: up/down; the public address, the PC's
addresses and the default route: values). This module turns those rounds into a
timeline; it never probes and never reads the clock, so a saved watch state can be
rendered again anywhere.

Honesty rules: a round where a signal was not measured is a gap, not an outage;
an outage is bounded by the last round that saw the signal up and the first that
saw it up again, so its duration is given as a range (at least / at most), and
an outage still open when the run ended says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from clinicnet.model import Text

#: boolean signals are "up"/"down"; anything else is a value signal (an address, a route)
UP, DOWN = "up", "down"

_NAMES: dict[str, Text] = {
    "ike500": Text(ja="IKE (UDP 500)", en="IKE (UDP 500)"),
    "ike4500": Text(ja="IKE (UDP 4500)", en="IKE (UDP 4500)"),
    "internet": Text(ja="インターネット", en="Internet"),
    "dns": Text(ja="名前解決 (DNS)", en="DNS"),
    "public_address": Text(ja="グローバルIPアドレス", en="Public address"),
    "pc_addresses": Text(ja="このPCのアドレス", en="PC addresses"),
    "default_route": Text(ja="デフォルトゲートウェイ", en="Default gateway"),
}
_WORDS: dict[str, Text] = {
    "down": Text(ja="不通", en="down"),
    "up": Text(ja="回復", en="back up"),
    "changed": Text(ja="変化", en="changed"),
    "open": Text(ja="終了時も継続中", en="still down at the end"),
    "from_start": Text(ja="監視開始時から", en="from the start"),
    "gap": Text(ja="未測定", en="not measured"),
    "title": Text(ja="時間経過", en="Timeline"),
}


@dataclass(frozen=True)
class Round:
    """One round of a watch run: when (seconds since the epoch) and the signals it measured."""

    t: float
    signals: Mapping[str, str | None]


@dataclass(frozen=True)
class Segment:
    signal: str
    value: str | None  # None = not measured in these rounds
    start: float
    end: float  # time of the last round with this value
    rounds: int


@dataclass(frozen=True)
class Outage:
    signal: str
    #: last round that saw it up (None when it was down from the first round)
    last_up: float | None
    first_down: float
    last_down: float
    #: first round that saw it up again (None when still down at the end)
    back_up: float | None

    @property
    def at_least_s(self) -> float:
        return self.last_down - self.first_down

    @property
    def at_most_s(self) -> float | None:
        if self.last_up is None or self.back_up is None:
            return None
        return self.back_up - self.last_up

    @property
    def estimate_s(self) -> float:
        """The middle of what the rounds allow (one round down is not "0 s"), else the lower bound."""
        most = self.at_most_s
        return self.at_least_s if most is None else (self.at_least_s + most) / 2


@dataclass(frozen=True)
class Change:
    signal: str
    at: float
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Timeline:
    start: float
    end: float
    rounds: int
    segments: tuple[Segment, ...]
    outages: tuple[Outage, ...]
    changes: tuple[Change, ...]
    signals: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start, "end": self.end, "rounds": self.rounds, "signals": list(self.signals),
            "outages": [
                {"signal": o.signal, "last_up": o.last_up, "first_down": o.first_down, "last_down": o.last_down,
                 "back_up": o.back_up, "at_least_s": round(o.at_least_s, 1), "estimate_s": round(o.estimate_s, 1),
                 "at_most_s": None if o.at_most_s is None else round(o.at_most_s, 1)}
                for o in self.outages
            ],
            "changes": [{"signal": c.signal, "at": c.at, "before": c.before, "after": c.after} for c in self.changes],
        }


def is_boolean(values: Iterable[str | None]) -> bool:
    return all(v in (UP, DOWN, None) for v in values)


def build(rounds: Sequence[Round]) -> Timeline:
    """Segments, outages and value changes of every signal seen in ``rounds`` (sorted by time)."""
    rs = sorted(rounds, key=lambda r: r.t)
    names = tuple(dict.fromkeys(k for r in rs for k in r.signals))
    segments: list[Segment] = []
    outages: list[Outage] = []
    changes: list[Change] = []
    for name in names:
        series = [(r.t, r.signals.get(name)) for r in rs]
        segments.extend(_segments(name, series))
        if is_boolean(v for _, v in series):
            outages.extend(_outages(name, series))
        else:
            changes.extend(_changes(name, series))
    start, end = (rs[0].t, rs[-1].t) if rs else (0.0, 0.0)
    return Timeline(start, end, len(rs), tuple(segments), tuple(outages),
                    tuple(sorted(changes, key=lambda c: c.at)), names)


def _segments(name: str, series: list[tuple[float, str | None]]) -> list[Segment]:
    out: list[Segment] = []
    for t, v in series:
        if out and out[-1].value == v:
            last = out[-1]
            out[-1] = Segment(name, v, last.start, t, last.rounds + 1)
        else:
            out.append(Segment(name, v, t, t, 1))
    return out


def _outages(name: str, series: list[tuple[float, str | None]]) -> list[Outage]:
    out: list[Outage] = []
    last_up: float | None = None
    first_down: float | None = None
    last_down = 0.0
    for t, v in series:
        if v == DOWN:
            if first_down is None:
                first_down = t
            last_down = t
        elif v == UP:
            if first_down is not None:
                out.append(Outage(name, last_up, first_down, last_down, t))
                first_down = None
            last_up = t
        # None: not measured, neither ends nor starts an outage
    if first_down is not None:
        out.append(Outage(name, last_up, first_down, last_down, None))
    return out


def _changes(name: str, series: list[tuple[float, str | None]]) -> list[Change]:
    out: list[Change] = []
    prev: str | None = None
    seen = False
    for t, v in series:
        if v is None:
            continue
        if seen and v != prev:
            out.append(Change(name, t, prev, v))
        prev, seen = v, True
    return out


def signal_title(signal: str, lang: str) -> str:
    """``ike4500@192.0.2.10`` -> ``IKE (UDP 4500) 192.0.2.10``."""
    base, _, target = signal.partition("@")
    t = _NAMES.get(base)
    title = t.get(lang) if t else base
    return f"{title} {target}" if target else title


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def duration_text(s: float) -> str:
    s = max(0.0, s)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def outage_text(o: Outage, lang: str) -> str:
    when = _clock(o.first_down)
    if o.last_up is None:
        when += f" ({_WORDS['from_start'].get(lang)})"
    if o.back_up is None:
        how_long = f">= {duration_text(o.at_least_s)}, {_WORDS['open'].get(lang)}"
    else:
        most = o.at_most_s
        how_long = f"{duration_text(o.at_least_s)} - {duration_text(most)}" if most is not None else f">= {duration_text(o.at_least_s)}"
        how_long += f", {_WORDS['up'].get(lang)} {_clock(o.back_up)}"
    return f"{when} {signal_title(o.signal, lang)} {_WORDS['down'].get(lang)} ({how_long})"


def change_text(c: Change, lang: str) -> str:
    return f"{_clock(c.at)} {signal_title(c.signal, lang)} {_WORDS['changed'].get(lang)}: {c.before} → {c.after}"


def render_text(tl: Timeline, lang: str) -> list[str]:
    """The timeline's events in time order, one line each."""
    events: list[tuple[float, str]] = [(o.first_down, outage_text(o, lang)) for o in tl.outages]
    events += [(c.at, change_text(c, lang)) for c in tl.changes]
    return [text for _, text in sorted(events, key=lambda e: e[0])]


_FILL = {UP: "#1a7f37", DOWN: "#cf222e", None: "#d0d7de"}


def render_svg(tl: Timeline, lang: str, *, width: int = 900) -> str:
    """One row per signal, time left to right: green up, red down, grey not measured, ticks at value changes."""
    label_w, row, top = 230, 26, 28
    plot = width - label_w - 20
    height = top + row * len(tl.signals) + 30
    span = max(tl.end - tl.start, 1e-6)

    def x(t: float) -> float:
        return label_w + (t - tl.start) / span * plot

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(_WORDS['title'].get(lang))}</title>",
    ]
    for i, name in enumerate(tl.signals):
        y = top + i * row
        out.append(f'<text x="4" y="{y + 14}">{escape(signal_title(name, lang))}</text>')
        segs = [s for s in tl.segments if s.signal == name]
        boolean = is_boolean(s.value for s in segs)
        for j, s in enumerate(segs):
            # a segment lasts until the next one starts (or the run ends)
            end = segs[j + 1].start if j + 1 < len(segs) else tl.end
            w = max(x(end) - x(s.start), 2.0)
            fill = _FILL.get(s.value, "#0969da") if boolean else ("#d0d7de" if s.value is None else "#8250df" if j % 2 else "#0969da")
            state = s.value if s.value is not None else _WORDS["gap"].get(lang)
            out.append(f'<rect class="seg" data-signal="{escape(name)}" data-value="{escape(str(s.value))}" '
                       f'x="{x(s.start):.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 8}" fill="{fill}">'
                       f"<title>{escape(str(state))}</title></rect>")
    out.append(f'<text x="{label_w}" y="{height - 8}">{escape(_clock(tl.start))}</text>')
    out.append(f'<text x="{width - 20}" y="{height - 8}" text-anchor="end">{escape(_clock(tl.end))}</text>')
    out.append("</svg>")
    return "".join(out)
