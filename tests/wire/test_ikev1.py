"""IKEv1 Main Mode builder and parser, against replies recorded from a real strongSwan."""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import pytest

from clinicnet.wire import dh, ikev1, vendor_ids
from clinicnet.wire.ike import (
    HEADER,
    HEADER_LEN,
    NatDetection,
    ParsedReply,
    ReplyKind,
    VendorId,
    nat_detection,
    natd_hash,
    parse_header,
    parse_reply,
    walk_payloads,
)
from clinicnet.wire.ike import chain as ike_chain
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


# -- Main Mode 3/4: NAT detection (RFC 3947) ------------------------------------------------

KX = captured.V1_KEY_EXCHANGE


def _kx(name: str) -> bytes:
    return bytes.fromhex(KX[name])


def _mm2() -> ParsedReply:
    return parse_reply(_kx("mm2"), spi_i=_kx("mm1")[:8])


def test_main_mode_3_layout() -> None:
    mm2 = _mm2()
    local, remote = ("192.168.10.10", 40000), ("192.0.2.10", 500)
    req = ikev1.build_main_mode_3(mm2, local=local, remote=remote)
    h = parse_header(req.packet)
    assert (h.spi_i, h.spi_r) == (mm2.spi_i, mm2.spi_r) == (req.cookie_i, req.cookie_r)
    assert (h.major, h.exchange, h.flags, h.message_id, h.length) == (1, ikev1.MAIN_MODE, 0, 0, len(req.packet))
    chain = walk_payloads(req.packet, h.next_payload, HEADER_LEN, h.length)
    assert chain.error is None and chain.trailing == 0
    assert [p.ptype for p in chain.payloads] == [ikev1.PL_KE, ikev1.PL_NONCE, ikev1.PL_NAT_D, ikev1.PL_NAT_D]
    ke, nonce, natd_remote, natd_local = (p.body for p in chain.payloads)
    assert (req.group, req.hash_name, req.natd_algorithm) == (14, "SHA2_256", "sha256")
    assert len(ke) == 256 and 1 < int.from_bytes(ke, "big") < dh.MODP2048_P - 1  # a real group-14 value
    assert len(nonce) == ikev1.NONCE_LEN
    # RFC 3947 §3.2: first the destination, then the sender; hashed over both cookies
    assert natd_remote == hashlib.sha256(h.spi_i + h.spi_r + bytes([192, 0, 2, 10]) + struct.pack("!H", 500)).digest()
    assert natd_local == natd_hash(h.spi_i, h.spi_r, *local, "sha256")
    on_4500 = ikev1.build_main_mode_3(mm2, local=local, remote=("192.0.2.10", 4500), nat_t=True)
    assert on_4500.packet[:4] == bytes(4) and parse_header(on_4500.packet[4:]).spi_r == mm2.spi_r


def test_main_mode_3_only_when_it_can_measure() -> None:
    mm2 = _mm2()
    args: dict = {"local": ("10.0.0.2", 500), "remote": ("192.0.2.10", 500)}
    spi, no_prop = _rec(captured.V1_NO_PROPOSAL)
    assert mm2.proposal is not None
    refused = [
        parse_reply(no_prop, spi_i=spi),  # a notify, no proposal
        dataclasses.replace(mm2, vendor_ids=()),  # no NAT-T: the gateway would send no NAT-D
        dataclasses.replace(mm2, proposal=dataclasses.replace(mm2.proposal, dh_id=5, dh="MODP_1536")),
        dataclasses.replace(mm2, proposal=dataclasses.replace(mm2.proposal, hash="TIGER")),
        dataclasses.replace(mm2, exchange=ikev1.AGGRESSIVE),
    ]
    for answer in refused:
        with pytest.raises(ikev1.CannotContinue):
            ikev1.build_main_mode_3(answer, **args)
    draft = (VendorId(vendor_ids.NAT_T_DRAFT_02N, "draft-02"),)
    assert ikev1.build_main_mode_3(dataclasses.replace(mm2, vendor_ids=draft), **args).natd_type == 130


def test_charon_main_mode_4_and_nat_detection() -> None:
    mm1, mm4 = _kx("mm1"), _kx("mm4")
    r = parse_reply(mm4, spi_i=mm1[:8])
    assert r.kind is ReplyKind.IKEV1_KEY_EXCHANGE and r.is_answer
    assert r.payloads == ("KE", "NONCE", "NAT-D", "NAT-D")
    assert len(r.natd_destination) == 1 and len(r.natd_source) == 1
    gw_addr, gw_port = KX["gateway"]

    def nat(address: str, port: int, algorithm: str | None = "sha256") -> NatDetection:
        return nat_detection(r, local_address=address, local_port=port, remote_address=gw_addr,
                             remote_port=gw_port, algorithm=algorithm)

    behind = nat(*KX["local"])  # what the PC used: charon saw something else
    assert (behind.measured, behind.local_behind_nat, behind.remote_behind_nat) == (True, True, False)
    assert behind.method == "ikev1-natd"
    public = nat(*KX["public"])  # what charon saw: the NAT's public address, same port
    assert (public.local_behind_nat, public.remote_behind_nat) == (False, False)
    assert not nat(*KX["local"], algorithm=None).measured  # the hash must be the negotiated one
    wrong = nat(*KX["public"], algorithm="sha1")
    assert wrong.local_behind_nat and wrong.remote_behind_nat  # so a wrong hash cannot pass as "no NAT"
    # charon retransmitting message 2 while we wait for 4 is still message 2
    assert parse_reply(_kx("mm2"), spi_i=mm1[:8]).kind is ReplyKind.IKEV1_RESPONSE


def test_malformed_main_mode_4() -> None:
    spi, mm4 = _kx("mm1")[:8], _kx("mm4")
    h = parse_header(mm4)
    chain = walk_payloads(mm4, h.next_payload, HEADER_LEN, h.length)
    bodies = [(p.ptype, p.body) for p in chain.payloads]

    def rebuild(payloads: list[tuple[int, bytes]], msgid: int = 0, spi_r: bytes = h.spi_r) -> bytes:
        body = ike_chain(payloads)
        return HEADER.pack(spi, spi_r, payloads[0][0], 0x10, 2, 0, msgid, 28 + len(body)) + body

    assert parse_reply(rebuild(bodies[:3]), spi_i=spi).kind is ReplyKind.BAD_PAYLOAD  # one NAT-D
    assert parse_reply(rebuild([*bodies[:2], (20, b""), bodies[3]]), spi_i=spi).kind is ReplyKind.BAD_PAYLOAD
    assert parse_reply(rebuild(bodies, msgid=7), spi_i=spi).kind is ReplyKind.WRONG_MESSAGE_ID
    assert parse_reply(rebuild(bodies, spi_r=bytes(8)), spi_i=spi).kind is ReplyKind.UNEXPECTED
    no_natd = parse_reply(rebuild(bodies[:2]), spi_i=spi)  # a gateway without NAT-T
    assert no_natd.kind is ReplyKind.IKEV1_KEY_EXCHANGE
    assert not nat_detection(no_natd, local_address="10.0.0.2", local_port=500, remote_address="192.0.2.10",
                             remote_port=500, algorithm="sha256").measured
