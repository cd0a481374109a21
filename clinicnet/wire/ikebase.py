"""What IKEv1 and IKEv2 share: the 28-byte header, the payload chain, the parsed reply.

Both versions use the same header layout (RFC 2408 §3.1, RFC 7296 §3.1). This
module imports neither version's codec: ``ikev1`` and ``ikev2`` build on it, and
``ike`` (which dispatches a datagram to the right one) builds on all three, so
the imports form a tree, not a cycle.

Everything a parser returns is a frozen dataclass of plain values; ``bytes`` fields
(SPIs, cookie, NAT detection hashes) are public protocol data, never key material,
and :meth:`ParsedReply.to_json` renders them as hex or lengths.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HEADER = struct.Struct("!8s8sBBBBII")
HEADER_LEN = HEADER.size  # 28
#: RFC 3948: IKE on UDP 4500 is prefixed with four zero bytes to tell it from ESP
NON_ESP_MARKER = b"\x00\x00\x00\x00"
#: the largest payload chain we walk; real IKE_SA_INIT replies have fewer than 15
MAX_PAYLOADS = 64

# header flags
FLAG_V1_ENCRYPTED = 0x01
FLAG_V2_INITIATOR = 0x08
FLAG_V2_VERSION = 0x10
FLAG_V2_RESPONSE = 0x20

DH_NAMES: dict[int, str] = {
    1: "MODP_768",
    2: "MODP_1024",
    5: "MODP_1536",
    14: "MODP_2048",
    15: "MODP_3072",
    16: "MODP_4096",
    17: "MODP_6144",
    18: "MODP_8192",
    19: "ECP_256",
    20: "ECP_384",
    21: "ECP_521",
    22: "MODP_1024_160",
    23: "MODP_2048_224",
    24: "MODP_2048_256",
    25: "ECP_192",
    26: "ECP_224",
    27: "ECP_224_BP",
    28: "ECP_256_BP",
    29: "ECP_384_BP",
    30: "ECP_512_BP",
    31: "CURVE_25519",
    32: "CURVE_448",
}


def name_of(table: dict[int, str], value: int) -> str:
    """Registry name, or the number when unknown, so odd values still show up."""
    return table.get(value, f"UNKNOWN_{value}")


class ReplyKind(enum.StrEnum):
    """What a datagram received on an IKE probe socket turned out to be.

    The first nine values are the probe's outcome names for an IKE-level answer;
    the rest are malformed or foreign datagrams the probe ignores but reports.
    """

    IKEV2_SA_INIT = "response"
    NO_PROPOSAL_CHOSEN = "no_proposal_chosen"
    INVALID_KE = "invalid_ke"
    COOKIE = "cookie"
    INVALID_SYNTAX = "invalid_syntax"
    NOTIFY = "notify"
    IKEV1_RESPONSE = "ikev1_response"
    IKEV1_NOTIFY = "ikev1_notify"
    #: Main Mode message 4 (KE, nonce, NAT-D): the gateway answered our message 3
    IKEV1_KEY_EXCHANGE = "ikev1_key_exchange"
    TRUNCATED = "truncated"
    LENGTH_MISMATCH = "length_mismatch"
    WRONG_SPI = "wrong_spi"
    WRONG_MESSAGE_ID = "wrong_message_id"
    NOT_IKE = "not_ike"
    BAD_PAYLOAD = "bad_payload"
    UNEXPECTED = "unexpected"

    @property
    def is_answer(self) -> bool:
        """True for a well-formed IKE reply to *our* request: proof of a two-way path."""
        return self in _ANSWERS


_ANSWERS = frozenset(
    {
        ReplyKind.IKEV2_SA_INIT,
        ReplyKind.NO_PROPOSAL_CHOSEN,
        ReplyKind.INVALID_KE,
        ReplyKind.COOKIE,
        ReplyKind.INVALID_SYNTAX,
        ReplyKind.NOTIFY,
        ReplyKind.IKEV1_RESPONSE,
        ReplyKind.IKEV1_NOTIFY,
        ReplyKind.IKEV1_KEY_EXCHANGE,
    }
)


@dataclass(frozen=True)
class Header:
    spi_i: bytes
    spi_r: bytes
    next_payload: int
    major: int
    minor: int
    exchange: int
    flags: int
    message_id: int
    length: int


@dataclass(frozen=True)
class Payload:
    """One payload of the chain; ``body`` excludes the 4-byte generic header."""

    ptype: int
    critical: bool
    body: bytes


@dataclass(frozen=True)
class ChainResult:
    payloads: tuple[Payload, ...]
    #: why the walk stopped early, ``None`` when the chain ended cleanly
    error: str | None = None
    #: bytes left after the payload that said "no next payload"
    trailing: int = 0


@dataclass(frozen=True)
class NotifyInfo:
    type: int
    name: str
    protocol: int = 0
    data_len: int = 0

    @property
    def is_error(self) -> bool:
        # IKEv2 error types are 1..16383; IKEv1 uses 1..8191 (RFC 2408 §3.14.1)
        return 0 < self.type < 16384

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name}


@dataclass(frozen=True)
class VendorId:
    hex: str
    name: str | None

    def to_json(self) -> dict[str, Any]:
        return {"hex": self.hex, "name": self.name}


@dataclass(frozen=True)
class ChosenProposal:
    """The transforms the responder picked (IKEv2 SA payload or IKEv1 transform)."""

    number: int | None = None
    encr: str | None = None
    key_bits: int | None = None
    prf: str | None = None
    integ: str | None = None
    dh: str | None = None
    dh_id: int | None = None
    #: IKEv1 only
    hash: str | None = None
    auth: str | None = None
    lifetime_s: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ParsedReply:
    """Everything the probe learns from one datagram; built only by :func:`parse_reply`."""

    kind: ReplyKind
    detail: str
    size: int = 0
    version: int | None = None
    exchange: int | None = None
    exchange_name: str | None = None
    flags: int | None = None
    spi_i: bytes = b""
    spi_r: bytes = b""
    message_id: int | None = None
    payloads: tuple[str, ...] = ()
    notifies: tuple[NotifyInfo, ...] = ()
    proposal: ChosenProposal | None = None
    ke_group: int | None = None
    invalid_ke_group: int | None = None
    cookie: bytes | None = field(default=None, repr=False)
    vendor_ids: tuple[VendorId, ...] = ()
    natd_source: tuple[bytes, ...] = field(default=(), repr=False)
    natd_destination: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def is_answer(self) -> bool:
        return self.kind.is_answer

    def to_json(self) -> dict[str, Any]:
        """JSON view; the cookie is reported by length only (it is opaque state of the gateway)."""
        out: dict[str, Any] = {"kind": self.kind.value, "detail": self.detail, "size": self.size}
        if self.version is not None:
            out.update(
                version=self.version,
                exchange=self.exchange_name,
                flags=self.flags,
                spi_i=self.spi_i.hex(),
                spi_r=self.spi_r.hex(),
                message_id=self.message_id,
            )
        if self.payloads:
            out["payloads"] = list(self.payloads)
        if self.notifies:
            out["notifies"] = [n.to_json() for n in self.notifies]
        if self.proposal is not None:
            out["proposal"] = self.proposal.to_json()
        if self.ke_group is not None:
            out["ke_group"] = name_of(DH_NAMES, self.ke_group)
        if self.invalid_ke_group is not None:
            out["invalid_ke_group"] = self.invalid_ke_group
        if self.cookie is not None:
            out["cookie_len"] = len(self.cookie)
        if self.vendor_ids:
            out["vendor_ids"] = [v.to_json() for v in self.vendor_ids]
        return out


def parse_header(data: bytes) -> Header:
    """Unpack the common header; the caller guarantees ``len(data) >= 28``."""
    spi_i, spi_r, nxt, version, exchange, flags, msgid, length = HEADER.unpack_from(data, 0)
    return Header(spi_i, spi_r, nxt, version >> 4, version & 0x0F, exchange, flags, msgid, length)


def walk_payloads(data: bytes, first: int, start: int, end: int) -> ChainResult:
    """Follow the generic payload headers from ``start`` to ``end``.

    Every step advances by at least four bytes and the number of payloads is
    capped, so a hostile chain (length 0, a length pointing backwards or past the
    end, a cycle of next-payload types) costs O(len) and always terminates.
    """
    payloads: list[Payload] = []
    ptype, offset = first, start
    while ptype != 0:
        if len(payloads) >= MAX_PAYLOADS:
            return ChainResult(tuple(payloads), f"more than {MAX_PAYLOADS} payloads")
        if offset + 4 > end:
            return ChainResult(tuple(payloads), f"payload chain overruns the message: type {ptype} at offset {offset}")
        nxt, flags, plen = struct.unpack_from("!BBH", data, offset)
        if plen < 4:
            return ChainResult(tuple(payloads), f"payload type {ptype} at offset {offset} has length {plen} (< 4)")
        if offset + plen > end:
            return ChainResult(
                tuple(payloads),
                f"payload type {ptype} at offset {offset} claims {plen} bytes, only {end - offset} left",
            )
        payloads.append(Payload(ptype, bool(flags & 0x80), data[offset + 4 : offset + plen]))
        offset += plen
        ptype = nxt
    return ChainResult(tuple(payloads), None, end - offset)


def parse_attributes(data: bytes, limit: int = 32) -> tuple[list[tuple[int, int | bytes]], str | None]:
    """Decode ISAKMP data attributes (TV when the AF bit is set, else TLV).

    Shared by IKEv1 SA transforms and IKEv2 transform attributes (key length).
    """
    attrs: list[tuple[int, int | bytes]] = []
    offset = 0
    while offset < len(data):
        if len(attrs) >= limit:
            return attrs, f"more than {limit} attributes"
        if offset + 4 > len(data):
            return attrs, "truncated attribute"
        atype, value = struct.unpack_from("!HH", data, offset)
        if atype & 0x8000:
            attrs.append((atype & 0x7FFF, value))
            offset += 4
        else:
            if offset + 4 + value > len(data):
                return attrs, f"attribute {atype} claims {value} bytes past the transform"
            attrs.append((atype, data[offset + 4 : offset + 4 + value]))
            offset += 4 + value
    return attrs, None


def attr_int(value: int | bytes) -> int | None:
    """Attribute value as an integer (TLV values up to 8 bytes, e.g. IKEv1 lifetimes)."""
    if isinstance(value, int):
        return value
    if 0 < len(value) <= 8:
        return int.from_bytes(value, "big")
    return None


def natd_hash(spi_i: bytes, spi_r: bytes, address: str, port: int, algorithm: str = "sha1") -> bytes:
    """RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port); RFC 3947 §3.2 (IKEv1 NAT-D): the same
    over the cookies with the negotiated hash (``algorithm``, a hashlib name)."""
    packed = ipaddress.ip_address(address).packed
    return hashlib.new(algorithm, spi_i + spi_r + packed + struct.pack("!H", port & 0xFFFF)).digest()


@dataclass(frozen=True)
class NatDetection:
    """IKE NAT detection as the *responder* saw our packet (IKEv2 NAT_DETECTION notifies,
    ``method="ikev2-natd"``, or IKEv1 NAT-D payloads in Main Mode message 4, ``"ikev1-natd"``).

    ``local_behind_nat``: the address/port the gateway saw as our source is not
    the one this PC used, i.e. a NAT between the PC and the gateway rewrote it.
    ``remote_behind_nat``: the gateway's own source address/port is not the one
    we sent to, i.e. the gateway sits behind a NAT (or fakes it to force UDP
    encapsulation, as strongSwan with kernel-libipsec does).
    """

    measured: bool
    local_behind_nat: bool | None = None
    remote_behind_nat: bool | None = None
    detail: str = ""
    method: str = "ikev2-natd"

    def to_json(self) -> dict[str, Any]:
        return {
            "measured": self.measured,
            "local_behind_nat": self.local_behind_nat,
            "remote_behind_nat": self.remote_behind_nat,
            "method": self.method,
            "detail": self.detail,
        }


def nat_detection(
    reply: ParsedReply,
    *,
    local_address: str,
    local_port: int,
    remote_address: str,
    remote_port: int,
    algorithm: str | None = None,
) -> NatDetection:
    """Recompute the responder's NAT detection hashes against what this PC used.

    IKEv2: the hashes in an IKE_SA_INIT response cover the response's own header
    SPIs (SPIr set); a responder that hashed with a zero SPIr is accepted too and
    said so. IKEv1 (Main Mode message 4): the hash is the one negotiated in the
    SA (``algorithm``, a hashlib name, e.g. from ``ikev1.natd_algorithm``);
    without it nothing is measured.
    """
    v1 = reply.kind is ReplyKind.IKEV1_KEY_EXCHANGE
    method = "ikev1-natd" if v1 else "ikev2-natd"
    if not v1 and reply.kind is not ReplyKind.IKEV2_SA_INIT:
        return NatDetection(False, detail=f"no IKE_SA_INIT response ({reply.kind.value})")
    if not reply.natd_source or not reply.natd_destination:
        what = "NAT-D payloads (no NAT-T negotiated?)" if v1 else "NAT_DETECTION notifies (NAT-T disabled?)"
        return NatDetection(False, detail=f"the responder sent no {what}", method=method)
    if v1 and algorithm is None:
        return NatDetection(False, detail="the negotiated hash of the NAT-D payloads is unknown", method=method)
    notes: list[str] = []
    try:
        local = _natd_match(reply, reply.natd_destination, local_address, local_port, notes, algorithm)
        remote = _natd_match(reply, reply.natd_source, remote_address, remote_port, notes, algorithm)
    except ValueError as exc:
        return NatDetection(False, detail=f"cannot compute NAT detection hashes: {exc}", method=method)
    parts = [
        "this PC is behind NAT" if not local else "no NAT on this side",
        "the gateway is behind NAT" if not remote else "gateway not behind NAT",
    ]
    return NatDetection(True, not local, not remote, "; ".join(parts + notes), method=method)


def _natd_match(
    reply: ParsedReply, hashes: Iterable[bytes], address: str, port: int, notes: list[str], algorithm: str | None
) -> bool:
    wanted = set(hashes)
    if natd_hash(reply.spi_i, reply.spi_r, address, port, algorithm or "sha1") in wanted:
        return True
    if algorithm is None and natd_hash(reply.spi_i, bytes(8), address, port) in wanted:
        notes.append("responder hashed with a zero SPIr (non-standard)")
        return True
    return False


_V2_EXCHANGES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL", 43: "IKE_INTERMEDIATE"}
_V1_EXCHANGES = {
    1: "Base",
    2: "Main Mode",
    3: "Authentication Only",
    4: "Aggressive Mode",
    5: "Informational",
    6: "Transaction",
    32: "Quick Mode",
    33: "New Group Mode",
}


def exchange_name(major: int, exchange: int) -> str:
    table = _V2_EXCHANGES if major == 2 else _V1_EXCHANGES
    return name_of(table, exchange)


def new_spi() -> bytes:
    """Random non-zero SPI whose first byte is non-zero, so it can never look like
    a non-ESP marker (four zero bytes) on UDP 4500."""
    spi = secrets.token_bytes(8)
    return bytes([spi[0] | 0x01]) + spi[1:]


def chain(payloads: list[tuple[int, bytes]]) -> bytes:
    """Link payloads with generic headers (next type, flags, length)."""
    out = bytearray()
    for i, (_ptype, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return bytes(out)
