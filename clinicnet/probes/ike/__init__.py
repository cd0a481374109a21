"""Probe: does the VPN gateway answer IKE on UDP 500 and 4500 from this network, and is there NAT?

The question a clinic needs answered is whether *this* network carries the
IPsec+IKE VPN (guide G1), so the probe speaks IKE itself, as a real client
would, instead of pinging: a firewall or a broken router ALG that passes ping
but eats UDP 500 is exactly what must be found. Every target gets:

* IKEv2 IKE_SA_INIT on UDP 500 and on UDP 4500 (with the non-ESP marker), from
  an ephemeral source port, and with administrator rights also from source
  port 500 (some firewalls and NATs treat 500->500 specially);
* IKEv1 Main Mode on the ports where IKEv2 got no answer within
  :data:`IKEV1_DELAY` (a gateway that speaks only IKEv1 stays silent to IKEv2),
  and on UDP 500 when IKEv2 was only refused (NO_PROPOSAL_CHOSEN: an IKEv1-only
  gateway). After a Main Mode answer that chose a proposal the probe sends
  message 3 (KE, nonce, NAT-D) and reads NAT from the gateway's NAT-D in message
  4 (RFC 3947), unauthenticated and before any identity; message 5 is never sent.
  IKEv1 is not sent when IKEv2 already answered, because every request leaves a
  half-open SA on the gateway and strongSwan's defaults answer the 4th half-open
  SA per address with COOKIE and silently drop the 6th: a probe that floods its
  target would measure its own rate limit and call it a blocked network.
  For the same reason only the primary attempt (IKEv2, UDP 500, ephemeral
  port) answers INVALID_KE or COOKIE with a second request; for the others the
  stateless error reply already proves the two-way path.

Sockets are plain connected UDP sockets (no raw sockets, no privileges), so
ICMP errors reach us; on Linux ``IP_RECVERR`` says which ICMP and from whom
(:mod:`clinicnet.system.icmp`). An ICMP error ends an attempt at once.
Replies go through the defensive parsers in :mod:`clinicnet.wire`; anything that
is not a valid answer to our request is ignored but reported.

NAT is measured from the gateway's own NAT_DETECTION notifies (RFC 7296
§2.23), or its NAT-D payloads in IKEv1 Main Mode 4 (RFC 3947): what the
gateway saw as our source is compared with what we used.

Local UDP 500 is shared with the NAT-mapping probe through
``_exchange.LOCAL_IKE_PORTS``: the source-port-500 attempt waits its turn, so
"in use" always means another program on this PC.

The package: this module is the probe's face (``SPEC``, the values it writes,
``probe``), kept free of the wire codecs so listing the probes stays cheap;
:mod:`.exchange` runs the attempts in one selector loop; :mod:`.assemble`
resolves the targets, drives the exchange and turns attempts into values. The
``clinicnet ike`` text is rendered in :mod:`clinicnet.reports.render_ike`.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from clinicnet.model import ProbeResult, Text
from clinicnet.probes.interface import ProbeContext, ProbeSpec

IKE_PORT = 500
NAT_T_PORT = 4500


#: an ICMP error that ended an attempt (``system.icmp.IcmpError.to_json``);
#: ``from`` is the router or host that sent it (a keyword, hence the functional form)
Icmp = TypedDict(
    "Icmp",
    {"outcome": str, "type": int | None, "code": int | None, "from": str | None,
     "errno": str | int | None, "source": str, "info": int | None},
    total=False,
)


class VendorIdJson(TypedDict):
    hex: str
    #: the product, when the Vendor ID is a known one
    name: str | None


class AttemptNat(TypedDict, total=False):
    """NAT detection from one IKEv2 response (``wire.ike.NatDetection.to_json``)."""

    measured: bool
    local_behind_nat: bool | None
    remote_behind_nat: bool | None
    method: str
    detail: str


class Attempt(TypedDict, total=False):
    """One IKE exchange attempt (``exchange.AttemptResult.to_json``)."""

    port: int
    ike_version: int
    source_port: int | None
    fixed_source_port: bool
    #: response, cookie, invalid_ke, notify, ikev1_response, ... (a ``ReplyKind``),
    #: icmp_* (``system.icmp.OUTCOMES``), timeout, malformed, send_error, local_error
    #: (this PC failed: socket, bind, building the request; says nothing of the network)
    outcome: str
    answered: bool
    rtt_ms: float | None
    sent: int
    retransmissions: int
    #: English detail (raw evidence)
    detail: str
    chosen_proposal: dict[str, Any] | None
    vendor_ids: list[VendorIdJson]
    ignored: list[str]
    retries: list[str]
    local_address: str | None
    nat: AttemptNat
    icmp: Icmp
    #: NAT detection inputs for :func:`assemble.port_preserved`
    natd: dict[str, Any]
    reply: dict[str, Any]


class Nat(TypedDict):
    measured: bool
    local_behind_nat: bool | None
    remote_behind_nat: bool | None
    method: str


class Target(TypedDict):
    target: str
    address: str | None
    #: 4 or 6
    family: int | None
    resolve_error: str | None
    attempts: list[Attempt]
    #: answered, icmp, silent, error (not tested)
    udp500: str
    udp4500: str
    #: the first ICMP outcome of any attempt
    icmp: str | None
    icmp_from: str | None
    nat: Nat
    vendor_ids: list[VendorIdJson]
    rtt_ms: float | None
    ike_versions: list[int]
    half_open_created: int
    notes: list[str]


class Values(TypedDict, total=False):
    targets: list[Target]
    #: per IP version ("4", "6"): "ok" or why source port 500 could not be used
    source_port_500: dict[str, str]


SPEC = ProbeSpec(
    name="ike",
    order=70,
    title=Text(ja="VPN 装置への IKE（UDP 500/4500）", en="IKE to the VPN gateway (UDP 500/4500)"),
    values=Values,
    options=("targets", "privileged"),
    reasons={
        "silent": Text(
            ja="UDP 500・4500 のどちらにも IKE の応答がありません: {targets}",
            en="no IKE answer on UDP 500 or 4500 from: {targets}",
        ),
        "answered": Text(ja="すべての VPN 装置が IKE に応答しました", en="every target answered IKE"),
        "local_error": Text(
            ja="この PC 側の問題で IKE を送れなかったため、測定できませんでした（{targets}: {error}）",
            en="IKE could not be sent because of a problem on this PC, not the network ({targets}: {error})",
        ),
    },
)


def probe(ctx: ProbeContext) -> ProbeResult:
    """Probe every ``ctx.targets`` entry concurrently, all within ``ctx.deadline``."""
    from clinicnet.probes.ike.assemble import run

    return run(ctx)


def quick_check(target: str, timeout: float = 5.0, privileged: bool = False, ikev1_always: bool = False) -> ProbeResult:
    """``clinicnet ike HOST``: the same probe for one target, with its own deadline.

    ``ikev1_always`` also sends IKEv1 where IKEv2 answered, to show whether the
    gateway speaks both (costs two more half-open SAs on the gateway).
    """
    from clinicnet.probes.ike.assemble import run

    ctx = ProbeContext(targets=(target,), timeout=timeout, privileged=privileged, deadline=time.monotonic() + timeout)
    return run(ctx, ikev1_always=ikev1_always)
