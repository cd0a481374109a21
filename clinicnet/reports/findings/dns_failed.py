"""dns.failed: names do not resolve although IP connectivity works."""

from __future__ import annotations

from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import dns as dns_probe
from clinicnet.probes import fragments as fragments_probe
from clinicnet.probes import internet as internet_probe
from clinicnet.reports.findings._evidence import ike_answered_any, vpn_up
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="dns.failed",
    severity=Severity.ERROR,
    g_refs=(),
    title=Text(
        ja="名前（ドメイン名）からアドレスを調べられません（DNS）",
        en="Names do not resolve (DNS)",
    ),
    summary=Text(
        ja=(
            "インターネットとの通信自体はできていますが、"
            "「〜.jp」のような名前をアドレスに変換する仕組み（DNS）が働いていません。"
            "このため、名前を使う通信（ホームページや、名前で指定された接続先など）"
            "が失敗します。"
        ),
        en=(
            "The internet connection itself works, but the system that turns names such as "
            '"...jp" into addresses (DNS) does not. Anything that uses names, such as '
            "websites or a VPN server given by name, will fail."
        ),
    ),
    technical=Text(
        ja=(
            "IP アドレスを指定した確認先には到達できる一方で、指定した名前の DNS "
            "解決に失敗しました（タイムアウト、SERVFAIL、NXDOMAIN などは根拠を参照）。VPN "
            "クライアントが接続先をホスト名で指定している場合、IKE を始める前に失敗します。PC "
            "またはルータの DNS サーバ設定、DNS 通信（UDP/TCP 53）"
            "のフィルタを確認する必要があります。"
        ),
        en=(
            "Targets given by IP address are reachable, but the given names did not resolve "
            "(see the evidence for timeouts, SERVFAIL, NXDOMAIN). If the VPN client names its "
            "gateway by host name, it fails before IKE even starts. The DNS server settings "
            "of the PC or the router, and filters on DNS traffic (UDP/TCP 53), need checking."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元に、パソコンとルータの DNS サーバの設定を確認してもらってください。"
            "設定が自動取得のままで問題が続く場合は、"
            "回線事業者（インターネットサービスの契約先）に問い合わせてください。"
        ),
        en=(
            "Ask the equipment vendor (機器納入元) to check the DNS server settings of the PC "
            "and the router. If the settings are automatic and the problem persists, contact "
            "the ISP (the internet service you have a contract with)."
        ),
    ),
)


#: resolver errors that mean "no answer came", as opposed to an answer that said no
_SILENT = {"timeout", "no_response"}


def _silence_explained_by_loss(ev: Evidence, failed: list[Any]) -> bool:
    """Every failed lookup went unanswered, on a path measured to lose packets (``path.lossy``).

    DNS is retried on Windows' schedule within the deadline, but a few exchanges on a line
    losing a fifth of its packets each way can all be lost; an answer that said "no such
    name" or "server failure" is a fault whatever the line, and is never excused here.
    """
    from clinicnet.reports.findings.path_lossy import lossy

    loss = ev.of(fragments_probe.SPEC).get("loss") or {}
    if not failed or not lossy(loss):
        return False
    # the A lookup decides (the VPN runs over IPv4); an AAAA "no_answer" may be a name without one
    return all((n.get("ipv4") or {}).get("error") in _SILENT for n in failed)


def check(ev: Evidence) -> Finding | None:
    dns = ev.of(dns_probe.SPEC)
    inet = ev.of(internet_probe.SPEC)
    if not ev.measured("dns") or dns.get("all_resolved"):
        return None
    if vpn_up(ev) and not inet.get("any_ok"):
        return None  # under a VPN the resolver is often behind the tunnel: by design (G4)
    ip_works = bool(inet.get("ip_literal_ok")) or ike_answered_any(ev)
    if not ip_works:
        return None  # cannot tell a DNS fault from a line fault: internet.down says it
    failed = [n for n in dns.get("names", []) if not n.get("resolved")]
    if _silence_explained_by_loss(ev, failed):
        return None  # a loss is not a block: path.lossy says it
    return finding(
        FINDING,
        names={n["name"]: n["ipv4"].get("error") for n in failed},
        resolvers=dns.get("resolvers", []),
        ip_connectivity="IP-literal check answered" if inet.get("ip_literal_ok") else "VPN gateway answered IKE",
    )
