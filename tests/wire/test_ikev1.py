"""IKEv1 Main Mode builder and parser, against replies recorded from a real strongSwan."""

from __future__ import annotations

import struct

from clinicnet.wire import ikev1
from clinicnet.wire.ike import HEADER, HEADER_LEN, ReplyKind, parse_header, parse_reply, walk_payloads
from tests.wire import captured


def test_main_mode_1_layout() -> None:
    req = ikev1.build_main_mode_1()
    h = parse_header(req.packet)
    assert (h.major, h.minor, h.exchange, h.flags, h.message_id) == (1, 0, ikev1.MAIN_MODE, 0, 0)
    assert h.spi_i == req.cookie_i and h.spi_r == bytes(8) and h.length == len(req.packet)
    chain = walk_payloads(req.packet, h.next_payload, HEADER_LEN, h.length)
    assert chain.error is None and chain.trailing == 0
    kinds = [p.ptype for p in chain.payloads]
    assert kinds[0] == ikev1.PL_SA and set(kinds[1:]) == {ikev1.PL_VID}
    vids = {p.body.hex() for p in chain.payloads[1:]}
    assert "4a131c81070358455c5728f20e95452f" in vids  # RFC 3947
    assert "90cb80913ebb696e086381b5ec427b1f" in vids  # draft-02\n
    sa = chain.payloads[0].body
    assert struct.unpack_from("!II", sa) == (1, 1)
    ntrans = sa[8 + 4 + 3]
    assert ntrans == len(ikev1.DEFAULT_TRANSFORMS)
    # the first transform as the parser reads it
    proposal, err = ikev1.parse_sa(sa)
    assert err is None and proposal is not None
    assert (proposal.encr, proposal.key_bits, proposal.hash, proposal.auth, proposal.dh, proposal.lifetime_s) == (
        "AES_CBC",
        256,
        "SHA2_256",
        "PSK",
        "MODP_2048",
        28800,
    )


def test_our_own_message_reflected_is_not_an_answer() -> None:
    req = ikev1.build_main_mode_1()
    r = parse_reply(req.packet, spi_i=req.cookie_i)
    assert r.kind is ReplyKind.UNEXPECTED and not r.is_answer


def test_marker_on_4500() -> None:
    req = ikev1.build_main_mode_1(nat_t=True)
    assert req.packet[:4] == bytes(4) and parse_header(req.packet[4:]).spi_i == req.cookie_i


def _rec(entry: dict) -> tuple[bytes, bytes]:
    return bytes.fromhex(entry["request"])[:8], bytes.fromhex(entry["reply"])


def test_charon_main_mode_2() -> None:
    spi, reply = _rec(captured.V1_RESPONSE)
    r = parse_reply(reply, spi_i=spi)
    assert r.kind is ReplyKind.IKEV1_RESPONSE and r.is_answer and r.version == 1
    assert r.proposal is not None and r.proposal.encr == "AES_CBC" and r.proposal.dh == "MODP_2048"
    names = [v.name for v in r.vendor_ids]
    assert names == ["strongSwan", "XAUTH", "Dead Peer Detection v1.0", "IKE Fragmentation", "RFC 3947 NAT-T"]


def test_charon_no_proposal_chosen() -> None:
    spi, reply = _rec(captured.V1_NO_PROPOSAL)
    r = parse_reply(reply, spi_i=spi)
    assert r.kind is ReplyKind.IKEV1_NOTIFY and r.is_answer
    assert [n.name for n in r.notifies] == ["NO-PROPOSAL-CHOSEN"]


def test_v1_notify_answers_a_v2_request() -> None:
    """An IKEv1-only gateway may answer IKEv2 with INVALID-MAJOR-VERSION: still a two-way path."""
    spi = b"\x42" * 8
    n = struct.pack("!IBBH", 1, 1, 0, 5)
    body = struct.pack("!BBH", 0, 0, 4 + len(n)) + n
    data = HEADER.pack(spi, bytes(8), ikev1.PL_N, 0x10, ikev1.INFORMATIONAL, 0, 0x1234, 28 + len(body)) + body
    r = parse_reply(data, spi_i=spi)
    assert r.kind is ReplyKind.IKEV1_NOTIFY and r.notifies[0].name == "INVALID-MAJOR-VERSION"


def test_encrypted_and_malformed_v1() -> None:
    spi, reply = _rec(captured.V1_RESPONSE)
    enc = reply[:19] + b"\x01" + reply[20:]
    assert parse_reply(enc, spi_i=spi).kind is ReplyKind.UNEXPECTED
    msgid = reply[:20] + b"\0\0\0\x09" + reply[24:]
    assert parse_reply(msgid, spi_i=spi).kind is ReplyKind.WRONG_MESSAGE_ID
    # SA payload whose proposal claims more bytes than it has
    sa_at = 28
    broken = bytearray(reply)
    broken[sa_at + 4 + 8 + 2 : sa_at + 4 + 8 + 4] = b"\xff\xff"
    assert parse_reply(bytes(broken), spi_i=spi).kind is ReplyKind.BAD_PAYLOAD
    assert parse_reply(reply[:60], spi_i=spi).kind is ReplyKind.TRUNCATED
