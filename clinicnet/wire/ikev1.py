"""IKEv1 (RFC 2408/2409): Main Mode messages 1 and 3, and what an IKEv1 gateway answers.

Many gateways that Japanese clinics reach (older Yamaha RTX, Cisco IOS set-ups,
some providers' concentrators) still speak IKEv1 only and silently ignore
IKEv2; a Main Mode probe tells "gateway speaks IKEv1 only" apart from
"UDP 500 is blocked". The message carries the vendor IDs a NAT-T capable client
sends, since some responders only answer clients that announce NAT-T.

NAT detection needs one more round trip in IKEv1 (RFC 3947): the NAT-D hashes
travel in messages 3 and 4, after the proposal is agreed and before anything is
authenticated. Message 3 carries a genuine KE value of the agreed group, a nonce
and our NAT-D hashes; message 4 brings the gateway's, computed over the address
and port it saw us at. The probe stops there: message 5 would carry identity
and proof of a secret the PC does not have, so it is never built.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from clinicnet.wire import dh, vendor_ids
from clinicnet.wire.ikebase import (
    DH_NAMES,
    FLAG_V1_ENCRYPTED,
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

MAIN_MODE = 2
AGGRESSIVE = 4
INFORMATIONAL = 5

PL_SA, PL_P, PL_T, PL_KE, PL_ID, PL_CERT, PL_CR, PL_HASH, PL_SIG, PL_NONCE, PL_N, PL_D, PL_VID = range(1, 14)
#: NAT-D payload types: RFC 3947, and the drafts' private-use number (draft-02/03, still common)
PL_NAT_D, PL_NAT_D_DRAFT = 20, 130
PAYLOAD_NAMES = {
    1: "SA",
    2: "P",
    3: "T",
    4: "KE",
    5: "ID",
    6: "CERT",
    7: "CR",
    8: "HASH",
    9: "SIG",
    10: "NONCE",
    11: "N",
    12: "D",
    13: "VID",
    14: "ATTR",
    20: "NAT-D",
    21: "NAT-OA",
    130: "NAT-D(draft)",
    131: "NAT-OA(draft)",
}

# SA attribute classes (RFC 2409 appendix A)
A_ENCR, A_HASH, A_AUTH, A_GROUP, A_LIFE_TYPE, A_LIFE_DURATION, A_KEY_LENGTH = 1, 2, 3, 4, 11, 12, 14
ENCR_NAMES = {1: "DES_CBC", 2: "IDEA", 3: "BLOWFISH", 4: "RC5", 5: "3DES_CBC", 6: "CAST", 7: "AES_CBC", 8: "CAMELLIA"}
HASH_NAMES = {1: "MD5", 2: "SHA1", 3: "TIGER", 4: "SHA2_256", 5: "SHA2_384", 6: "SHA2_512"}
AUTH_NAMES = {
    1: "PSK",
    2: "DSS_SIG",
    3: "RSA_SIG",
    4: "RSA_ENC",
    5: "RSA_REV_ENC",
    9: "ECDSA_256",
    10: "ECDSA_384",
    11: "ECDSA_521",
    64221: "HYBRID_INIT_RSA",
    65001: "XAUTH_INIT_PSK",
    65005: "XAUTH_INIT_RSA",
}

NOTIFY_NAMES = {
    1: "INVALID-PAYLOAD-TYPE",
    2: "DOI-NOT-SUPPORTED",
    3: "SITUATION-NOT-SUPPORTED",
    4: "INVALID-COOKIE",
    5: "INVALID-MAJOR-VERSION",
    6: "INVALID-MINOR-VERSION",
    7: "INVALID-EXCHANGE-TYPE",
    8: "INVALID-FLAGS",
    9: "INVALID-MESSAGE-ID",
    10: "INVALID-PROTOCOL-ID",
    11: "INVALID-SPI",
    12: "INVALID-TRANSFORM-ID",
    13: "ATTRIBUTES-NOT-SUPPORTED",
    14: "NO-PROPOSAL-CHOSEN",
    15: "BAD-PROPOSAL-SYNTAX",
    16: "PAYLOAD-MALFORMED",
    17: "INVALID-KEY-INFORMATION",
    18: "INVALID-ID-INFORMATION",
    19: "INVALID-CERT-ENCODING",
    20: "INVALID-CERTIFICATE",
    21: "CERT-TYPE-UNSUPPORTED",
    22: "INVALID-CERT-AUTHORITY",
    23: "INVALID-HASH-INFORMATION",
    24: "AUTHENTICATION-FAILED",
    25: "INVALID-SIGNATURE",
    26: "ADDRESS-NOTIFICATION",
    27: "NOTIFY-SA-LIFETIME",
    28: "CERTIFICATE-UNAVAILABLE",
    29: "UNSUPPORTED-EXCHANGE-TYPE",
    30: "UNEQUAL-PAYLOAD-LENGTHS",
    16384: "CONNECTED",
    24576: "RESPONDER-LIFETIME",
    24577: "REPLAY-STATUS",
    24578: "INITIAL-CONTACT",
    36136: "R-U-THERE",
    36137: "R-U-THERE-ACK",
}


@dataclass(frozen=True)
class V1Transform:
    encr: int
    key_bits: int | None
    hash: int
    auth: int
    group: int


#: what a typical PSK/certificate client offers, strongest first
DEFAULT_TRANSFORMS: tuple[V1Transform, ...] = (
    V1Transform(7, 256, 4, 1, 14),
    V1Transform(7, 128, 4, 1, 14),
    V1Transform(7, 128, 2, 1, 14),
    V1Transform(7, 256, 4, 3, 14),
    V1Transform(7, 128, 2, 1, 2),
    V1Transform(5, None, 2, 1, 2),
    V1Transform(5, None, 2, 3, 2),
    V1Transform(5, None, 2, 1, 14),
)

DEFAULT_VIDS: tuple[str, ...] = (
    vendor_ids.RFC3947_NAT_T,
    vendor_ids.NAT_T_DRAFT_03,
    vendor_ids.NAT_T_DRAFT_02N,
    vendor_ids.NAT_T_DRAFT_02,
    vendor_ids.DPD,
    vendor_ids.XAUTH,
    vendor_ids.FRAGMENTATION,
)

LIFETIME_S = 28800
#: nonce length in message 3 (RFC 2409 allows 8..256 bytes; clients send 16..32)
NONCE_LEN = 32
#: the negotiated IKEv1 hash (transform attribute 2) as a hashlib name, for NAT-D
HASH_ALGORITHMS = {"MD5": "md5", "SHA1": "sha1", "SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}
#: vendor IDs that tell which NAT-D payload type the gateway speaks
_NAT_T_RFC = frozenset({vendor_ids.RFC3947_NAT_T})
_NAT_T_DRAFTS = frozenset({vendor_ids.NAT_T_DRAFT_02, vendor_ids.NAT_T_DRAFT_02N, vendor_ids.NAT_T_DRAFT_03})


@dataclass(frozen=True)
class MainModeRequest:
    packet: bytes = field(repr=False)
    cookie_i: bytes
    nat_t: bool


def build_main_mode_1(
    *,
    nat_t: bool = False,
    cookie_i: bytes | None = None,
    transforms: tuple[V1Transform, ...] = DEFAULT_TRANSFORMS,
    vids: tuple[str, ...] = DEFAULT_VIDS,
) -> MainModeRequest:
    """Main Mode message 1: HDR, SA, VID*; on UDP 4500 with the non-ESP marker."""
    cky = cookie_i if cookie_i is not None else new_spi()
    tdata = bytearray()
    for num, t in enumerate(transforms, start=1):
        attrs = struct.pack("!HH", 0x8000 | A_ENCR, t.encr)
        if t.key_bits:
            attrs += struct.pack("!HH", 0x8000 | A_KEY_LENGTH, t.key_bits)
        attrs += struct.pack(
            "!HHHHHHHHHH",
            0x8000 | A_HASH,
            t.hash,
            0x8000 | A_AUTH,
            t.auth,
            0x8000 | A_GROUP,
            t.group,
            0x8000 | A_LIFE_TYPE,
            1,
            0x8000 | A_LIFE_DURATION,
            LIFETIME_S,
        )
        nxt = PL_T if num < len(transforms) else 0
        tdata += struct.pack("!BBHBBH", nxt, 0, 8 + len(attrs), num, 1, 0) + attrs
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(tdata), 1, 1, 0, len(transforms)) + bytes(tdata)
    sa = struct.pack("!II", 1, 1) + proposal  # DOI IPsec, SIT_IDENTITY_ONLY
    payloads = [(PL_SA, sa)] + [(PL_VID, bytes.fromhex(v)) for v in vids]
    body = chain(payloads)
    header = HEADER.pack(cky, bytes(8), PL_SA, 0x10, MAIN_MODE, 0, 0, 28 + len(body))
    return MainModeRequest((NON_ESP_MARKER if nat_t else b"") + header + body, cky, nat_t)


class CannotContinue(ValueError):
    """Message 2 does not allow a message 3 this probe can send (the reason says why)."""


@dataclass(frozen=True)
class KeyExchangeRequest:
    """Main Mode message 3, and what reading message 4 needs: the agreed hash for NAT-D."""

    packet: bytes = field(repr=False)
    cookie_i: bytes
    cookie_r: bytes
    group: int
    hash_name: str
    natd_type: int
    nat_t: bool

    @property
    def natd_algorithm(self) -> str:
        """hashlib name of the NAT-D hash, for :func:`clinicnet.wire.ike.nat_detection`."""
        return HASH_ALGORITHMS[self.hash_name]


def natd_payload_type(vids: tuple[VendorId, ...]) -> int | None:
    """The NAT-D payload type a gateway's vendor IDs announce (RFC 3947 over the drafts),
    None when it announced no NAT-T at all (it would then send no NAT-D)."""
    announced = {v.hex for v in vids}
    if announced & _NAT_T_RFC:
        return PL_NAT_D
    if announced & _NAT_T_DRAFTS:
        return PL_NAT_D_DRAFT
    return None


def build_main_mode_3(
    answer: ParsedReply,
    *,
    local: tuple[str, int],
    remote: tuple[str, int],
    nat_t: bool = False,
) -> KeyExchangeRequest:
    """Main Mode message 3 after ``answer`` (message 2): HDR, KE, Ni, NAT-D(remote), NAT-D(local).

    ``local`` is the address and port this PC sends from, ``remote`` the gateway's (RFC 3947
    §3.2: the first NAT-D hashes the destination, the others the sender's own address).
    Raises :class:`CannotContinue` when message 2 chose no proposal, a group or hash this
    probe cannot produce, or announced no NAT-T (a gateway without it sends no NAT-D, so
    message 3 would measure nothing).
    """
    if answer.kind is not ReplyKind.IKEV1_RESPONSE or answer.proposal is None:
        raise CannotContinue(f"message 2 is no Main Mode answer with a chosen proposal ({answer.kind.value})")
    if answer.exchange != MAIN_MODE:
        raise CannotContinue(f"{answer.exchange_name} is not Main Mode")
    chosen = answer.proposal
    if chosen.dh_id is None or chosen.dh_id not in dh.SUPPORTED_GROUPS:
        raise CannotContinue(f"the chosen DH group {chosen.dh or 'none'} is not one this probe can send")
    if chosen.hash not in HASH_ALGORITHMS:
        raise CannotContinue(f"the chosen hash {chosen.hash or 'none'} is not one NAT-D can be computed with")
    natd_type = natd_payload_type(answer.vendor_ids)
    if natd_type is None:
        raise CannotContinue("the gateway announced no NAT-T vendor ID, so it sends no NAT-D")
    algorithm = HASH_ALGORITHMS[chosen.hash]
    ck_i, ck_r = answer.spi_i, answer.spi_r
    payloads = [
        (PL_KE, dh.public_value(chosen.dh_id)),
        (PL_NONCE, secrets.token_bytes(NONCE_LEN)),
        (natd_type, natd_hash(ck_i, ck_r, *remote, algorithm)),
        (natd_type, natd_hash(ck_i, ck_r, *local, algorithm)),
    ]
    body = chain(payloads)
    header = HEADER.pack(ck_i, ck_r, PL_KE, 0x10, MAIN_MODE, 0, 0, 28 + len(body))
    return KeyExchangeRequest(
        (NON_ESP_MARKER if nat_t else b"") + header + body, ck_i, ck_r, chosen.dh_id, chosen.hash, natd_type, nat_t
    )


def parse_body(data: bytes, header: Header, common: dict[str, Any]) -> ParsedReply:
    """Classify an IKEv1 message whose header already checked out (ours, whole)."""
    if header.flags & FLAG_V1_ENCRYPTED:
        return ParsedReply(ReplyKind.UNEXPECTED, "encrypted IKEv1 message before any keys exist", **common)
    walked = walk_payloads(data, header.next_payload, 28, header.length)
    names = tuple(name_of(PAYLOAD_NAMES, p.ptype) for p in walked.payloads)
    common = dict(common, payloads=names)
    if walked.error:
        return ParsedReply(ReplyKind.BAD_PAYLOAD, walked.error, **common)
    notifies: list[NotifyInfo] = []
    vids: list[VendorId] = []
    proposal: ChosenProposal | None = None
    has_sa = False
    natd: list[bytes] = []
    for p in walked.payloads:
        if p.ptype == PL_N:
            if len(p.body) < 8:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, "notify payload shorter than 8 bytes", **common)
            _doi, proto, spi_size, ntype = struct.unpack_from("!IBBH", p.body, 0)
            if 8 + spi_size > len(p.body):
                return ParsedReply(ReplyKind.BAD_PAYLOAD, f"notify SPI size {spi_size} overruns", **common)
            notifies.append(NotifyInfo(ntype, name_of(NOTIFY_NAMES, ntype), proto, len(p.body) - 8 - spi_size))
        elif p.ptype == PL_VID:
            vids.append(VendorId(p.body.hex(), vendor_ids.identify(p.body)))
        elif p.ptype == PL_SA:
            has_sa = True
            proposal, err = parse_sa(p.body)
            if err:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, f"SA payload: {err}", **common)
        elif p.ptype in (PL_NAT_D, PL_NAT_D_DRAFT):
            if not p.body:
                return ParsedReply(ReplyKind.BAD_PAYLOAD, "empty NAT-D payload", **common)
            natd.append(p.body)
    common.update(notifies=tuple(notifies), vendor_ids=tuple(vids), proposal=proposal)
    # trailing bytes are tolerated in IKEv1: several old implementations pad messages
    if notifies:
        names_text = ", ".join(n.name for n in notifies)
        return ParsedReply(ReplyKind.IKEV1_NOTIFY, f"IKEv1 notify {names_text}", **common)
    if header.exchange in (MAIN_MODE, AGGRESSIVE) and has_sa:
        if header.spi_r == bytes(8):
            return ParsedReply(
                ReplyKind.UNEXPECTED, "a request (zero responder cookie): our own packet reflected?", **common
            )
        if header.message_id != 0:
            return ParsedReply(
                ReplyKind.WRONG_MESSAGE_ID, f"message id {header.message_id} in Main Mode (must be 0)", **common
            )
        if proposal is None:
            return ParsedReply(ReplyKind.BAD_PAYLOAD, "SA payload without a transform", **common)
        return ParsedReply(ReplyKind.IKEV1_RESPONSE, f"IKEv1 {common['exchange_name']} response", **common)
    types = {p.ptype for p in walked.payloads}
    if header.exchange == MAIN_MODE and {PL_KE, PL_NONCE} <= types:
        return _main_mode_4(header, natd, common)
    return ParsedReply(
        ReplyKind.UNEXPECTED,
        f"IKEv1 {common['exchange_name']} with payloads {', '.join(names) or 'none'}",
        **common,
    )


def _main_mode_4(header: Header, natd: list[bytes], common: dict[str, Any]) -> ParsedReply:
    """Message 4: KE, Nr and (with NAT-T) NAT-D payloads, in the clear.

    RFC 3947 §3.2: the first NAT-D hashes the address the gateway sent *to* (where it saw
    us), the others its own address(es); they land in ``natd_destination`` and
    ``natd_source`` like IKEv2's notifies, so one NAT detection reads both versions.
    IKEv1 has no response flag: our own message 3, reflected, has this form too, so a
    caller ignores a datagram identical to the one it sent.
    """
    if header.spi_r == bytes(8):
        return ParsedReply(ReplyKind.UNEXPECTED, "key exchange with a zero responder cookie", **common)
    if header.message_id != 0:
        return ParsedReply(
            ReplyKind.WRONG_MESSAGE_ID, f"message id {header.message_id} in Main Mode (must be 0)", **common
        )
    if len(natd) == 1:
        return ParsedReply(ReplyKind.BAD_PAYLOAD, "one NAT-D payload (at least two are sent)", **common)
    with_natd = f" and {len(natd)} NAT-D" if natd else " without NAT-D"
    return ParsedReply(
        ReplyKind.IKEV1_KEY_EXCHANGE,
        f"IKEv1 Main Mode key exchange (message 4){with_natd}",
        natd_destination=tuple(natd[:1]),
        natd_source=tuple(natd[1:]),
        **common,
    )


def parse_sa(body: bytes) -> tuple[ChosenProposal | None, str | None]:
    """DOI, situation, then the first proposal's first transform (the one chosen)."""
    if len(body) < 8:
        return None, "SA shorter than DOI + situation"
    chain = walk_payloads(body, PL_P, 8, len(body))
    if chain.error:
        return None, chain.error
    if not chain.payloads:
        return None, "no proposal"
    prop = chain.payloads[0].body
    if len(prop) < 4:
        return None, "proposal shorter than 4 bytes"
    num, _proto, spi_size, ntrans = struct.unpack_from("!BBBB", prop, 0)
    if 4 + spi_size > len(prop):
        return None, f"proposal SPI size {spi_size} overruns"
    if ntrans == 0:
        return None, "proposal without transforms"
    trans = walk_payloads(prop, PL_T, 4 + spi_size, len(prop))
    if trans.error:
        return None, trans.error
    if not trans.payloads:
        return None, "no transform"
    t = trans.payloads[0].body
    if len(t) < 4:
        return None, "transform shorter than 4 bytes"
    attrs, err = parse_attributes(t[4:])
    if err:
        return None, f"transform attributes: {err}"
    values: dict[int, int | None] = {}
    for atype, value in attrs:
        values.setdefault(atype, attr_int(value))
    life = values.get(A_LIFE_DURATION) if values.get(A_LIFE_TYPE, 1) == 1 else None

    def named(table: dict[int, str], key: int) -> str | None:
        v = values.get(key)
        return name_of(table, v) if v is not None else None

    return (
        ChosenProposal(
            number=num,
            encr=named(ENCR_NAMES, A_ENCR),
            key_bits=values.get(A_KEY_LENGTH),
            hash=named(HASH_NAMES, A_HASH),
            auth=named(AUTH_NAMES, A_AUTH),
            dh=named(DH_NAMES, A_GROUP),
            dh_id=values.get(A_GROUP),
            lifetime_s=life,
        ),
        None,
    )
