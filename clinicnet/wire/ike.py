"""Any datagram on an IKE socket: the shared first checks, then the version's own parser.

The first checks on any datagram (is it IKE at all, is it whole, is it for us)
are the same for both versions and done once here, before ``ikev1`` or
``ikev2`` looks at the payloads. The shared building blocks live in
``ikebase`` (which imports neither version), so ``ike -> ikev1/ikev2 ->
ikebase`` is a tree; they are re-exported here because callers reach for
"the IKE codec" and should not have to know where each piece lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clinicnet.wire import ikev1, ikev2
from clinicnet.wire.ikebase import (
    DH_NAMES,
    FLAG_V1_ENCRYPTED,
    FLAG_V2_INITIATOR,
    FLAG_V2_RESPONSE,
    FLAG_V2_VERSION,
    HEADER,
    HEADER_LEN,
    MAX_PAYLOADS,
    NON_ESP_MARKER,
    ChainResult,
    ChosenProposal,
    Header,
    NatDetection,
    NotifyInfo,
    ParsedReply,
    Payload,
    ReplyKind,
    VendorId,
    attr_int,
    chain,
    exchange_name,
    name_of,
    nat_detection,
    natd_hash,
    new_spi,
    parse_attributes,
    parse_header,
    walk_payloads,
)

__all__ = [
    "DH_NAMES",
    "FLAG_V1_ENCRYPTED",
    "FLAG_V2_INITIATOR",
    "FLAG_V2_RESPONSE",
    "FLAG_V2_VERSION",
    "HEADER",
    "HEADER_LEN",
    "MAX_PAYLOADS",
    "NON_ESP_MARKER",
    "ChainResult",
    "ChosenProposal",
    "Header",
    "NatDetection",
    "NotifyInfo",
    "ParsedReply",
    "Payload",
    "ReplyKind",
    "VendorId",
    "attr_int",
    "chain",
    "exchange_name",
    "name_of",
    "nat_detection",
    "natd_hash",
    "new_spi",
    "parse_attributes",
    "parse_header",
    "parse_reply",
    "walk_payloads",
]


def parse_reply(
    datagram: bytes,
    *,
    spi_i: bytes,
    nat_t: bool = False,
    earlier_spis: Iterable[bytes] = (),
) -> ParsedReply:
    """Classify any datagram received on an IKE probe socket; never raises.

    ``spi_i`` is the initiator SPI (IKEv1: initiator cookie) of the request in
    flight, ``nat_t`` whether the socket talks to UDP 4500 (non-ESP marker
    expected) and ``earlier_spis`` the SPIs of requests this one replaced, so a
    late answer to those is recognised as such rather than called foreign.
    """
    try:
        return _parse(bytes(datagram), spi_i, nat_t, tuple(earlier_spis))
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; a bug shows as a kind
        return ParsedReply(ReplyKind.NOT_IKE, f"parser error {type(exc).__name__}: {exc}", len(datagram))


def _parse(data: bytes, spi_i: bytes, nat_t: bool, earlier: tuple[bytes, ...]) -> ParsedReply:
    size = len(data)
    if nat_t:
        if size == 1 and data == b"\xff":
            return ParsedReply(ReplyKind.NOT_IKE, "NAT-T keepalive (0xff)", size)
        if size < 4:
            return ParsedReply(ReplyKind.NOT_IKE, f"{size}-byte datagram on UDP 4500", size)
        if data[:4] != NON_ESP_MARKER:
            return ParsedReply(
                ReplyKind.NOT_IKE, f"ESP-in-UDP (SPI {data[:4].hex()}), not IKE: no non-ESP marker", size
            )
        data = data[4:]
        size = len(data)
    elif size >= HEADER_LEN + 4 and data[:4] == NON_ESP_MARKER and data[4:12] == spi_i:
        return ParsedReply(ReplyKind.UNEXPECTED, "non-ESP marker on UDP 500 (NAT-T framing on the wrong port)", size)
    if size < HEADER_LEN:
        if size >= 8 and data[:8] == spi_i:
            return ParsedReply(ReplyKind.TRUNCATED, f"only {size} bytes, shorter than the IKE header", size)
        return ParsedReply(ReplyKind.NOT_IKE, f"{size} bytes, too short for IKE", size)
    header = parse_header(data)
    ours = header.spi_i == spi_i
    if header.major not in (1, 2):
        kind = ReplyKind.UNEXPECTED if ours else ReplyKind.NOT_IKE
        return ParsedReply(kind, f"IKE major version {header.major} ({data[17]:#04x})", size)
    common: dict[str, Any] = dict(
        size=size,
        version=header.major,
        exchange=header.exchange,
        exchange_name=exchange_name(header.major, header.exchange),
        flags=header.flags,
        spi_i=header.spi_i,
        spi_r=header.spi_r,
        message_id=header.message_id,
    )
    if not ours:
        if header.spi_i in earlier:
            return ParsedReply(ReplyKind.WRONG_SPI, "late reply to an earlier request of this attempt", **common)
        return ParsedReply(
            ReplyKind.WRONG_SPI, f"initiator SPI {header.spi_i.hex()} is not ours ({spi_i.hex()})", **common
        )
    if header.length < HEADER_LEN:
        return ParsedReply(ReplyKind.LENGTH_MISMATCH, f"header length {header.length} < 28", **common)
    if header.length > size:
        return ParsedReply(ReplyKind.TRUNCATED, f"header says {header.length} bytes, datagram has {size}", **common)
    if header.length < size:
        return ParsedReply(
            ReplyKind.LENGTH_MISMATCH,
            f"{size - header.length} bytes beyond the {header.length} the header announces",
            **common,
        )
    if header.major == 2:
        return ikev2.parse_body(data, header, common)
    return ikev1.parse_body(data, header, common)
