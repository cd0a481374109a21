"""IKEv2 builder and parser, against replies recorded from a real strongSwan."""

from __future__ import annotations

import struct

import pytest

from clinicnet.wire import ikev2
from clinicnet.wire.ike import (
    FLAG_V2_INITIATOR,
    HEADER_LEN,
    ReplyKind,
    nat_detection,
    natd_hash,
    parse_header,
    parse_reply,
    walk_payloads,
)
from tests.wire import captured

LOCAL = ("192.168.10.10", 40000)
REMOTE = ("192.0.2.10", 500)


def _payloads(packet: bytes) -> list[tuple[str, bytes]]:
    header = parse_header(packet)
    chain = walk_payloads(packet, header.next_payload, HEADER_LEN, header.length)
    assert chain.error is None and chain.trailing == 0
    return [(ikev2.PAYLOAD_NAMES[p.ptype], p.body) for p in chain.payloads]


def _notifies(packet: bytes) -> dict[int, bytes]:
    return {struct.unpack_from("!H", b, 2)[0]: b[4:] for name, b in _payloads(packet) if name == "N"}


def test_request_layout() -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=REMOTE)
    header = parse_header(req.packet)
    assert (header.major, header.minor, header.exchange) == (2, 0, 34)
    assert header.flags == FLAG_V2_INITIATOR
    assert header.message_id == 0 and header.spi_r == bytes(8) and header.spi_i == req.spi_i
    assert header.length == len(req.packet)
    names = [n for n, _ in _payloads(req.packet)]
    assert names == ["SA", "KE", "No", "N", "N", "N", "N"]
    ke = dict(_payloads(req.packet))["KE"]
    assert struct.unpack_from("!H", ke)[0] == 19 and len(ke) == 4 + 64
    assert len(dict(_payloads(req.packet))["No"]) == 32


def test_request_natd_hashes_cover_the_socket_addresses() -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=REMOTE)
    notes = _notifies(req.packet)
    assert notes[ikev2.N_NAT_DETECTION_SOURCE_IP] == natd_hash(req.spi_i, bytes(8), *LOCAL)
    assert notes[ikev2.N_NAT_DETECTION_DESTINATION_IP] == natd_hash(req.spi_i, bytes(8), *REMOTE)
    assert ikev2.N_IKEV2_FRAGMENTATION_SUPPORTED in notes
    assert notes[ikev2.N_SIGNATURE_HASH_ALGORITHMS] == bytes.fromhex("0002000300040005")


def test_request_proposals_offer_the_ke_group_first() -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=REMOTE, dh_group=14)
    sa = dict(_payloads(req.packet))["SA"]
    # first proposal: count its DH transforms in order
    plen = struct.unpack_from("!H", sa, 2)[0]
    offset, groups = 8, []
    while offset < plen:
        _m, _r, tlen, ttype, _r2, tid = struct.unpack_from("!BBHBBH", sa, offset)
        if ttype == ikev2.T_DH:
            groups.append(tid)
        offset += tlen
    assert groups == [14, 19, 31]
    ke = dict(_payloads(req.packet))["KE"]
    assert len(ke) == 4 + 256


@pytest.mark.parametrize("group,size", [(19, 64), (14, 256), (31, 32), (2, 128), (20, 96)])
def test_ke_sizes(group: int, size: int) -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=REMOTE, dh_group=group)
    assert len(dict(_payloads(req.packet))["KE"]) == 4 + size


def test_nat_t_marker() -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=("192.0.2.10", 4500), nat_t=True)
    assert req.packet[:4] == b"\0\0\0\0"
    assert parse_header(req.packet[4:]).length == len(req.packet) - 4


def test_cookie_retry_keeps_spi_nonce_and_ke() -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=REMOTE)
    again = ikev2.with_cookie(req, b"\x01" * 16, LOCAL, REMOTE)
    assert again.spi_i == req.spi_i and again.nonce == req.nonce and again.ke_data == req.ke_data
    names = _payloads(again.packet)
    assert names[0][0] == "N" and names[0][1][4:] == b"\x01" * 16
    assert [n for n, _ in names[1:]] == [n for n, _ in _payloads(req.packet)]


def test_group_retry_uses_a_new_spi() -> None:
    req = ikev2.build_sa_init(local=LOCAL, remote=REMOTE)
    again = ikev2.with_group(req, 14, LOCAL, REMOTE)
    assert again.spi_i != req.spi_i and again.dh_group == 14


def test_spi_never_looks_like_a_marker() -> None:
    assert all(ikev2.new_spi()[0] != 0 for _ in range(200))


# --- replies recorded from charon -------------------------------------------------------


def _rec(entry: dict) -> tuple[bytes, bytes]:
    request = bytes.fromhex(entry["request"])
    reply = bytes.fromhex(entry["reply"])
    spi = request[4:12] if entry["port"] == 4500 else request[:8]
    return spi, reply


def test_charon_response() -> None:
    spi, reply = _rec(captured.V2_RESPONSE)
    r = parse_reply(reply, spi_i=spi)
    assert r.kind is ReplyKind.IKEV2_SA_INIT and r.is_answer
    assert r.proposal is not None
    assert (r.proposal.encr, r.proposal.key_bits, r.proposal.prf, r.proposal.integ, r.proposal.dh) == (
        "AES_CBC",
        128,
        "HMAC_SHA2_256",
        "HMAC_SHA2_256_128",
        "ECP_256",
    )
    assert r.ke_group == 19
    assert [v.name for v in r.vendor_ids] == ["strongSwan"]
    names = {n.name for n in r.notifies}
    assert {"NAT_DETECTION_SOURCE_IP", "NAT_DETECTION_DESTINATION_IP", "IKEV2_FRAGMENTATION_SUPPORTED"} <= names
    js = r.to_json()
    assert js["kind"] == "response" and js["vendor_ids"][0]["name"] == "strongSwan"


def test_charon_response_nat_detection() -> None:
    spi, reply = _rec(captured.V2_RESPONSE)
    r = parse_reply(reply, spi_i=spi)
    local = captured.V2_RESPONSE["local"]
    same = nat_detection(r, local_address=local[0], local_port=local[1], remote_address="192.0.2.10", remote_port=500)
    assert same.measured and same.local_behind_nat is False and same.remote_behind_nat is False
    # as if the PC had used another address than the one the gateway saw: a NAT on our side
    behind = nat_detection(
        r, local_address="192.168.10.10", local_port=local[1], remote_address="192.0.2.10", remote_port=500
    )
    assert behind.local_behind_nat is True and behind.remote_behind_nat is False
    # only the port rewritten also counts (port-translating NAT)
    port = nat_detection(
        r, local_address=local[0], local_port=local[1] + 1, remote_address="192.0.2.10", remote_port=500
    )
    assert port.local_behind_nat is True
    # we sent to an address the gateway does not have: it is behind NAT (port forward)
    remote = nat_detection(
        r, local_address=local[0], local_port=local[1], remote_address="198.51.100.7", remote_port=500
    )
    assert remote.remote_behind_nat is True and remote.local_behind_nat is False


def test_charon_response_on_4500() -> None:
    spi, reply = _rec(captured.V2_RESPONSE_4500)
    r = parse_reply(reply, spi_i=spi, nat_t=True)
    assert r.kind is ReplyKind.IKEV2_SA_INIT
    local = captured.V2_RESPONSE_4500["local"]
    nat = nat_detection(r, local_address=local[0], local_port=local[1], remote_address="192.0.2.10", remote_port=4500)
    assert nat.measured and not nat.local_behind_nat and not nat.remote_behind_nat
    # the same bytes read as UDP 500 traffic: framing on the wrong port
    assert parse_reply(reply, spi_i=spi).kind is ReplyKind.UNEXPECTED
    # and a UDP 500 reply read as 4500 traffic is ESP-in-UDP, not IKE
    spi500, reply500 = _rec(captured.V2_RESPONSE)
    assert parse_reply(reply500, spi_i=spi500, nat_t=True).kind is ReplyKind.NOT_IKE


def test_charon_invalid_ke() -> None:
    spi, reply = _rec(captured.V2_INVALID_KE)
    r = parse_reply(reply, spi_i=spi)
    assert r.kind is ReplyKind.INVALID_KE and r.invalid_ke_group == 14 and r.is_answer


def test_charon_no_proposal() -> None:
    spi, reply = _rec(captured.V2_NO_PROPOSAL)
    r = parse_reply(reply, spi_i=spi)
    assert r.kind is ReplyKind.NO_PROPOSAL_CHOSEN and r.is_answer
    assert (
        nat_detection(r, local_address="10.0.0.1", local_port=1, remote_address="10.0.0.2", remote_port=500).measured
        is False
    )


# --- constructed replies ----------------------------------------------------------------


def _reply(
    spi: bytes,
    payloads: list[tuple[int, bytes]],
    *,
    spi_r: bytes = b"\x11" * 8,
    flags: int = 0x20,
    exchange: int = 34,
    msgid: int = 0,
) -> bytes:
    body = ikev2.chain(payloads)
    first = payloads[0][0] if payloads else 0
    return ikev2.HEADER.pack(spi, spi_r, first, 0x20, exchange, flags, msgid, 28 + len(body)) + body


SPI = bytes.fromhex("0123456789abcdef")


def _notify(ntype: int, data: bytes = b"") -> tuple[int, bytes]:
    return (ikev2.PL_N, struct.pack("!BBH", 0, 0, ntype) + data)


@pytest.mark.parametrize(
    "ntype,data,kind",
    [
        (ikev2.N_COOKIE, b"\xaa" * 20, ReplyKind.COOKIE),
        (ikev2.N_INVALID_SYNTAX, b"", ReplyKind.INVALID_SYNTAX),
        (43, b"", ReplyKind.NOTIFY),  # TEMPORARY_FAILURE
        (ikev2.N_INVALID_KE_PAYLOAD, b"\x00", ReplyKind.BAD_PAYLOAD),  # group must be 2 bytes
        (ikev2.N_COOKIE, b"", ReplyKind.BAD_PAYLOAD),  # empty cookie
        (16404, b"", ReplyKind.NOTIFY),  # status notify alone
    ],
)
def test_notify_replies(ntype: int, data: bytes, kind: ReplyKind) -> None:
    r = parse_reply(_reply(SPI, [_notify(ntype, data)], spi_r=bytes(8)), spi_i=SPI)
    assert r.kind is kind, r.detail


def test_cookie_data_is_kept_but_not_in_json() -> None:
    r = parse_reply(_reply(SPI, [_notify(ikev2.N_COOKIE, b"\xaa" * 20)], spi_r=bytes(8)), spi_i=SPI)
    assert r.cookie == b"\xaa" * 20
    assert r.to_json()["cookie_len"] == 20 and "aaaa" not in str(r.to_json())


def test_malformed_variants_of_a_real_response() -> None:
    spi, reply = _rec(captured.V2_RESPONSE)
    assert parse_reply(reply[:20], spi_i=spi).kind is ReplyKind.TRUNCATED
    assert parse_reply(reply[:100], spi_i=spi).kind is ReplyKind.TRUNCATED
    assert parse_reply(reply[:5], spi_i=spi).kind is ReplyKind.NOT_IKE
    assert parse_reply(reply + b"\0" * 7, spi_i=spi).kind is ReplyKind.LENGTH_MISMATCH
    assert parse_reply(reply, spi_i=b"\x99" * 8).kind is ReplyKind.WRONG_SPI
    late = parse_reply(reply, spi_i=b"\x99" * 8, earlier_spis=[spi])
    assert late.kind is ReplyKind.WRONG_SPI and "earlier" in late.detail
    bad_id = reply[:20] + struct.pack("!I", 7) + reply[24:]
    assert parse_reply(bad_id, spi_i=spi).kind is ReplyKind.WRONG_MESSAGE_ID
    echo = reply[:19] + bytes([0x08]) + reply[20:]
    assert parse_reply(echo, spi_i=spi).kind is ReplyKind.UNEXPECTED
    other_exchange = reply[:18] + bytes([37]) + reply[19:]
    assert parse_reply(other_exchange, spi_i=spi).kind is ReplyKind.UNEXPECTED
    assert parse_reply(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2, spi_i=spi).kind is ReplyKind.NOT_IKE
    v3 = reply[:17] + bytes([0x30]) + reply[18:]
    assert parse_reply(v3, spi_i=spi).kind is ReplyKind.UNEXPECTED


def test_payload_chain_that_would_loop_or_overrun() -> None:
    spi, reply = _rec(captured.V2_RESPONSE)
    # first payload (SA at offset 28) with length 0: a naive parser never advances
    zero = reply[:30] + b"\x00\x00" + reply[32:]
    r = parse_reply(zero, spi_i=spi)
    assert r.kind is ReplyKind.BAD_PAYLOAD and "length 0" in r.detail
    # length pointing past the end
    over = reply[:30] + b"\xff\xf0" + reply[32:]
    assert parse_reply(over, spi_i=spi).kind is ReplyKind.BAD_PAYLOAD
    # a chain that claims another payload after the last one
    last = bytearray(reply)
    # find the V payload (last): its generic header starts 20 bytes before the end
    assert last[-20] == 0
    last[-20] = ikev2.PL_N
    assert parse_reply(bytes(last), spi_i=spi).kind is ReplyKind.BAD_PAYLOAD


def test_many_tiny_payloads_are_capped() -> None:
    payloads = [(ikev2.PL_V, b"") for _ in range(500)]
    r = parse_reply(_reply(SPI, payloads), spi_i=SPI)
    assert r.kind is ReplyKind.BAD_PAYLOAD and "more than" in r.detail


def test_unknown_critical_payload() -> None:
    body = struct.pack("!BBH", 0, 0x80, 8) + b"abcd"
    data = ikev2.HEADER.pack(SPI, b"\x11" * 8, 200, 0x20, 34, 0x20, 0, 28 + len(body)) + body
    assert parse_reply(data, spi_i=SPI).kind is ReplyKind.BAD_PAYLOAD


def test_response_missing_ke_or_with_zero_spi_r() -> None:
    spi, reply = _rec(captured.V2_RESPONSE)
    zero_r = reply[:8] + bytes(8) + reply[16:]
    assert parse_reply(zero_r, spi_i=spi).kind is ReplyKind.BAD_PAYLOAD
    sa_only = _reply(SPI, [(ikev2.PL_SA, b"\0" * 4)])
    assert parse_reply(sa_only, spi_i=SPI).kind is ReplyKind.BAD_PAYLOAD


def test_nat_t_keepalive_and_esp() -> None:
    assert parse_reply(b"\xff", spi_i=SPI, nat_t=True).kind is ReplyKind.NOT_IKE
    esp = b"\x00\x00\x10\x01" + b"\x00\x00\x00\x01" + b"x" * 40
    r = parse_reply(esp, spi_i=SPI, nat_t=True)
    assert r.kind is ReplyKind.NOT_IKE and "ESP" in r.detail
