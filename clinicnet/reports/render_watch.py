"""The watch report: what went down and came back, what changed, as text and as one HTML file.

Rendered from the watch result's JSON (``clinicnet.watch/1``), which carries every
round's signals, so a saved result renders again anywhere, redacted or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Text
from clinicnet.reports import timeline as TL
from clinicnet.reports.render_html import Markup, document, el, join

_T: dict[str, Text] = {
    "title": Text(ja="clinicnet 継続監視レポート", en="clinicnet watch report"),
    "subtitle": Text(
        ja="VPN に必要な通信を一定間隔で確認し、途切れた時刻と回復した時刻を記録しました。",
        en="The connections the VPN needs, checked at a fixed interval: when each went down and came back.",
    ),
    "period": Text(ja="監視期間", en="Period"),
    "rounds": Text(ja="確認回数", en="Rounds"),
    "every": Text(ja="間隔", en="Interval"),
    "interrupted": Text(ja="（途中で終了しました）", en="(stopped before the end)"),
    "events": Text(ja="出来事", en="Events"),
    "none": Text(ja="監視中に途切れた通信や変化はありませんでした。", en="Nothing went down or changed while watching."),
    "intermittent": Text(ja="断続的な不通", en="Intermittent failures"),
    "intermittent_line": Text(
        ja="{signal}: {count} 回途切れました（1 回あたり約 {typical}、最長 {longest}）。",
        en="{signal}: down {count} time(s), typically about {typical} each, longest {longest}.",
    ),
    "down_at_end": Text(ja="監視終了時も不通のままでした。", en="Still down when watching ended."),
    "timeline": Text(ja="時間経過", en="Timeline"),
    "nothing": Text(ja="測定できた回がありません。", en="No round was measured."),
    "long": Text(ja="時間のかかる測定", en="Long measurements"),
    "findings": Text(ja="検出事項", en="Findings"),
}


def _long_lines(data: Mapping[str, Any], lang: str) -> list[str]:
    """Each long probe's result (the NAT binding lifetime) as its title and reason, in ``lang``."""
    from clinicnet.model import ProbeResult
    from clinicnet.probes import registry

    out = []
    for r in data.get("long") or []:
        try:
            res = ProbeResult.from_json(r)
        except (KeyError, TypeError, ValueError):
            continue
        out.append(f"{registry.title(res.name, lang)}: {registry.reason(res, lang)}")
    return out


def _finding_lines(data: Mapping[str, Any], lang: str) -> list[str]:
    from clinicnet.reports import catalogue

    out = []
    for f in data.get("findings") or []:
        if not isinstance(f, Mapping):
            continue
        e = catalogue.get(str(f.get("id")))
        out.append(f"[{f.get('severity')}] {f.get('id')}: {e.title.get(lang) if e else ''}".rstrip(": "))
    return out


def _rounds(data: Mapping[str, Any]) -> list[TL.Round]:
    out = []
    for r in data.get("rounds") or []:
        if isinstance(r, Mapping) and isinstance(r.get("t"), int | float) and isinstance(r.get("signals"), Mapping):
            out.append(TL.Round(float(r["t"]), {str(k): None if v is None else str(v) for k, v in r["signals"].items()}))
    return out


def _intermittent_lines(data: Mapping[str, Any], lang: str) -> list[str]:
    lines = []
    for i in data.get("intermittent") or []:
        if not isinstance(i, Mapping):
            continue
        line = _T["intermittent_line"].get(lang).format(
            signal=TL.signal_title(str(i.get("signal")), lang), count=i.get("outages"),
            typical=TL.duration_text(float(i.get("typical_s") or 0)), longest=TL.duration_text(float(i.get("longest_s") or 0)),
        )
        if i.get("down_at_end"):
            line += " " + _T["down_at_end"].get(lang)
        lines.append(line)
    return lines


def render_text(data: Mapping[str, Any], lang: str) -> str:
    tl = TL.build(_rounds(data))
    head = f"{_T['title'].get(lang)}"
    if data.get("interrupted"):
        head += " " + _T["interrupted"].get(lang)
    out = [head, f"{_T['rounds'].get(lang)}: {tl.rounds}, {_T['every'].get(lang)}: {data.get('every_s')} s"]
    events = TL.render_text(tl, lang)
    out += ["", f"{_T['events'].get(lang)}:"] + ([f"  {e}" for e in events] or [f"  {_T['none'].get(lang)}"])
    inter = _intermittent_lines(data, lang)
    if inter:
        out += ["", f"{_T['intermittent'].get(lang)}:"] + [f"  {x}" for x in inter]
    for key, lines in (("long", _long_lines(data, lang)), ("findings", _finding_lines(data, lang))):
        if lines:
            out += ["", f"{_T[key].get(lang)}:"] + [f"  {x}" for x in lines]
    return "\n".join(out) + "\n"


def render_html(data: Mapping[str, Any], lang: str) -> str:
    tl = TL.build(_rounds(data))
    events = TL.render_text(tl, lang)
    title = _T["title"].get(lang)
    summary = f"{_T['rounds'].get(lang)}: {tl.rounds} · {_T['every'].get(lang)}: {data.get('every_s')} s"
    if data.get("interrupted"):
        summary += " " + _T["interrupted"].get(lang)
    body = join([
        el("header", el("p", title, class_="title"), el("p", _T["subtitle"].get(lang), class_="subtitle"),
           class_="top"),
        el("main",
           el("p", summary),
           el("h2", _T["timeline"].get(lang)),
           Markup(TL.render_svg(tl, lang)) if tl.rounds else el("p", _T["nothing"].get(lang)),
           el("h2", _T["events"].get(lang)),
           el("ul", *[el("li", e) for e in events]) if events else el("p", _T["none"].get(lang)),
           *([el("h2", _T["intermittent"].get(lang)),
              el("ul", *[el("li", x) for x in _intermittent_lines(data, lang)])]
             if data.get("intermittent") else []),
           *[part for key, lines in (("long", _long_lines(data, lang)), ("findings", _finding_lines(data, lang)))
             if lines for part in (el("h2", _T[key].get(lang)), el("ul", *[el("li", x) for x in lines]))]),
    ])
    return document(title, body, lang)
