"""IKEv2 (RFC 7296): the IKE_SA_INIT request a real initiator sends, and its replies.

The request is deliberately indistinguishable from a client's first message
(realistic proposals, a genuine KE value, NAT detection, the capability
notifies strongSwan and Windows send) because gateways and middleboxes treat
odd requests differently: a probe that is dropped for looking fake would
blame the network for its own shape.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from clinicnet.wire import dh
from clinicnet.wire.ikebase import (
    DH_NAMES,
    FLAG_V2_INITIATOR,
    FLAG_V2_RESPONSE,
    HEADER,
    NON_ESP_MARKER,
    ChosenProposal,
    Header,
    NotifyInfo,
    ParsedReply,
    ReplyKind,
    VendorId,
    attr_int,
    chain,
    name_of,
    natd_hash,
    new_spi,
    parse_attributes,
    walk_payloads,
)
from clinicnet.wire.vendor_ids import identify

IKE_SA_INIT = 34

# payload types (RFC 7296 §3.2)
PL_SA, PL_KE, PL_IDI, PL_IDR, PL_CERT, PL_CERTREQ, PL_AUTH, PL_NONCE, PL_N, PL_D, PL_V = range(33, 44)
PL_SK, PL_SKF = 46, 53
PAYLOAD_NAMES = {
    33: "SA",
    34: "KE",
    35: "IDi",
    36: "IDr",
    37: "CERT",
    38: "CERTREQ",
    39: "AUTH",
    40: "No",
    41: "N",
    42: "D",
    43: "V",
    44: "TSi",
    45: "TSr",
    46: "SK",
    47: "CP",
    48: "EAP",
    49: "GSPM",
    53: "SKF",
}

# transform types and ids (IANA "IKEv2 Parameters")
T_ENCR, T_PRF, T_INTEG, T_DH, T_ESN = 1, 2, 3, 4, 5
ENCR_3DES, ENCR_AES_CBC, ENCR_AES_CTR, ENCR_AES_GCM_16, ENCR_CHACHA20 = 3, 12, 13, 20, 28
PRF_SHA1, PRF_SHA2_256, PRF_SHA2_384, PRF_SHA2_512 = 2, 5, 6, 7
INTEG_SHA1_96, INTEG_SHA2_256_128, INTEG_SHA2_384_192, INTEG_SHA2_512_256 = 2, 12, 13, 14
ATTR_KEY_LENGTH = 14

ENCR_NAMES = {
    2: "DES",
    3: "3DES",
    7: "BLOWFISH",
    11: "NULL",
    12: "AES_CBC",
    13: "AES_CTR",
    14: "AES_CCM_8",
    15: "AES_CCM_12",
    16: "AES_CCM_16",
    18: "AES_GCM_8",
    19: "AES_GCM_12",
    20: "AES_GCM_16",
    23: "CAMELLIA_CBC",
    28: "CHACHA20_POLY1305",
}
PRF_NAMES = {
    1: "HMAC_MD5",
    2: "HMAC_SHA1",
    4: "AES128_XCBC",
    5: "HMAC_SHA2_256",
    6: "HMAC_SHA2_384",
    7: "HMAC_SHA2_512",
    8: "AES128_CMAC",
}
INTEG_NAMES = {
    0: "NONE",
    1: "HMAC_MD5_96",
    2: "HMAC_SHA1_96",
    5: "AES_XCBC_96",
    8: "AES_CMAC_96",
    12: "HMAC_SHA2_256_128",
    13: "HMAC_SHA2_384_192",
    14: "HMAC_SHA2_512_256",
}

# notify message types (RFC 7296 §3.10.1 and IANA)
N_UNSUPPORTED_CRITICAL_PAYLOAD = 1
N_INVALID_SYNTAX = 7
N_NO_PROPOSAL_CHOSEN = 14
N_INVALID_KE_PAYLOAD = 17
N_NAT_DETECTION_SOURCE_IP = 16388
N_NAT_DETECTION_DESTINATION_IP = 16389
N_COOKIE = 16390
N_IKEV2_FRAGMENTATION_SUPPORTED = 16430
N_SIGNATURE_HASH_ALGORITHMS = 16431
NOTIFY_NAMES = {
    1: "UNSUPPORTED_CRITICAL_PAYLOAD",
    4: "INVALID_IKE_SPI",
    5: "INVALID_MAJOR_VERSION",
    7: "INVALID_SYNTAX",
    9: "INVALID_MESSAGE_ID",
    11: "INVALID_SPI",
    14: "NO_PROPOSAL_CHOSEN",
    17: "INVALID_KE_PAYLOAD",
    24: "AUTHENTICATION_FAILED",
    34: "SINGLE_PAIR_REQUIRED",
    35: "NO_ADDITIONAL_SAS",
    36: "INTERNAL_ADDRESS_FAILURE",
    37: "FAILED_CP_REQUIRED",
    38: "TS_UNACCEPTABLE",
    39: "INVALID_SELECTORS",
    40: "UNACCEPTABLE_ADDRESSES",
    41: "UNEXPECTED_NAT_DETECTED",
    42: "USE_ASSIGNED_HoA",
    43: "TEMPORARY_FAILURE",
    44: "CHILD_SA_NOT_FOUND",
    45: "INVALID_GROUP_ID",
    46: "AUTHORIZATION_FAILED",
    47: "STATE_NOT_FOUND",
    16384: "INITIAL_CONTACT",
    16385: "SET_WINDOW_SIZE",
    16386: "ADDITIONAL_TS_POSSIBLE",
    16387: "IPCOMP_SUPPORTED",
    16388: "NAT_DETECTION_SOURCE_IP",
    16389: "NAT_DETECTION_DESTINATION_IP",
    16390: "COOKIE",
    16391: "USE_TRANSPORT_MODE",
    16392: "HTTP_CERT_LOOKUP_SUPPORTED",
    16393: "REKEY_SA",
    16394: "ESP_TFC_PADDING_NOT_SUPPORTED",
    16395: "NON_FIRST_FRAGMENTS_ALSO",
    16396: "MOBIKE_SUPPORTED",
    16401: "COOKIE2",
    16402: "NO_NATS_ALLOWED",
    16404: "MULTIPLE_AUTH_SUPPORTED",
    16406: "REDIRECT_SUPPORTED",
    16407: "REDIRECT",
    16408: "REDIRECTED_FROM",
    16417: "EAP_ONLY_AUTHENTICATION",
    16418: "CHILDLESS_IKEV2_SUPPORTED",
    16419: "QUICK_CRASH_DETECTION",
    16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
    16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS",
    16432: "CLONE_IKE_SA_SUPPORTED",
    16434: "PUZZLE",
    16435: "USE_PPK",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
    16441: "ADDITIONAL_KEY_EXCHANGE",
    16442: "USE_AGGFRAG",
}


@dataclass(frozen=True)
class Transform:
    ttype: int
    tid: int
    key_bits: int | None = None


#: groups offered, most preferred first; the KE payload's group is moved to the front
DEFAULT_GROUPS: tuple[int, ...] = (19, 14, 31)


def default_proposals(groups: tuple[int, ...]) -> tuple[tuple[Transform, ...], ...]:
    """Two proposals like a current client: AES-CBC + HMAC, then AES-GCM (AEAD, no INTEG)."""
    dhs = tuple(Transform(T_DH, g) for g in groups)
    prfs = (Transform(T_PRF, PRF_SHA2_256), Transform(T_PRF, PRF_SHA2_384))
    cbc = (
        Transform(T_ENCR, ENCR_AES_CBC, 128),
        Transform(T_ENCR, ENCR_AES_CBC, 256),
        *prfs,
        Transform(T_INTEG, INTEG_SHA2_256_128),
        Transform(T_INTEG, INTEG_SHA2_384_192),
        *dhs,
    )
    gcm = (
        Transform(T_ENCR, ENCR_AES_GCM_16, 128),
        Transform(T_ENCR, ENCR_AES_GCM_16, 256),
        *prfs,
        *dhs,
    )
    return (cbc, gcm)


@dataclass(frozen=True)
class SaInitRequest:
    """One IKE_SA_INIT request, and what is needed to build its COOKIE retry.

    ``nonce`` and ``ke_data`` are public protocol values (they travel in clear);
    the DH private value was discarded in :mod:`clinicnet.wire.dh`.
    """

    packet: bytes = field(repr=False)
    spi_i: bytes
    dh_group: int
    groups: tuple[int, ...]
    nat_t: bool
    cookie: bytes | None = field(default=None, repr=False)
    nonce: bytes = field(default=b"", repr=False)
    ke_data: bytes = field(default=b"", repr=False)


def build_sa_init(
    *,
    local: tuple[str, int],
    remote: tuple[str, int],
    dh_group: int = 19,
    groups: tuple[int, ...] = DEFAULT_GROUPS,
    nat_t: bool = False,
    spi_i: bytes | None = None,
    nonce: bytes | None = None,
    ke_data: bytes | None = None,
    cookie: bytes | None = None,
) -> SaInitRequest:
    """Build IKE_SA_INIT; ``local``/``remote`` are the (address, port) the socket uses.

    NAT detection hashes are computed over ``local`` and ``remote`` exactly as the
    socket will send them, which is what makes the responder's hashes comparable.
    """
    spi = spi_i if spi_i is not None else new_spi()
    offered = (dh_group,) + tuple(g for g in groups if g != dh_group)
    ke = ke_data if ke_data is not None else dh.public_value(dh_group)
    ni = nonce if nonce is not None else secrets.token_bytes(32)
    zero = bytes(8)
    payloads: list[tuple[int, bytes]] = []
    if cookie is not None:
        payloads.append((PL_N, _notify(N_COOKIE, cookie)))
    payloads.append((PL_SA, _sa(default_proposals(offered))))
    payloads.append((PL_KE, struct.pack("!HH", dh_group, 0) + ke))
    payloads.append((PL_NONCE, ni))
    payloads.append((PL_N, _notify(N_NAT_DETECTION_SOURCE_IP, natd_hash(spi, zero, *local))))
    payloads.append((PL_N, _notify(N_NAT_DETECTION_DESTINATION_IP, natd_hash(spi, zero, *remote))))
    payloads.append((PL_N, _notify(N_IKEV2_FRAGMENTATION_SUPPORTED, b"")))
    # SHA2-256, SHA2-384, SHA2-512, Identity (RFC 7427)
    payloads.append((PL_N, _notify(N_SIGNATURE_HASH_ALGORITHMS, struct.pack("!HHHH", 2, 3, 4, 5))))
    body = chain(payloads)
    header = HEADER.pack(spi, zero, payloads[0][0], 0x20, IKE_SA_INIT, FLAG_V2_INITIATOR, 0, 28 + len(body))
    packet = (NON_ESP_MARKER if nat_t else b"") + header + body
    return SaInitRequest(packet, spi, dh_group, offered, nat_t, cookie, ni, ke)


def with_cookie(req: SaInitRequest, cookie: bytes, local: tuple[str, int], remote: tuple[str, int]) -> SaInitRequest:
    """RFC 7296 §2.6: same SPI, nonce and KE, with N(COOKIE) as the first payload."""
    return build_sa_init(
        local=local,
        remote=remote,
        dh_group=req.dh_group,
        groups=req.groups,
        nat_t=req.nat_t,
        spi_i=req.spi_i,
        nonce=req.nonce,
        ke_data=req.ke_data,
        cookie=cookie,
    )


def with_group(req: SaInitRequest, group: int, local: tuple[str, int], remote: tuple[str, int]) -> SaInitRequest:
    """Retry after INVALID_KE_PAYLOAD with the requested group and a fresh SPI,
    so a late duplicate of the first error cannot be taken for the retry's answer."""
    groups = req.groups if group in req.groups else req.groups + (group,)
    return build_sa_init(local=local, remote=remote, dh_group=group, groups=groups, nat_t=req.nat_t)


def _notify(ntype: int, data: bytes) -> bytes:
    return struct.pack("!BBH", 0, 0, ntype) + data


def _sa(proposals: tuple[tuple[Transform, ...], ...]) -> bytes:
    out = bytearray()
    for num, transforms in enumerate(proposals, start=1):
        tdata = bytearray()
        for i, t in enumerate(transforms):
            attrs = struct.pack("!HH", 0x8000 | ATTR_KEY_LENGTH, t.key_bits) if t.key_bits else b""
            more = 3 if i + 1 < len(transforms) else 0
            tdata += struct.pack("!BBHBBH", more, 0, 8 + len(attrs), t.ttype, 0, t.tid) + attrs
        more = 2 if num < len(proposals) else 0
        out += struct.pack("!BBHBBBB", more, 0, 8 + len(tdata), num, 1, 0, len(transforms)) + tdata
    return bytes(out)


# --- parsing -----------------------------------------------------------------


def parse_body(data: bytes, header: Header, common: dict[str, Any]) -> ParsedReply:
    """Classify an IKEv2 message whose header already checked out (ours, whole)."""
    if not header.flags & FLAG_V2_RESPONSE:
        return ParsedReply(
            ReplyKind.UNEXPECTED,
            "a request, not a response (response flag clear): our own packet reflected?",
            **common,
        )
    if header.exchange != IKE_SA_INIT:
        return ParsedReply(
            ReplyKind.UNEXPECTED, f"exchange {common['exchange_name']} in reply to IKE_SA_INIT", **common
        )
    if header.message_id != 0:
        return ParsedReply(ReplyKind.WRONG_MESSAGE_ID, f"message id {header.message_id}, IKE_SA_INIT uses 0", **common)
    walked = walk_payloads(data, header.next_payload, 28, header.length)
    names = tuple(name_of(PAYLOAD_NAMES, p.ptype) for p in walked.payloads)
    common = dict(common, payloads=names)
    if walked.error:
        return ParsedReply(ReplyKind.BAD_PAYLOAD, walked.error, **common)
    if walked.trailing:
        return ParsedReply(ReplyKind.BAD_PAYLOAD, f"{walked.trailing} bytes after the last payload", **common)

    notifies: list[NotifyInfo] = []
    vids: list[VendorId] = []
    natd_src: list[bytes] = []
    natd_dst: list[bytes] = []
    cookie: bytes | None = None
    invalid_ke: int | None = None
    proposal: ChosenProposal | None = None
    ke_group: int | None = None
    have = set()
    for p in walked.payloads:
        have.add(p.ptype)
        if p.ptype == PL_N:
            if len(p.body) < 4:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, "notify payload shorter than 4 bytes", **common)
            proto, spi_size, ntype = struct.unpack_from("!BBH", p.body, 0)
            if 4 + spi_size > len(p.body):
                return ParsedReply(ReplyKind.BAD_PAYLOAD, f"notify SPI size {spi_size} overruns", **common)
            ndata = p.body[4 + spi_size :]
            notifies.append(NotifyInfo(ntype, name_of(NOTIFY_NAMES, ntype), proto, len(ndata)))
            if ntype == N_NAT_DETECTION_SOURCE_IP:
                natd_src.append(ndata)
            elif ntype == N_NAT_DETECTION_DESTINATION_IP:
                natd_dst.append(ndata)
            elif ntype == N_COOKIE and cookie is None:
                cookie = ndata
            elif ntype == N_INVALID_KE_PAYLOAD and len(ndata) == 2:
                invalid_ke = struct.unpack("!H", ndata)[0]
        elif p.ptype == PL_V:
            vids.append(VendorId(p.body.hex(), identify(p.body)))
        elif p.ptype == PL_SA:
            proposal, err = parse_sa(p.body)
            if err:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, f"SA payload: {err}", **common)
        elif p.ptype == PL_KE:
            if len(p.body) < 4:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, "KE payload shorter than 4 bytes", **common)
            ke_group = struct.unpack_from("!H", p.body, 0)[0]
        elif p.critical and p.ptype not in PAYLOAD_NAMES:
            return ParsedReply(ReplyKind.BAD_PAYLOAD, f"unknown critical payload type {p.ptype}", **common)

    common.update(
        notifies=tuple(notifies),
        vendor_ids=tuple(vids),
        natd_source=tuple(natd_src),
        natd_destination=tuple(natd_dst),
        proposal=proposal,
        ke_group=ke_group,
        invalid_ke_group=invalid_ke,
        cookie=cookie,
    )
    errors = [n for n in notifies if n.is_error]
    if errors:
        first = errors[0]
        if first.type == N_NO_PROPOSAL_CHOSEN:
            return ParsedReply(
                ReplyKind.NO_PROPOSAL_CHOSEN, "the gateway accepts none of the offered proposals", **common
            )
        if first.type == N_INVALID_KE_PAYLOAD:
            if invalid_ke is None:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, "INVALID_KE_PAYLOAD without a 2-byte group", **common)
            return ParsedReply(
                ReplyKind.INVALID_KE, f"the gateway wants DH group {name_of(DH_NAMES, invalid_ke)}", **common
            )
        if first.type == N_INVALID_SYNTAX:
            return ParsedReply(ReplyKind.INVALID_SYNTAX, "the gateway rejected our message as INVALID_SYNTAX", **common)
        return ParsedReply(ReplyKind.NOTIFY, f"error notify {first.name}", **common)
    if cookie is not None:
        if not 1 <= len(cookie) <= 64:
            return ParsedReply(ReplyKind.BAD_PAYLOAD, f"COOKIE of {len(cookie)} bytes (1..64 allowed)", **common)
        return ParsedReply(ReplyKind.COOKIE, "the gateway asks for a COOKIE round trip (under load?)", **common)
    if {PL_SA, PL_KE, PL_NONCE} <= have:
        if proposal is None:
            return ParsedReply(ReplyKind.BAD_PAYLOAD, "SA payload without a proposal", **common)
        if header.spi_r == bytes(8):
            return ParsedReply(ReplyKind.BAD_PAYLOAD, "IKE_SA_INIT response with a zero responder SPI", **common)
        detail = "IKE_SA_INIT response"
        if ke_group is not None and proposal.dh_id is not None and ke_group != proposal.dh_id:
            detail += f" (KE group {ke_group} differs from chosen {proposal.dh_id})"
        return ParsedReply(ReplyKind.IKEV2_SA_INIT, detail, **common)
    if notifies and not have - {PL_N, PL_V}:
        return ParsedReply(ReplyKind.NOTIFY, "status notifies only: " + ", ".join(n.name for n in notifies), **common)
    missing = [PAYLOAD_NAMES[t] for t in (PL_SA, PL_KE, PL_NONCE) if t not in have]
    return ParsedReply(ReplyKind.BAD_PAYLOAD, "response lacks " + "/".join(missing), **common)


def parse_sa(body: bytes) -> tuple[ChosenProposal | None, str | None]:
    """The first proposal of an SA payload (a response carries exactly one)."""
    if len(body) < 8:
        return None, "proposal shorter than 8 bytes"
    _more, _res, plen, num, proto, spi_size, ntrans = struct.unpack_from("!BBHBBBB", body, 0)
    if plen < 8 or plen > len(body):
        return None, f"proposal length {plen} does not fit the {len(body)}-byte payload"
    if 8 + spi_size > plen:
        return None, f"proposal SPI size {spi_size} overruns"
    offset = 8 + spi_size
    found: dict[int, tuple[int, int | None]] = {}
    for _ in range(min(ntrans, 64)):
        if offset + 8 > plen:
            return None, "transform overruns the proposal"
        _tmore, _r, tlen, ttype, _r2, tid = struct.unpack_from("!BBHBBH", body, offset)
        if tlen < 8 or offset + tlen > plen:
            return None, f"transform length {tlen} does not fit"
        attrs, err = parse_attributes(body[offset + 8 : offset + tlen])
        if err:
            return None, f"transform attributes: {err}"
        bits = next((attr_int(v) for t, v in attrs if t == ATTR_KEY_LENGTH), None)
        found.setdefault(ttype, (tid, bits))
        offset += tlen
    encr = found.get(T_ENCR)
    prf = found.get(T_PRF)
    integ = found.get(T_INTEG)
    group = found.get(T_DH)
    return (
        ChosenProposal(
            number=num,
            encr=name_of(ENCR_NAMES, encr[0]) if encr else None,
            key_bits=encr[1] if encr else None,
            prf=name_of(PRF_NAMES, prf[0]) if prf else None,
            integ=name_of(INTEG_NAMES, integ[0]) if integ else None,
            dh=name_of(DH_NAMES, group[0]) if group else None,
            dh_id=group[0] if group else None,
        ),
        None,
    )
