"""The finding catalogue: every finding id the rules can emit, with its texts.

Ids are stable (ticket systems key on them, see findings.md); texts are written
for a clinic receptionist first (``summary``), with the technical explanation and
the next step for the vendor technician below. Both languages are required for
every entry; a test checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicnet.model import Severity, Text


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    #: the usual severity; a rule may raise or lower it with context (documented here)
    severity: Severity
    #: G-references of findings.md, e.g. ("G1", "G7"); empty where the guide says nothing
    g_refs: tuple[str, ...]
    title: Text
    #: plain words for clinic staff: what it means for them
    summary: Text
    #: for the technician: what was measured and why it matters for IPsec/IKE
    technical: Text
    #: what to do next
    next_step: Text
    #: when the severity differs from ``severity`` (e.g. "error without NAT, info with NAT")
    severity_note: str = ""


# Filled in below; keyed by id.
CATALOGUE: dict[str, CatalogueEntry] = {}


def entry(finding_id: str) -> CatalogueEntry:
    """The catalogue entry for an id; a KeyError here is a bug in a rule."""
    return CATALOGUE[finding_id]


def get(finding_id: str) -> CatalogueEntry | None:
    """The entry or None: renderers use this so that a result file written by a
    newer clinicnet (with ids this one does not know) still renders."""
    return CATALOGUE.get(finding_id)


def _add(e: CatalogueEntry) -> None:
    if e.id in CATALOGUE:
        raise ValueError(f"duplicate catalogue id {e.id}")
    CATALOGUE[e.id] = e


# ---------------------------------------------------------------------------
# The entries. Japanese is written first and is the reference; the English says
# the same thing. Contacts follow the guide: the equipment vendor (機器納入元,
# G3) for anything in the clinic, the VPN service provider (MIND SecureMinder,
# FENICS, G2) for the VPN side, the ISP only for faults of the line itself.
# ---------------------------------------------------------------------------

_add(
    CatalogueEntry(
        id="ike.udp500.blocked",
        severity=Severity.ERROR,
        g_refs=("G1",),
        title=Text(
            ja="VPNの接続開始に使う通信（IKE・UDP 500番）に応答がありません",
            en="The VPN's opening exchange (IKE on UDP port 500) gets no answer",
        ),
        summary=Text(
            ja=(
                "オンライン請求・オンライン資格確認のVPNは、"
                "最初に「IKE」という手順で接続先とやり取りをして接続を始めます。この通信（UDP "
                "500番）に接続先から応答がありませんでした。"
                "このままではVPNを接続できない可能性が高い状態です。"
                "院内のルータやセキュリティ機器の設定で止められていることが多く、"
                "設定の変更で解決できる場合があります。"
            ),
            en=(
                "The VPN for online billing and online eligibility confirmation starts every "
                "connection with an exchange called IKE. The VPN server did not answer this "
                "exchange (UDP port 500). As things stand the VPN will most likely not connect. "
                "The cause is often a setting in the clinic's router or security equipment, which "
                "can usually be changed."
            ),
        ),
        technical=Text(
            ja=(
                "接続先へ UDP 500 番で IKE の要求（IKE_SA_INIT 等）を送りましたが、"
                "応答がありませんでした。同じ接続先が他の方法（UDP 4500、ICMP、TCP のいずれか）"
                "には応答している、またはどの接続先からも UDP 500 の応答が無いため、経路上で UDP "
                "500 が遮断されていると考えられます（ルータ・UTM のフィルタ、IPsec "
                "パススルー機能の不具合、PC のセキュリティソフト等）。IPsec+IKE "
                "方式では接続の開始に UDP 500 の往復が必須で、この方式以外では動作しません（G1）。"
            ),
            en=(
                "An IKE request (IKE_SA_INIT or equivalent) sent to the target on UDP 500 got no "
                "answer, while the same target answered otherwise (UDP 4500, ICMP or TCP), or no "
                "target answered on UDP 500 at all. UDP 500 is therefore most likely filtered on "
                "the path: a router/UTM filter, a broken IPsec pass-through feature, or security "
                "software on the PC. IPsec+IKE needs a UDP 500 round trip to start, and the "
                "systems work only over IPsec+IKE (G1)."
            ),
        ),
        next_step=Text(
            ja=(
                "機器納入元に本レポートを渡し、院内のルータ・ファイアウォール・PC "
                "のセキュリティソフトで UDP 500 番（送信とその応答）"
                "が許可されているか確認を依頼してください。ルータに「IPsec "
                "パススルー」などの設定がある場合は、その設定も確認します。"
                "院内の設定に問題が無い場合は、VPN サービス提供事業者（MIND SecureMinder、FENICS "
                "など）に接続先の状態を確認してください。回線側での遮断が疑われる場合は、"
                "機器納入元から回線事業者へ問い合わせてください。"
            ),
            en=(
                "Give this report to the equipment vendor (機器納入元) and ask them to check that "
                "the clinic's router, firewall and the PC's security software allow UDP port 500 "
                '(outgoing and the replies). If the router has an "IPsec pass-through" or '
                "similar setting, check it too. If the clinic's equipment is fine, ask the VPN "
                "service provider (MIND SecureMinder, FENICS, etc.) about the state of the "
                "target. If the line itself is suspected, the equipment vendor can raise a "
                "technical question with the ISP."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="ike.udp4500.blocked",
        severity=Severity.ERROR,
        g_refs=("G1", "G7"),
        title=Text(
            ja="NAT越えに使う通信（UDP 4500番）に応答がありません",
            en="NAT traversal traffic (UDP port 4500) gets no answer",
        ),
        summary=Text(
            ja=(
                "院内からインターネットへ出るときは、ルータがアドレスを変換（NAT）"
                "しているのが一般的です。その場合、VPNは「UDP 4500番」という通信を使います。"
                "この通信に接続先から応答がありませんでした。"
                "ルータがアドレス変換をしている環境では、"
                "このままではVPNを接続できない可能性が高い状態です。"
            ),
            en=(
                "Clinic networks usually reach the internet through a router that translates "
                "addresses (NAT). Behind such a router the VPN uses UDP port 4500. The VPN server "
                "did not answer on this port. Where the router translates addresses, the VPN will "
                "most likely not connect as things stand."
            ),
        ),
        technical=Text(
            ja=(
                "接続先の UDP 4500 番（NAT-T: IKE と ESP の UDP カプセル化）に IKE "
                "の要求を送りましたが、応答がありませんでした。NAT 配下では IKE は NAT 検出の後に "
                "UDP 4500 番へ移り、ESP も UDP 4500 にカプセル化されるため、4500 "
                "番が通らないと認証（IKE_AUTH）以降もデータ通信も成立しません（IPsec+IKE "
                "以外の方式はありません, G1）。グローバル IP "
                "アドレスは不要ですが（G7）、その代わりに NAT-T が前提になります。NAT "
                "が無い環境では UDP 500 と ESP で接続できる可能性があるため、"
                "重要度を「注意」としています。"
            ),
            en=(
                "An IKE request sent to the target's UDP 4500 (NAT-T: UDP encapsulation of IKE "
                "and ESP) got no answer. Behind NAT, IKE moves to UDP 4500 after NAT detection "
                "and ESP is encapsulated in UDP 4500, so without 4500 neither authentication "
                "(IKE_AUTH) nor any data can pass, and there is no alternative to IPsec+IKE (G1). "
                "No global IP address is needed (G7), but NAT-T "
                "is then required. Without NAT, UDP 500 plus plain ESP may still work, so the "
                "severity is lowered to warning there."
            ),
        ),
        next_step=Text(
            ja=(
                "機器納入元に、院内のルータ・ファイアウォール・PC のセキュリティソフトで UDP 4500 "
                "番（送信とその応答）が許可されているか確認を依頼してください。ルータが 2 "
                "台以上ある構成では、すべての機器を確認します。院内の設定に問題が無い場合は、VPN "
                "サービス提供事業者（MIND SecureMinder、FENICS など）に確認してください。"
            ),
            en=(
                "Ask the equipment vendor (機器納入元) to check that the clinic's router, "
                "firewall and the PC's security software allow UDP port 4500 (outgoing and the "
                "replies). Where there are two or more routers, check every one of them. If the "
                "clinic's equipment is fine, ask the VPN service provider (MIND SecureMinder, "
                "FENICS, etc.)."
            ),
        ),
        severity_note="error when NAT is present (NAT-T needs UDP 4500), otherwise warning",
    )
)

_add(
    CatalogueEntry(
        id="ike.unreachable",
        severity=Severity.ERROR,
        g_refs=("G1",),
        title=Text(
            ja="VPNの接続先から何も応答がありません",
            en="The VPN server does not answer at all",
        ),
        summary=Text(
            ja=(
                "VPNの接続先に対していくつかの方法で通信を試みましたが、"
                "どれにも応答がありませんでした。接続先の指定の誤り、院内ネットワークの設定、"
                "または接続先側の停止が考えられます。"
            ),
            en=(
                "Several kinds of traffic were sent to the VPN server and none got an answer. The "
                "address may be wrong, the clinic network may block it, or the server side may be "
                "down."
            ),
        ),
        technical=Text(
            ja=(
                "対象の接続先は IKE（UDP 500/4500）、ICMP、TCP のいずれにも応答しませんでした。"
                "経路が無い、対象が停止している、またはすべてが遮断されている状態です。VPN "
                "の接続先には ICMP や TCP に応答しないものもあるため、"
                "まず診断に指定した接続先（アドレス・名前）が正しいかを確認する必要があります。"
                "IPsec+IKE で接続先と通信できない限り、システムは動作しません（G1）。"
            ),
            en=(
                "The target answered neither IKE (UDP 500/4500) nor ICMP nor TCP: there is no "
                "route, the target is down, or everything is filtered. Some VPN gateways never "
                "answer ICMP or TCP, so first make sure the target given to the diagnosis "
                "(address or name) is right. The systems cannot work without an IPsec+IKE "
                "exchange with the target (G1)."
            ),
        ),
        next_step=Text(
            ja=(
                "診断で指定した接続先が正しいかを、機器納入元または VPN サービス提供事業者（MIND "
                "SecureMinder、FENICS など）に確認してください。正しい場合は、"
                "院内ルータの設定を機器納入元に、"
                "接続先の稼働状況をサービス提供事業者に確認してください。"
            ),
            en=(
                "Check with the equipment vendor (機器納入元) or the VPN service provider (MIND "
                "SecureMinder, FENICS, etc.) that the target given to the diagnosis is right. If "
                "it is, have the equipment vendor check the clinic router's settings and ask the "
                "service provider whether the target is up."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="esp.blocked",
        severity=Severity.ERROR,
        g_refs=("G1",),
        title=Text(
            ja="暗号化したデータを運ぶ通信（ESP）が通りません",
            en="Encrypted VPN data (ESP) does not get through",
        ),
        summary=Text(
            ja=(
                "VPNで実際のデータを運ぶ「ESP」という種類の通信が、"
                "確認用の相手先まで届きませんでした。院内のルータがアドレス変換（NAT）"
                "をしている場合は、VPNがこのデータを別の形（UDP 4500番）"
                "に包んで運ぶため問題になりません。ルータがアドレス変換をしていない場合は、"
                "このままではVPNで通信できません。"
            ),
            en=(
                "The kind of traffic that carries the VPN's actual data (ESP) did not reach the "
                "test server. If the clinic's router translates addresses (NAT), the VPN wraps "
                "this data in UDP port 4500 instead and this does not matter. Without address "
                "translation, the VPN cannot carry data as things stand."
            ),
        ),
        technical=Text(
            ja=(
                "IP プロトコル 50（ESP）のパケットがリフレクタに届きませんでした。NAT が無い場合、"
                "IPsec のデータは ESP のまま流れるため、ESP "
                "が通ることが必須です（G1、重要度「エラー」）。NAT がある場合は NAT-T により ESP が "
                "UDP 4500 にカプセル化されるため、生の ESP "
                "が遮断されていても影響はありません（重要度「情報」）。TCP/UDP "
                "以外のプロトコルを通さない、または ESP を 1 "
                "セッションしか通さない小規模ルータもあります。"
            ),
            en=(
                "Packets of IP protocol 50 (ESP) did not reach the reflector. Without NAT, IPsec "
                "data travels as plain ESP, so ESP must pass (G1; severity error). With NAT, NAT-T "
                "encapsulates ESP in UDP 4500 and blocked plain ESP does no harm (severity info). "
                "Some small routers pass nothing but TCP and UDP, or pass only one ESP session."
            ),
        ),
        next_step=Text(
            ja=(
                "ルータがアドレス変換をしている構成では、対応は不要です（UDP 4500 "
                "番の結果を確認してください）。アドレス変換をしていない構成では、機器納入元に、"
                "ファイアウォールで IP プロトコル 50（ESP）を許可するか、NAT トラバーサル（UDP "
                "4500）で接続する設定にできるか相談してください。"
            ),
            en=(
                "Behind NAT nothing needs to be done (check the UDP 4500 result instead). Without "
                "NAT, ask the equipment vendor (機器納入元) to allow IP protocol 50 (ESP) in the "
                "firewall, or whether the VPN can be set up to use NAT traversal (UDP 4500)."
            ),
        ),
        severity_note=(
            "error when there is no NAT (plain ESP must pass); info when NAT is present (NAT-T "
            "carries ESP inside UDP 4500)"
        ),
    )
)

_add(
    CatalogueEntry(
        id="nat.present",
        severity=Severity.INFO,
        g_refs=("G7",),
        title=Text(
            ja="ルータによるアドレス変換（NAT）があります（問題ありません）",
            en="A router translates addresses (NAT): this is fine",
        ),
        summary=Text(
            ja=(
                "このパソコンは、ルータのアドレス変換（NAT）"
                "を通してインターネットに接続しています。一般的な構成で、"
                "これ自体はVPNの利用の妨げにはなりません。"
                "グローバルIPアドレスの契約も必要ありません。"
            ),
            en=(
                "This PC reaches the internet through a router that translates addresses (NAT). "
                "This is the usual set-up and does not in itself stand in the way of the VPN. No "
                "global IP address needs to be ordered."
            ),
        ),
        technical=Text(
            ja=(
                "IKE の NAT 検出（NAT_DETECTION_SOURCE_IP/DESTINATION_IP）"
                "またはリフレクタが見た送信元アドレスから、経路上に NAT があると判定しました。NAT "
                "配下では IKE は UDP 4500 に移り、ESP は UDP 4500 にカプセル化されます（NAT-T）。"
                "ガイドのとおりグローバル IP アドレスは不要ですが（G7）、UDP 4500 "
                "が通ることが前提になります。"
            ),
            en=(
                "IKE NAT detection (NAT_DETECTION_SOURCE_IP/DESTINATION_IP) or the source address "
                "seen by the reflector shows a NAT on the path. Behind NAT, IKE moves to UDP 4500 "
                "and ESP is encapsulated in UDP 4500 (NAT-T). As the guide says, no global IP "
                "address is needed (G7), but UDP 4500 must pass."
            ),
        ),
        next_step=Text(
            ja="対応は不要です。UDP 4500 番の結果もあわせてご確認ください。",
            en="Nothing to do. Check the UDP 4500 result as well.",
        ),
    )
)

_add(
    CatalogueEntry(
        id="nat.double",
        severity=Severity.WARNING,
        g_refs=("G9",),
        title=Text(
            ja="ルータが二重になっています（二重NAT）",
            en="Two routers in a row translate addresses (double NAT)",
        ),
        summary=Text(
            ja=(
                "インターネットまでの間に、アドレス変換をする機器が2台以上あります。たとえば、"
                "Wi-Fi機能付きのケーブルモデムの後ろに、"
                "さらに院内のルータがつながっている構成です。"
                "この構成でもVPNは接続できることが多いですが、"
                "すべての機器で動作が確認されているわけではありません。問題が起きた場合は、"
                "機器の構成の見直しが必要になることがあります。"
            ),
            en=(
                "There are two or more address-translating devices between this PC and the "
                "internet, for example the clinic's router plugged into a cable modem with "
                "built-in Wi-Fi that also acts as a router. The VPN often works like this, but "
                "not every combination of devices has been verified. If problems occur, the "
                "set-up of the devices may have to change."
            ),
        ),
        technical=Text(
            ja=(
                "NAT 層が 2 つ以上検出されました（経路上のプライベート/CGN アドレスのホップ、UPnP "
                "で得た WAN 側アドレス、リフレクタが見たアドレスの比較による）。ガイドでは、"
                "ルータ型の接続を無線 LAN 内蔵ケーブルモデムの LAN ポートに接続しても VPN "
                "接続自体は可能だが、全機器での動作検証はしていない、とされています（G9）。二重 "
                "NAT では UDP マッピングのタイムアウトが短くなる、IPsec "
                "パススルーが干渉するなどの問題が起きやすくなります。"
            ),
            en=(
                "Two or more NAT layers were detected (private/CGN hops on the path, the WAN "
                "address reported by UPnP, and the address seen by the reflector). The guide says "
                "a router-type connection on the LAN port of a cable modem with built-in Wi-Fi "
                "can carry the VPN but has not been verified with every device (G9). Double NAT "
                "makes short UDP mapping timeouts and interfering IPsec pass-through features "
                "more likely."
            ),
        ),
        next_step=Text(
            ja=(
                "現在VPNが問題なく使えていれば、そのまま使って構いません。"
                "接続できない・不安定などの問題がある場合は、機器納入元に相談してください。"
                "ガイドでは、問題が起きた場合に該当機器の撤去や交換、"
                "Wi-Fiなしのサービスへの変更が必要になる場合があるとされています。"
            ),
            en=(
                "If the VPN works without problems, it can stay as it is. If it does not connect "
                "or is unstable, consult the equipment vendor (機器納入元). The guide says that "
                "on trouble the devices may have to be removed or exchanged, or the clinic may "
                "have to move to a service without Wi-Fi."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="nat.cgn",
        severity=Severity.INFO,
        g_refs=("G7",),
        title=Text(
            ja="通信事業者の共有アドレス（CGN）を経由しています",
            en="The connection goes through the carrier's shared addresses (CGN)",
        ),
        summary=Text(
            ja=(
                "インターネットへの接続に、通信事業者が複数のお客様で共有するアドレスが使われてい"
                "ます。VPNの利用にグローバルIPアドレスは必要ないため、通常は問題ありません。"
            ),
            en=(
                "The internet connection uses addresses that the carrier shares among several "
                "customers. The VPN does not need a global IP address, so this is normally fine."
            ),
        ),
        technical=Text(
            ja=(
                "経路上または WAN 側に 100.64.0.0/10（RFC 6598 の共有アドレス空間）"
                "のアドレスがあり、キャリアグレード NAT の配下と判定しました。IPsec は NAT-T（UDP "
                "4500）で NAT を越えるため、原則として動作します（G7: グローバル IP は不要）。CGN "
                "の UDP マッピングのタイムアウトが短い場合、"
                "通信の無い時間が続くとトンネルが切れることがあります。"
            ),
            en=(
                "An address from 100.64.0.0/10 (RFC 6598 shared address space) was seen on the "
                "path or on the WAN side: the connection is behind carrier-grade NAT. IPsec "
                "crosses NAT with NAT-T (UDP 4500), so this normally works (G7: no global IP "
                "needed). If the CGN's UDP mapping timeout is short, idle tunnels can drop."
            ),
        ),
        next_step=Text(
            ja=(
                "対応は不要です。しばらく使わないとVPNが切れる症状がある場合は、機器納入元に "
                "NAT-T キープアライブの間隔を確認してもらってください。"
            ),
            en=(
                "Nothing to do. If the VPN drops after a while without traffic, ask the equipment "
                "vendor (機器納入元) to check the NAT-T keep-alive interval."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="nat.port_not_preserved",
        severity=Severity.INFO,
        g_refs=("G7",),
        title=Text(
            ja="ルータが通信のポート番号を書き換えています",
            en="The router rewrites the source port",
        ),
        summary=Text(
            ja=(
                "ルータがアドレス変換の際に、通信の番号（ポート番号）も書き換えています。"
                "よくある動作で、VPNはこれに対応する方式（NATトラバーサル）で接続するため、"
                "通常は問題ありません。"
            ),
            en=(
                "When translating addresses, the router also changes the connection's port "
                "number. This is common, and the VPN handles it by using NAT traversal, so it is "
                "normally fine."
            ),
        ),
        technical=Text(
            ja=(
                "送信元ポート 500 で送った IKE パケットが、NAT "
                "の外側では別の送信元ポートになっていました（ポート非保存型 NAT）。この場合も IKE "
                "は NAT 検出により UDP 4500 の NAT-T に切り替わるため、NAT-T "
                "が必須になります（G7）。NAT-T を使えない機器・設定や、送信元ポート 500 "
                "を前提とするフィルタでは接続に失敗します。"
            ),
            en=(
                "An IKE packet sent from source port 500 left the NAT with a different source "
                "port (a NAT that does not preserve ports). IKE then switches to NAT-T on UDP "
                "4500 after NAT detection, so NAT-T is mandatory (G7). Equipment or "
                "configurations without NAT-T, and filters that expect source port 500, will fail."
            ),
        ),
        next_step=Text(
            ja=(
                "対応は不要です。UDP 4500 番が通ること、VPN の設定で NAT "
                "トラバーサルが有効になっていることを機器納入元に確認してもらうと確実です。"
            ),
            en=(
                "Nothing to do. To be sure, ask the equipment vendor (機器納入元) to confirm that "
                "UDP 4500 passes and that NAT traversal is enabled in the VPN configuration."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
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
)

_add(
    CatalogueEntry(
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
)

_add(
    CatalogueEntry(
        id="vpn.up_internet_down",
        severity=Severity.INFO,
        g_refs=("G4",),
        title=Text(
            ja="VPN接続中のため、一般のインターネットは使えません（仕様です）",
            en="While the VPN is connected, general internet is unavailable (by design)",
        ),
        summary=Text(
            ja=(
                "現在VPNが接続されています。VPNの接続中は、"
                "一般のホームページやメールなどのインターネットは使えません。"
                "これはVPNの仕様によるもので、回線の故障ではありません。"
                "インターネットを使うときは、機器納入元から案内された方法（VPNを切断するなど）"
                "に従ってください。"
            ),
            en=(
                "The VPN is connected right now. While it is connected, ordinary websites, e-mail "
                "and other internet services cannot be used. This is how the VPN is designed; the "
                "line is not broken. To use the internet, follow the procedure the equipment "
                "vendor gave you (for example, disconnect the VPN first)."
            ),
        ),
        technical=Text(
            ja=(
                "VPN のインターフェースまたは経路が有効な状態で、"
                "一般のインターネット確認先に到達できませんでした。ガイドによれば、このシステムで "
                "VPN 接続を行っている間は一般のインターネットアクセスはできず、これは VPN "
                "ネットワークの仕様で接続障害ではありません（G4）。"
                "この状態で測定したインターネット関連の結果（DNS、到達性）は、"
                "回線の評価には使えません。"
            ),
            en=(
                "A VPN interface or route is active and the general internet check targets could "
                "not be reached. The guide says that while the VPN of these systems is connected, "
                "general internet access is impossible, and that this is the VPN's specification, "
                "not a line fault (G4). Internet-related results measured in this state (DNS, "
                "reachability) say nothing about the line."
            ),
        ),
        next_step=Text(
            ja=(
                "対応は不要です。回線やインターネットの状態を診断したい場合は、VPNを切断してから、"
                "もう一度この診断を実行してください。"
            ),
            en=(
                "Nothing to do. To diagnose the line and the internet connection, disconnect the "
                "VPN and run this diagnosis again."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="internet.down",
        severity=Severity.ERROR,
        g_refs=("G6",),
        title=Text(
            ja="インターネットに接続できません",
            en="The internet cannot be reached",
        ),
        summary=Text(
            ja=(
                "VPNが接続されていない状態で、インターネットにも接続できませんでした。"
                "回線・ルータ・ケーブルなどのどこかに問題がある可能性があります。"
                "VPNを利用するには、まずインターネット回線が正常に使えることが必要です。"
            ),
            en=(
                "The VPN is not connected, and the internet cannot be reached either. Something "
                "may be wrong with the line, the router or a cable. The VPN needs a working "
                "internet line first."
            ),
        ),
        technical=Text(
            ja=(
                "VPN 接続が無い状態で、一般のインターネット確認先にいずれも到達できませんでした（"
                "根拠を参照）。IPsec+IKE を利用する前提として、"
                "開通済みの正常な回線が必要です（G6）。VPN による仕様上の制限（G4）ではなく、"
                "回線または院内機器の障害と考えられます。"
            ),
            en=(
                "With no VPN connected, none of the general internet check targets could be "
                "reached (see the evidence). IPsec+IKE presupposes a working, activated line "
                "(G6). This is not the VPN's by-design restriction (G4) but a fault of the line "
                "or of the clinic's equipment."
            ),
        ),
        next_step=Text(
            ja=(
                "ルータやモデムの電源とランプ、LANケーブルを確認し、"
                "改善しなければルータとモデムを再起動してください（他の機器の業務への影響に注意し"
                "てください）。それでも改善しない場合は、"
                "回線事業者（インターネットサービスの契約先）"
                "に回線の障害として問い合わせてください。院内機器の設定が原因と思われる場合は、"
                "機器納入元に相談してください。"
            ),
            en=(
                "Check the power and lamps of the router and the modem and the LAN cables; if "
                "that does not help, restart the router and the modem (mind other equipment that "
                "is in use). If the internet is still down, report a line fault to the ISP (the "
                "internet service you have a contract with). If the clinic's equipment settings "
                "seem to be the cause, consult the equipment vendor (機器納入元)."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
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
)

_add(
    CatalogueEntry(
        id="fragments.dropped",
        severity=Severity.WARNING,
        g_refs=("G11",),
        title=Text(
            ja="大きなデータを分割した通信（IPフラグメント）が通りません",
            en="Fragmented IP packets do not get through",
        ),
        summary=Text(
            ja=(
                "大きなデータを分割して送る通信が、途中で捨てられています。"
                "VPNの接続時には電子証明書を含む大きなデータをやり取りするため、"
                "接続に失敗することがあります。VPN機器やソフトウェアの設定で回避できる場合がありま"
                "す。"
            ),
            en=(
                "Large data sent in pieces is being dropped on the way. When the VPN connects it "
                "exchanges large messages containing electronic certificates, so connecting can "
                "fail. A setting in the VPN equipment or software can often avoid this."
            ),
        ),
        technical=Text(
            ja=(
                "断片化された IP データグラム（フラグメント）がリフレクタに届きませんでした。"
                "このシステムは IPsec+IKE と電子証明書を併用しており（G11）、証明書を含む IKE "
                "メッセージ（IKEv2 の IKE_AUTH など）は MTU を超えて IP 断片化されやすく、"
                "フラグメントが捨てられると認証の段階でタイムアウトします。IKEv2 "
                "のフラグメンテーション（RFC 7383）や IKEv1 "
                "のベンダー拡張のフラグメンテーションを有効にすると、IP 断片化を避けられます。"
            ),
            en=(
                "Fragmented IP datagrams did not reach the reflector. The system combines "
                "IPsec+IKE with electronic certificates (G11); IKE messages carrying certificates "
                "(such as IKEv2 IKE_AUTH) easily exceed the MTU and are IP-fragmented, so dropped "
                "fragments make authentication time out. IKEv2 fragmentation (RFC 7383) or the "
                "IKEv1 vendor-extension fragmentation avoids IP fragmentation."
            ),
        ),
        next_step=Text(
            ja=(
                "機器納入元または VPN サービス提供事業者（MIND SecureMinder、FENICS など）に、VPN "
                "機器・ソフトウェアで「IKE フラグメンテーション」を有効にできるか相談してください"
                "。あわせて、院内のルータやセキュリティ機器に IP "
                "フラグメントを捨てる設定が無いか、機器納入元に確認を依頼してください。"
            ),
            en=(
                "Ask the equipment vendor (機器納入元) or the VPN service provider (MIND "
                "SecureMinder, FENICS, etc.) whether IKE fragmentation can be enabled in the VPN "
                "equipment or software. Also ask the equipment vendor to check that the clinic's "
                "router and security appliances do not drop IP fragments."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="mtu.small",
        severity=Severity.WARNING,
        g_refs=(),
        title=Text(
            ja="一度に送れるデータの大きさ（MTU）が小さい経路です",
            en="The path MTU is small",
        ),
        summary=Text(
            ja=(
                "インターネットまでの経路で、一度に送れるデータの大きさが通常（1500バイト）"
                "より小さくなっています。PPPoE接続などでよくあることで通常は自動で調整されますが、"
                "VPNで大きなデータを送るときに通信が止まることがあります。"
            ),
            en=(
                "On the way to the internet, the largest packet that can be sent in one piece is "
                "smaller than usual (1500 bytes). This is common with PPPoE and is normally "
                "adjusted automatically, but large transfers over the VPN can stall."
            ),
        ),
        technical=Text(
            ja=(
                "経路 MTU が 1500 未満でした（PPPoE の 1492、1454 など）、または PMTU "
                "ブラックホール（DF 付きの大きなパケットが捨てられ、ICMP Fragmentation Needed / "
                "Packet Too Big が返らない）を検出しました。IPsec は ESP・NAT-T "
                "のヘッダでさらに数十バイトを使うため、トンネル内の TCP が止まる、証明書を含む "
                "IKE メッセージが届かない、といった症状の原因になります。"
            ),
            en=(
                "The path MTU is below 1500 (e.g. 1492 or 1454 with PPPoE), or a PMTU black hole "
                "was detected (large packets with DF set vanish and no ICMP Fragmentation Needed "
                "/ Packet Too Big comes back). IPsec adds tens of bytes of ESP and NAT-T headers "
                "on top, so TCP inside the tunnel can stall and IKE messages with certificates "
                "can fail to arrive."
            ),
        ),
        next_step=Text(
            ja=(
                "機器納入元に、VPN 機器・ルータでの MTU や TCP MSS の調整（トンネル内の MSS "
                "クランプなど）と、ICMP（Fragmentation Needed / Packet Too Big）"
                "を遮断する設定が無いかの確認を依頼してください。"
            ),
            en=(
                "Ask the equipment vendor (機器納入元) to adjust the MTU or TCP MSS on the VPN "
                "equipment and router (e.g. MSS clamping inside the tunnel) and to check that "
                "ICMP Fragmentation Needed / Packet Too Big is not blocked."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="link.slow",
        severity=Severity.WARNING,
        g_refs=("G7",),
        title=Text(
            ja="パソコンの接続速度が推奨（100Mbps）を下回っています",
            en="The PC's link speed is below the recommended 100 Mbps",
        ),
        summary=Text(
            ja=(
                "このパソコンとネットワーク機器の間の接続速度が、推奨される速さ（100Mbps）"
                "より遅くなっています。VPNは動作する可能性がありますが、"
                "データの送受信に時間がかかることがあります。"
            ),
            en=(
                "The connection between this PC and the network equipment is slower than the "
                "recommended 100 Mbps. The VPN may work, but sending and receiving data can take "
                "longer."
            ),
        ),
        technical=Text(
            ja=(
                "PC のネットワークインターフェースのリンク速度が 100 Mbps 未満でした（根拠を参照）"
                "。ガイドでは通信速度の面から、ケーブルモデムでは 120 Mbps 級、光では 100 Mbps "
                "以上のサービスが勧められています（G7）。ここで測ったのは PC のリンク速度で、"
                "回線の実効速度ではありません。10 Mbps でのリンク、古い・傷んだケーブルやハブ、"
                "Wi-Fi の低い接続速度などが原因として考えられます。"
            ),
            en=(
                "The link speed of the PC's network interface is below 100 Mbps (see the "
                "evidence). For speed the guide recommends 120 Mbps class service on cable modems "
                "and 100 Mbps or more on fibre (G7). This measures the PC's link, not the line's "
                "throughput. Likely causes: a 10 Mbps link, an old or damaged cable or hub, or a "
                "low Wi-Fi rate."
            ),
        ),
        next_step=Text(
            ja=(
                "LANケーブル（カテゴリ5e以上）やハブの交換、"
                "Wi-Fiの場合は有線接続への変更を検討してください。"
                "判断が難しい場合は機器納入元に相談してください。"
            ),
            en=(
                "Consider replacing the LAN cable (category 5e or better) or the hub, or, on "
                "Wi-Fi, connecting by cable. If unsure, consult the equipment vendor (機器納入元)."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="wifi.client",
        severity=Severity.INFO,
        g_refs=("G9",),
        title=Text(
            ja="このパソコンはWi-Fi（無線LAN）で接続しています",
            en="This PC is connected over Wi-Fi",
        ),
        summary=Text(
            ja=(
                "このパソコンは無線（Wi-Fi）でネットワークに接続しています。"
                "VPNは使えることが多いですが、電波の状態によって通信が不安定になることがあります。"
                "問題がある場合は、有線（LANケーブル）での接続をお勧めします。"
            ),
            en=(
                "This PC is connected to the network wirelessly (Wi-Fi). The VPN usually works, "
                "but the connection can become unstable depending on the radio conditions. If "
                "there are problems, a wired connection (LAN cable) is recommended."
            ),
        ),
        technical=Text(
            ja=(
                "既定経路のインターフェースが無線 LAN でした。Wi-Fi "
                "はリンク速度・遅延・パケット損失が変動しやすく、IKE の再送や DPD "
                "によるトンネル切断の原因になることがあります。ガイドは Wi-Fi 付きの機器（無線 "
                "LAN 内蔵ケーブルモデム、レンタル Wi-Fi ルータ）について、"
                "全機器での動作検証はしていないとしています（G9）。"
            ),
            en=(
                "The default-route interface is wireless. Wi-Fi link speed, latency and loss "
                "vary, which can cause IKE retransmissions and tunnel drops by DPD. The guide "
                "says equipment with Wi-Fi (cable modems with built-in Wi-Fi, rented Wi-Fi "
                "routers) has not been verified with every device (G9)."
            ),
        ),
        next_step=Text(
            ja=(
                "VPNが安定して使えていれば、対応は不要です。接続が切れるなどの問題がある場合は "
                "LAN ケーブルでの接続を試し、改善しなければ機器納入元に相談してください。"
            ),
            en=(
                "If the VPN is stable, nothing to do. If it drops or misbehaves, try a LAN cable; "
                "if that does not help, consult the equipment vendor (機器納入元)."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="privileges.limited",
        severity=Severity.INFO,
        g_refs=(),
        title=Text(
            ja="管理者権限なしで実行したため、一部の確認を省略しました",
            en="Run without administrator rights: some checks were skipped",
        ),
        summary=Text(
            ja=(
                "この診断は管理者権限なしで実行されたため、"
                "一部の詳しい確認（暗号化データの通信や、分割された通信の確認など）"
                "を行っていません。省略した項目は「測定できなかった項目」に記載しています。"
                "より正確に診断するには、管理者として実行してください。"
            ),
            en=(
                "This diagnosis ran without administrator rights, so some detailed checks (such "
                "as encrypted VPN data and fragmented packets) were not done. The skipped items "
                'are listed under "Not measured". For a complete diagnosis, run it as '
                "administrator."
            ),
        ),
        technical=Text(
            ja=(
                "raw ソケットを必要とするプローブ（ESP、IP フラグメント、一部の ICMP・経路 MTU "
                "の測定など）をスキップしました。"
                "スキップした項目は「測定できなかった項目」に記載しており、"
                "問題が無いことを意味するものではありません。"
            ),
            en=(
                "Probes that need raw sockets (ESP, IP fragments, some ICMP and path-MTU "
                'measurements) were skipped. They are listed under "Not measured"; a skipped '
                "probe does not mean there is no problem."
            ),
        ),
        next_step=Text(
            ja=(
                "可能であれば、管理者として実行して（Windows "
                "では右クリックして「管理者として実行」）もう一度診断してください。"
                "管理者のパスワードが分からない場合は、機器納入元に相談してください。"
            ),
            en=(
                "If possible, run the diagnosis again as administrator (on Windows: right-click, "
                '"Run as administrator"). If you do not have the administrator password, '
                "consult the equipment vendor (機器納入元)."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="ipv4.over_ipv6",
        severity=Severity.WARNING,
        g_refs=("G8",),
        title=Text(
            ja="IPv4がIPv6の上で運ばれる方式（v6プラス、transixなど）です",
            en="IPv4 is carried over IPv6 (MAP-E such as v6プラス, DS-Lite such as transix)",
        ),
        summary=Text(
            ja=(
                "この回線では、従来のIPv4の通信がIPv6の仕組みの上で運ばれています（v6プラスやtrans"
                "ixなどの方式）。この方式ではアドレスを他のお客様と共有し、"
                "使える通信に制限があるため、VPNが接続できない、または不安定になることがあります。"
            ),
            en=(
                "On this line, classic IPv4 traffic is carried over IPv6 (services such as "
                "v6プラス or transix). The address is shared with other customers and the usable "
                "traffic is restricted, so the VPN may fail to connect or be unstable."
            ),
        ),
        technical=Text(
            ja=(
                "IPv4 の外部アドレスや経路から、MAP-E（v6プラスなど）または DS-Lite（transix "
                "など）による IPv4 over IPv6 と判定しました。IPv4 アドレスは共有され、MAP-E "
                "では使えるポートの範囲も制限されます。生の ESP はこれらの方式を通れず、"
                "通る可能性があるのは NAT-T（UDP 4500）だけです。この方式で IPsec "
                "を正しく扱えないルータもあります。VPN に IPv6 は不要です（G8）。"
            ),
            en=(
                "The external IPv4 address and routes show IPv4 over IPv6: MAP-E (e.g. v6プラス) "
                "or DS-Lite (e.g. transix). The IPv4 address is shared and MAP-E also restricts "
                "the usable port set. Plain ESP cannot pass these mechanisms; only NAT-T (UDP "
                "4500) can, and some routers break IPsec in this mode. The VPN does not need IPv6 "
                "(G8)."
            ),
        ),
        next_step=Text(
            ja=(
                "機器納入元に本レポートを渡し、この接続方式で VPN（NAT トラバーサル）"
                "が動作するか確認を依頼してください。動作しない場合は、IPv4 over IPv6 を使わない "
                "IPv4 の接続方式（PPPoE など）に変更できるか、"
                "回線事業者・プロバイダに相談してください。"
            ),
            en=(
                "Give this report to the equipment vendor (機器納入元) and ask them to check that "
                "the VPN (with NAT traversal) works with this connection type. If it does not, "
                "ask the ISP or provider whether an IPv4 connection without IPv4-over-IPv6 (such "
                "as PPPoE) is available."
            ),
        ),
    )
)

_add(
    CatalogueEntry(
        id="clock.skew",
        severity=Severity.WARNING,
        g_refs=("G11",),
        title=Text(
            ja="パソコンの時計がずれています",
            en="The PC's clock is off",
        ),
        summary=Text(
            ja=(
                "このパソコンの時計が、正しい時刻から数分以上ずれています。"
                "VPNの接続には電子証明書を使うため、時計がずれていると、"
                "VPNの接続や各システムの利用に失敗することがあります。"
            ),
            en=(
                "This PC's clock is off by several minutes or more. The VPN uses electronic "
                "certificates, so a wrong clock can make the VPN or the applications fail."
            ),
        ),
        technical=Text(
            ja=(
                "PC の時計と外部の時刻源（HTTP の Date ヘッダや NTP）"
                "との差が許容値を超えていました（根拠を参照）。"
                "このシステムは電子証明書を併用しているため（G11）、IKE "
                "の証明書認証やアプリケーションの TLS で、"
                "証明書の有効期間の確認に失敗することがあります。"
            ),
            en=(
                "The difference between the PC clock and an external time source (HTTP Date "
                "header or NTP) exceeds the tolerance (see the evidence). The system relies on "
                "electronic certificates (G11), so certificate validity checks in IKE "
                "authentication and in the applications' TLS can fail."
            ),
        ),
        next_step=Text(
            ja=(
                "Windowsの「日付と時刻」の設定で「時刻を自動的に設定する」を有効にし、"
                "「今すぐ同期」を実行してください。改善しない場合は、"
                "機器納入元に相談してください。"
            ),
            en=(
                'In Windows "Date & time" settings, turn on "Set time automatically" and '
                'click "Sync now". If that does not help, consult the equipment vendor '
                "(機器納入元)."
            ),
        ),
    )
)
