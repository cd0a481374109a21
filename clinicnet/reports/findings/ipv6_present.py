"""ipv6.present: IPv6 is configured: not needed, nothing to switch."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import interfaces as interfaces_probe
from clinicnet.probes import internet as internet_probe
from clinicnet.probes import routes as routes_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="ipv6.present",
    severity=Severity.INFO,
    g_refs=("G8",),
    title=Text(
        ja="IPv6が使われています（対応は不要です）",
        en="IPv6 is configured (nothing to do)",
    ),
    summary=Text(
        ja=(
            "このネットワークでは、IPv6という新しい方式のアドレスも使われています。"
            "VPNの利用にIPv6は必要なく、IPv6への切り替えや設定の変更を行う必要はありません。"
        ),
        en=(
            "This network also uses the newer IPv6 addresses. The VPN does not need IPv6, and "
            "nothing has to be switched or changed because of it."
        ),
    ),
    technical=Text(
        ja=(
            "この PC にグローバルまたは ULA の IPv6 アドレス、あるいは IPv6 "
            "の既定経路があります。ガイドによれば IPv6 アドレスは不要で、将来提供されても "
            "IPv6 に切り替える必要はありません（G8）。IPv4 が IPv6 上で運ばれている場合は "
            "ipv4.over_ipv6 を参照してください。"
        ),
        en=(
            "The PC has a global or ULA IPv6 address or an IPv6 default route. The guide says "
            "no IPv6 address is needed and the clinic need not switch to IPv6 even if it is "
            "offered (G8). If IPv4 is carried over IPv6, see ipv4.over_ipv6."
        ),
    ),
    next_step=Text(
        ja="対応は不要です。",
        en="Nothing to do.",
    ),
)


def check(ev: Evidence) -> Finding | None:
    ifs = ev.of(interfaces_probe.SPEC)
    routes = ev.of(routes_probe.SPEC)
    if ifs.get("has_global_ipv6") or routes.get("default_v6"):
        addrs = [
            a["address"]
            for i in ifs.get("interfaces", [])
            for a in i.get("ipv6", [])
            if a.get("scope") in ("global", "ula")
        ]
        return finding(
            FINDING,
            ipv6_addresses=addrs,
            ipv6_default_route=bool(routes.get("default_v6")),
            internet_ipv6=ev.of(internet_probe.SPEC).get("ipv6_ok"),
        )
    return None
