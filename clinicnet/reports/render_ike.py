"""The text of ``clinicnet ike HOST``: what answered on UDP 500 and 4500, NAT, RTT, vendor IDs.

A technician runs it against one gateway on the phone with the clinic, so it is
short and in the user's language; its words are the reports' (VPN 装置, この PC)
and a result without targets shows the probe's reason as the reports do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from clinicnet.model import ProbeResult, Text
from clinicnet.probes import registry
from clinicnet.probes.ike import IKE_PORT, NAT_T_PORT
from clinicnet.reports.i18n import norm_lang
from clinicnet.reports.textwidth import pad
from clinicnet.reports.textwidth import width as text_width

_T: Final[Mapping[str, Text]] = {
    # port states (``udp500`` / ``udp4500`` of the probe's values)
    "answered": Text(ja="応答あり", en="answered"),
    "icmp": Text(ja="拒否（ICMP）", en="refused (ICMP)"),
    "silent": Text(ja="応答なし", en="no answer"),
    "error": Text(ja="未測定", en="not tested"),
    # row labels
    "nat": Text(ja="NAT", en="NAT"),
    "vendor": Text(ja="ベンダー ID", en="Vendor IDs"),
    "rtt": Text(ja="応答時間", en="RTT"),
    "resolve": Text(ja="名前解決できません", en="cannot resolve"),
    "none": Text(ja="なし", en="none"),
    # NAT detection
    "local_nat": Text(
        ja="この PC は NAT の内側です（UDP 4500 の NAT-T を使用）",
        en="this PC is behind NAT (NAT-T on UDP 4500 will be used)",
    ),
    "no_nat": Text(ja="この PC と VPN 装置の間に NAT はありません", en="no NAT between this PC and the gateway"),
    "remote_nat": Text(ja="VPN 装置が NAT の内側にあります", en="the gateway is behind NAT"),
    "unknown": Text(
        ja="測定できませんでした（NAT 検出付きの IKEv2 応答がありません）",
        en="not measured (no IKEv2 response with NAT detection)",
    ),
    # attempts that got no IKE answer
    "timeout": Text(ja="{sent} 回送信して応答なし", en="no answer to {sent} transmission(s)"),
    "malformed": Text(ja="不正な応答のみ（{n} 件を無視）", en="only malformed replies ({n} ignored)"),
    "icmp_port_unreachable": Text(ja="ICMP ポート到達不能", en="ICMP port unreachable"),
    "icmp_host_unreachable": Text(ja="ICMP ホスト到達不能", en="ICMP host unreachable"),
    "icmp_net_unreachable": Text(ja="ICMP ネットワーク到達不能", en="ICMP network unreachable"),
    "icmp_admin_prohibited": Text(
        ja="ICMP 管理上の禁止（ファイアウォールが拒否）",
        en="ICMP administratively prohibited (a firewall rejects it)",
    ),
    "icmp_other": Text(ja="ICMP エラー", en="ICMP error"),
    "from": Text(ja="送信元", en="from"),
    "retried": Text(ja="再試行後", en="after retry"),
}


def keys() -> tuple[str, ...]:
    """Every text key, for the test that checks both languages."""
    return tuple(_T)


def render(result: ProbeResult, lang: str = "en") -> str:
    """Compact text for ``clinicnet ike HOST`` in ``lang``."""
    lang = norm_lang(lang)

    def tx(key: str) -> str:
        return _T[key].get(lang)

    targets = result.values.get("targets") or []
    if not targets:
        return registry.reason(result, lang)
    labels = ["UDP 500", "UDP 4500", tx("nat"), tx("rtt"), tx("vendor")]
    width = max(text_width(x) for x in labels) + 1
    lines: list[str] = []

    def row(label: str, text: str) -> None:
        lines.append(f"  {pad(label, width)}: {text}")

    for t in targets:
        head = f"IKE {t.get('target')}"
        if t.get("address") and t.get("address") != t.get("target"):
            head += f" ({t['address']})"
        lines.append(head)
        if t.get("resolve_error"):
            row(tx("resolve"), str(t["resolve_error"]))
            continue
        for port, key in ((IKE_PORT, "udp500"), (NAT_T_PORT, "udp4500")):
            state = str(t.get(key, "error"))
            word = _T[state].get(lang) if state in _T else state
            row(f"UDP {port}", f"{word} - {_attempt_text(_best_attempt(t, port), lang)}")
        nat = t.get("nat") or {}
        if nat.get("measured"):
            parts = [tx("local_nat") if nat.get("local_behind_nat") else tx("no_nat")]
            if nat.get("remote_behind_nat"):
                parts.append(tx("remote_nat"))
            row(tx("nat"), "; ".join(parts))
        else:
            row(tx("nat"), tx("unknown"))
        if t.get("rtt_ms") is not None:
            row(tx("rtt"), f"{t['rtt_ms']:.1f} ms")
        names = [str(v.get("name") or v.get("hex")) for v in t.get("vendor_ids") or []]
        row(tx("vendor"), ", ".join(names) if names else tx("none"))
    return "\n".join(lines)


def _attempt_text(a: Mapping[str, Any] | None, lang: str) -> str:
    if a is None:
        return "-"
    if a.get("answered"):
        text = f"IKEv{a['ike_version']} {a['outcome']}"
        if a.get("rtt_ms") is not None:
            text += f", {a['rtt_ms']:.1f} ms"
        prop = a.get("chosen_proposal") or {}
        algs = [str(prop[k]) for k in ("encr", "key_bits", "prf", "integ", "hash", "dh") if prop.get(k)]
        if algs:
            text += " [" + "/".join(algs) + "]"
        if a.get("retries"):
            text += f" ({_T['retried'].get(lang)}: " + ", ".join(r.split(":")[0] for r in a["retries"]) + ")"
        return text
    outcome = str(a.get("outcome"))
    if outcome == "timeout":
        return _T["timeout"].get(lang).format(sent=a.get("sent", 0))
    if outcome == "malformed":
        return _T["malformed"].get(lang).format(n=len(a.get("ignored") or []))
    if outcome.startswith("icmp_") and outcome in _T:
        text = _T[outcome].get(lang)
        icmp = a.get("icmp") or {}
        if icmp.get("from"):
            text += f" ({_T['from'].get(lang)} {icmp['from']})"
        return text
    return str(a.get("detail") or outcome)


def _best_attempt(target: Mapping[str, Any], port: int) -> Mapping[str, Any] | None:
    candidates = [a for a in target.get("attempts") or [] if a.get("port") == port]
    for a in candidates:
        if a.get("answered"):
            return a
    return candidates[0] if candidates else None
