"""The path from this PC to the VPN gateway as a picture: nodes, and one line per protocol.

A clinic reads a picture faster than a table. The model is computed once from a
report (so a redacted report draws masks, never addresses) and drawn twice: as an
inline SVG for the HTML report and as one line of text for the terminal. Only what
was measured is drawn: a NAT layer appears when the trace, the router or NAT
detection saw it, and a protocol that was not measured is drawn grey and dashed
rather than guessed.

Where a blocked protocol stops: at the node whose ICMP error said so when one did;
otherwise in the segment after the outermost clinic device (the first place a
filter can sit that the PC does not see), since silence does not say more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.report import Report

NodeKind = Literal["pc", "nat", "internet", "gateway", "reflector"]
LineState = Literal["pass", "blocked", "unmeasured"]

_LABELS: dict[str, Text] = {
    "pc": Text(ja="このPC", en="This PC"),
    "router": Text(ja="院内ルータ (NAT)", en="Clinic router (NAT)"),
    "nat": Text(ja="NAT", en="NAT"),
    "modem": Text(ja="ケーブルモデム (NAT)", en="Cable modem (NAT)"),
    "cgn": Text(ja="プロバイダのNAT (CGN)", en="ISP's NAT (CGN)"),
    "aftr": Text(ja="IPv4 over IPv6 (AFTR)", en="IPv4 over IPv6 (AFTR)"),
    "nat_unknown": Text(ja="NAT (段数不明)", en="NAT (layers unknown)"),
    "internet": Text(ja="インターネット", en="Internet"),
    "gateway": Text(ja="VPN装置", en="VPN gateway"),
    "reflector": Text(ja="リフレクタ", en="Reflector"),
    "pass": Text(ja="通過", en="passes"),
    "blocked": Text(ja="不通", en="blocked"),
    "unmeasured": Text(ja="未測定", en="not measured"),
    "title": Text(ja="通信経路", en="Network path"),
    "fragments": Text(ja="フラグメント", en="Fragments"),
}

#: finding id that colours each protocol line when it was raised
_LINE_FINDINGS: dict[str, tuple[str, ...]] = {
    "IKE 500": ("ike.udp500.blocked", "ike.unreachable"),
    "IKE 4500": ("ike.udp4500.blocked", "ike.unreachable"),
    "ESP": ("esp.blocked",),
    "fragments": ("fragments.dropped",),
}

_COLOURS = {"pass": "#1a7f37", "unmeasured": "#8c959f", "info": "#0969da", "warning": "#bf8700", "error": "#cf222e"}


@dataclass(frozen=True)
class Node:
    kind: NodeKind
    #: key of ``_LABELS``
    label: str
    address: str | None = None


@dataclass(frozen=True)
class Line:
    protocol: str
    #: index of the node the protocol is aimed at
    target: int
    state: LineState
    #: index of the last node the traffic is known to reach (== target when it passes)
    reaches: int
    #: severity of the finding about this line, None when none was raised
    severity: Severity | None = None
    #: ICMP sender that stopped it, when one did
    stopped_by: str | None = None


@dataclass(frozen=True)
class PathModel:
    nodes: tuple[Node, ...]
    lines: tuple[Line, ...]

    def index(self, kind: NodeKind) -> int | None:
        return next((i for i, n in enumerate(self.nodes) if n.kind == kind), None)


def _values(report: Report, name: str) -> Mapping[str, Any]:
    """A probe's values if it measured (the rules' own accessor, so picture and findings read alike)."""
    from clinicnet.reports.findings.interface import Evidence

    return Evidence(report.probes).values(name)


# A result file is input like any other (``clinicnet report`` reads files from
# elsewhere): a value of the wrong shape draws less, it never stops the report.
def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _dict(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _str(v: Any) -> str | None:
    return str(v) if isinstance(v, str | int) and not isinstance(v, bool) and v != "" else None


def _nat_nodes(report: Report) -> list[Node]:
    layers = _values(report, "nat_layers")
    nodes: list[Node] = []
    modem = _dict(layers.get("modem_layer")).get("layer")
    for i, layer in enumerate(_dict(x) for x in _list(layers.get("layers"))):
        label = "modem" if modem is not None and layer.get("layer") == modem else ("router" if i == 0 else "nat")
        nodes.append(Node("nat", label, _str(layer.get("address"))))
    if _dict(layers.get("ipv4_over_ipv6")).get("detected"):
        nodes.append(Node("nat", "aftr", None))
    nodes.extend(Node("nat", "cgn", _str(a)) for a in _list(layers.get("cgn_addresses")))
    if not nodes and _nat_seen_elsewhere(report):
        nodes.append(Node("nat", "nat_unknown", None))
    return nodes


def _nat_seen_elsewhere(report: Report) -> bool:
    """The findings' one NAT view (IKE, the reflector, the trace), so the picture and the findings agree."""
    from clinicnet.reports.findings._evidence import nat_view
    from clinicnet.reports.findings.interface import Evidence

    try:
        return bool(nat_view(Evidence(report.probes, report.settings)).present)
    except (AttributeError, TypeError, KeyError, ValueError):  # a result file's values of the wrong shape
        return False


def _public_address(report: Report) -> str | None:
    return _str(_values(report, "nat_mapping").get("public_address")) or _str(
        _values(report, "esp").get("observed_address"))


def _pc_address(report: Report) -> str | None:
    for t in _list(_values(report, "ike").get("targets")):
        for a in _list(_dict(t).get("attempts")):
            if addr := _str(_dict(a).get("local_address")):
                return addr
    return _str(_values(report, "nat_mapping").get("local_address"))


def _severity(findings: Iterable[Finding], ids: tuple[str, ...]) -> Severity | None:
    hits = [f.severity for f in findings if f.id in ids]
    return max(hits, key=lambda s: s.rank) if hits else None


def build(report: Report) -> PathModel:
    """The path model of one report: PC, NAT layers, internet, then gateway and reflector."""
    nodes: list[Node] = [Node("pc", "pc", _pc_address(report)), *_nat_nodes(report)]
    #: the outermost clinic device (or the PC itself): a silent block sits beyond it
    edge = len(nodes) - 1
    public = _public_address(report)
    nodes.append(Node("internet", "internet", public if public != nodes[0].address else None))
    ike_targets = [_dict(t) for t in _list(_values(report, "ike").get("targets"))]
    targets = [str(t) for t in _list(report.settings.get("targets"))]
    reflectors = [str(r) for r in _list(report.settings.get("reflectors"))]
    gw = ref = None
    if targets or ike_targets:
        gw = len(nodes)
        first = ike_targets[0] if ike_targets else {}
        nodes.append(Node("gateway", "gateway", _str(first.get("address")) or (targets[0] if targets else None)))
    if reflectors:
        ref = len(nodes)
        nodes.append(Node("reflector", "reflector", reflectors[0]))
    lines: list[Line] = []
    if gw is not None:
        t = ike_targets[0] if ike_targets else None
        for port in (500, 4500):
            lines.append(_ike_line(report, nodes, t, port, gw, edge))
    if ref is not None:
        passes = _values(report, "esp").get("esp_passes")
        state: LineState = "pass" if passes else "blocked" if passes is False else "unmeasured"
        lines.append(_line(report, "ESP", ref, state, edge))
        frag = _values(report, "fragments")
        up, down = frag.get("fragments_up_pass"), frag.get("fragments_down_pass")
        fstate: LineState = "unmeasured" if not frag or up is None else ("pass" if up and down is not False else "blocked")
        lines.append(_line(report, "fragments", ref, fstate, edge))
    return PathModel(tuple(nodes), tuple(lines))


def _line(report: Report, protocol: str, target: int, state: LineState, edge: int, stopped_by: str | None = None,
          nodes: list[Node] | None = None) -> Line:
    reaches = target if state == "pass" else (0 if state == "unmeasured" else edge)
    if stopped_by and nodes:
        hit = next((i for i, n in enumerate(nodes) if n.address == stopped_by), None)
        if hit is not None:
            reaches = hit
    sev = _severity(report.findings, _LINE_FINDINGS.get(protocol, ())) if state == "blocked" else None
    return Line(protocol, target, state, reaches, sev, stopped_by)


def _ike_line(report: Report, nodes: list[Node], t: Mapping[str, Any] | None, port: int, gw: int, edge: int) -> Line:
    name = f"IKE {port}"
    if t is None:
        return _line(report, name, gw, "unmeasured", edge)
    answer = t.get(f"udp{port}")
    if answer == "answered":
        return _line(report, name, gw, "pass", edge)
    if answer is None:
        return _line(report, name, gw, "unmeasured", edge)
    return _line(report, name, gw, "blocked", edge, stopped_by=_str(t.get("icmp_from")), nodes=nodes)


def section_title(lang: str) -> str:
    return _LABELS["title"].get(lang)


def _node_text(n: Node, lang: str) -> str:
    label = _LABELS[n.label].get(lang)
    return f"{label} {n.address}" if n.address else label


#: marks a Japanese Windows console (cp932) can print; the SVG says the same in colour
MARKS = {"pass": "○", "blocked": "×", "unmeasured": "?"}


def _mark(line: Line) -> str:
    return MARKS[line.state]


def render_text(model: PathModel, lang: str) -> str:
    """One line for the terminal: ``PC → 192.168.1.1 (NAT) → … → gateway: 500 ○ 4500 ×``."""
    hops = " → ".join(_node_text(n, lang) for n in model.nodes if n.kind in ("pc", "nat", "internet"))
    ends = []
    for kind in ("gateway", "reflector"):
        i = model.index(kind)
        if i is None:
            continue
        marks = " ".join(f"{_protocol_name(ln, lang).replace('IKE ', '')} {_mark(ln)}" for ln in model.lines if ln.target == i)
        ends.append(f"{_node_text(model.nodes[i], lang)}: {marks}" if marks else _node_text(model.nodes[i], lang))
    return " → ".join([hops, " / ".join(ends)]) if ends else hops


def _protocol_name(line: Line, lang: str) -> str:
    return _LABELS["fragments"].get(lang) if line.protocol == "fragments" else line.protocol


def _colour(line: Line) -> str:
    if line.state == "blocked":
        return _COLOURS[(line.severity or Severity.ERROR).value]
    return _COLOURS[line.state]


def render_svg(model: PathModel, lang: str) -> str:
    """An inline SVG (no external assets, prints in colour and in grey) of the nodes and protocol lines."""
    step, left, box_w, box_h, top = 160, 20, 142, 54, 34
    width = left * 2 + step * (len(model.nodes) - 1) + box_w
    row = 26
    height = top + box_h + 30 + row * len(model.lines) + 10
    title = _LABELS["title"].get(lang)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="path" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="12"'
        f' aria-label="{escape(title)}: {escape(render_text(model, lang))}">',
    ]

    def cx(i: int) -> int:
        return left + step * i + box_w // 2

    for i, n in enumerate(model.nodes):
        x = left + step * i
        if i:
            out.append(f'<line x1="{x - step + box_w}" y1="{top + box_h // 2}" x2="{x}" y2="{top + box_h // 2}" '
                       'stroke="#57606a" stroke-width="2"/>')
        fill = "#f6f8fa" if n.kind != "nat" else "#fff8c5"
        out.append(f'<rect class="node node-{n.kind}" x="{x}" y="{top}" width="{box_w}" height="{box_h}" rx="8" '
                   f'fill="{fill}" stroke="#57606a"/>')
        out.append(f'<text x="{cx(i)}" y="{top + 22}" text-anchor="middle" font-weight="bold">'
                   f"{escape(_LABELS[n.label].get(lang))}</text>")
        if n.address:
            out.append(f'<text x="{cx(i)}" y="{top + 40}" text-anchor="middle" font-size="11">{escape(n.address)}</text>')
    y = top + box_h + 30
    for ln in model.lines:
        colour = _colour(ln)
        end = cx(ln.reaches) if ln.state == "pass" else cx(ln.reaches) + (step // 2 if ln.state == "blocked" else 0)
        dash = ' stroke-dasharray="6 4"' if ln.state == "unmeasured" else ""
        name = _protocol_name(ln, lang)
        state = _LABELS[ln.state].get(lang)
        out.append(f'<g class="proto proto-{ln.state}" data-protocol="{escape(ln.protocol)}" '
                   f'data-reaches="{ln.reaches}" data-target="{ln.target}">')
        if ln.state == "unmeasured":
            end = cx(ln.target)
        out.append(f'<line x1="{cx(0)}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}" stroke-width="3"{dash}/>')
        out.append(f'<text x="{end + 6}" y="{y + 4}" fill="{colour}">{_mark(ln)}</text>')
        out.append(f'<text x="{left}" y="{y - 6}" font-size="11" fill="{colour}">{escape(name)}: {escape(state)}</text>')
        out.append("</g>")
        y += row
    out.append("</svg>")
    return "".join(out)
