"""ipv4.missing: no IPv4 path to the internet or the target (IPv6-only): the VPN runs over IPv4."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import interfaces as interfaces_probe
from clinicnet.probes import internet as internet_probe
from clinicnet.probes import routes as routes_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="ipv4.missing",
    severity=Severity.ERROR,
    g_refs=("G8",),
    title=Text(
        ja="IPv4でのインターネット接続がありません",
        en="There is no IPv4 connection to the internet",
    ),
    summary=Text(
        ja=(
            "このネットワークでは、従来の方式（IPv4）"
            "でインターネットや接続先に接続できませんでした。"
            "オンライン請求・オンライン資格確認のVPNはIPv4で接続するため、"
            "このままでは利用できません。"
        ),
        en=(
            "This network could not reach the internet or the VPN server with classic IPv4. "
            "The VPN for online billing and online eligibility confirmation connects over "
            "IPv4, so it cannot be used as things stand."
        ),
    ),
    technical=Text(
        ja=(
            "IPv4 の既定経路が無い、または IPv4 "
            "ではインターネット・接続先に到達できませんでした（IPv6 のみの接続）。IPsec+IKE "
            "の VPN は IPv4 で接続します。ガイドでも IPv6 アドレスは不要とされており（G8）、"
            "IPv6 だけでは代わりになりません。"
        ),
        en=(
            "There is no IPv4 default route, or neither the internet nor the target can be "
            "reached over IPv4 (IPv6-only connectivity). The IPsec+IKE VPN runs over IPv4. "
            "The guide says no IPv6 address is needed (G8), and IPv6 alone is no substitute."
        ),
    ),
    next_step=Text(
        ja=(
            "LANケーブルやWi-Fiの接続先、ルータの状態を確認してください。ルータの設定で IPv4 "
            "の接続が無効になっていないかを機器納入元に確認してもらい、"
            "回線自体の障害が疑われる場合は回線事業者（インターネットサービスの契約先）"
            "に問い合わせてください。"
        ),
        en=(
            "Check the LAN cable or the Wi-Fi network and the router. Ask the equipment "
            "vendor (機器納入元) to check that IPv4 is not disabled in the router; if the "
            "line itself seems faulty, contact the ISP (the internet service you have a "
            "contract with)."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    if not ev.measured("interfaces"):
        return None
    ifs = ev.of(interfaces_probe.SPEC)
    routes = ev.of(routes_probe.SPEC)
    inet = ev.of(internet_probe.SPEC)
    no_addr = not ifs.get("has_ipv4")
    no_route = ev.measured("routes") and not routes.get("default_v4")
    v6_only_internet = bool(inet) and not inet.get("ipv4_ok") and inet.get("ipv6_ok")
    if no_addr or (no_route and routes.get("default_v6")) or v6_only_internet:
        return finding(
            FINDING,
            has_ipv4_address=bool(ifs.get("has_ipv4")),
            ipv4_default_route=bool(routes.get("default_v4")),
            internet_ipv4=inet.get("ipv4_ok"),
            internet_ipv6=inet.get("ipv6_ok"),
        )
    return None
