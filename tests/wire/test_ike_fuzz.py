"""Every parser survives any input: no exception, a known kind, JSON-able, bounded time.

Inputs are arbitrary bytes and, more usefully, mutations of real charon replies
(bit flips, truncation, insertion, spliced lengths), which reach deep into the
payload parsers where random bytes rarely get.
"""

from __future__ import annotations

import json
import struct
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicnet.wire import ikev1, ikev2
from clinicnet.wire.ike import (
    ReplyKind,
    nat_detection,
    parse_attributes,
    parse_reply,
    walk_payloads,
)
from tests.wire import captured

RECORDED = [
    captured.V2_RESPONSE,
    captured.V2_RESPONSE_4500,
    captured.V1_RESPONSE,
    captured.V2_INVALID_KE,
    captured.V1_NO_PROPOSAL,
    captured.V2_NO_PROPOSAL,
]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spi(entry: dict) -> bytes:
    req = bytes.fromhex(entry["request"])
    return req[4:12] if entry["port"] == 4500 else req[:8]


def _check(data: bytes, spi: bytes, nat_t: bool) -> None:
    t0 = time.perf_counter()
    r = parse_reply(data, spi_i=spi, nat_t=nat_t, earlier_spis=[b"\x01" * 8])
    assert isinstance(r.kind, ReplyKind)
    assert r.detail and "parser error" not in r.detail, r.detail
    json.dumps(r.to_json())
    nat = nat_detection(r, local_address="10.0.0.2", local_port=4500, remote_address="192.0.2.10", remote_port=500)
    json.dumps(nat.to_json())
    # bounded work: a 64 KiB datagram is parsed in well under a second
    assert time.perf_counter() - t0 < 1.0


@FUZZ
@given(data=st.binary(max_size=2048), spi=st.binary(min_size=8, max_size=8), nat_t=st.booleans())
def test_random_bytes(data: bytes, spi: bytes, nat_t: bool) -> None:
    _check(data, spi, nat_t)


@FUZZ
@given(
    data=st.binary(max_size=1024),
    nat_t=st.booleans(),
    version=st.sampled_from([0x10, 0x20]),
    exchange=st.sampled_from([2, 4, 5, 34, 35, 37]),
    flags=st.integers(0, 255),
    first=st.integers(0, 255),
)
def test_random_payloads_behind_a_valid_header(
    data: bytes, nat_t: bool, version: int, exchange: int, flags: int, first: int
) -> None:
    spi = b"\x5a" * 8
    header = struct.pack("!8s8sBBBBII", spi, b"\x11" * 8, first, version, exchange, flags, 0, 28 + len(data))
    _check((b"\0" * 4 if nat_t else b"") + header + data, spi, nat_t)


@FUZZ
@given(
    which=st.integers(0, len(RECORDED) - 1),
    edits=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
)
def test_mutated_real_replies(which: int, edits: list[tuple[int, int, int]]) -> None:
    entry = RECORDED[which]
    _check(_mutate(bytes.fromhex(entry["reply"]), edits), _spi(entry), entry["port"] == 4500)


EDITS = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10_000), st.integers(0, 255)), max_size=8)
KX = captured.V1_KEY_EXCHANGE
KX_COOKIE = bytes.fromhex(KX["mm1"])[:8]


@FUZZ
@given(edits=EDITS, algorithm=st.sampled_from([None, *ikev1.HASH_ALGORITHMS.values()]))
def test_mutated_main_mode_4(edits: list[tuple[int, int, int]], algorithm: str | None) -> None:
    """Message 4 and the IKEv1 NAT detection over it, whatever the gateway's bytes."""
    data = _mutate(bytes.fromhex(KX["mm4"]), edits)
    _check(data, KX_COOKIE, False)
    r = parse_reply(data, spi_i=KX_COOKIE)
    nat = nat_detection(r, local_address="192.168.10.10", local_port=500, remote_address="192.0.2.10",
                        remote_port=500, algorithm=algorithm)
    json.dumps(nat.to_json())
    assert nat.measured is False or r.kind is ReplyKind.IKEV1_KEY_EXCHANGE


@FUZZ
@given(edits=EDITS, nat_t=st.booleans())
def test_main_mode_3_from_mutated_main_mode_2(edits: list[tuple[int, int, int]], nat_t: bool) -> None:
    """Whatever message 2 says, building message 3 either works or says why it cannot."""
    r = parse_reply(_mutate(bytes.fromhex(KX["mm2"]), edits), spi_i=KX_COOKIE)
    try:
        req = ikev1.build_main_mode_3(r, local=("192.168.10.10", 500), remote=("192.0.2.10", 500), nat_t=nat_t)
    except ikev1.CannotContinue:
        return
    parsed = parse_reply(req.packet, spi_i=req.cookie_i, nat_t=nat_t)  # our own message 3 is well formed
    assert parsed.kind is ReplyKind.IKEV1_KEY_EXCHANGE and len(parsed.natd_source) == 1


def _mutate(reply: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(reply)
    for op, pos, value in edits:
        if not data:
            break
        i = pos % len(data)
        if op == 0:
            data[i] ^= 1 << (value % 8)
        elif op == 1:
            del data[i:]
        elif op == 2:
            data[i:i] = bytes([value]) * (value % 7 + 1)
        elif op == 3:
            data[i] = value
        else:
            # splice a 16-bit length somewhere (payload/proposal/transform lengths)
            data[i : i + 2] = struct.pack("!H", value * 37 % 65536)
    return bytes(data)


@FUZZ
@given(st.binary(max_size=512))
def test_sa_parsers(body: bytes) -> None:
    for parse in (ikev2.parse_sa, ikev1.parse_sa):
        proposal, err = parse(body)
        assert proposal is None or err is None
        if proposal is not None:
            json.dumps(proposal.to_json())


@FUZZ
@given(st.binary(max_size=512), st.integers(0, 255), st.integers(0, 600))
def test_walk_and_attributes(data: bytes, first: int, start: int) -> None:
    chain = walk_payloads(data, first, start, len(data))
    assert len(chain.payloads) <= 64
    attrs, _err = parse_attributes(data)
    assert len(attrs) <= 32


def test_worst_case_datagram_is_fast() -> None:
    """65 KB of minimal payloads: the cap on the chain keeps this cheap."""
    spi = b"\x5a" * 8
    body = b"".join(struct.pack("!BBH", 43, 0, 4) for _ in range(16000)) + struct.pack("!BBH", 0, 0, 4)
    data = struct.pack("!8s8sBBBBII", spi, b"\x11" * 8, 43, 0x20, 34, 0x20, 0, 28 + len(body)) + body
    t0 = time.perf_counter()
    r = parse_reply(data, spi_i=spi)
    assert r.kind is ReplyKind.BAD_PAYLOAD
    assert time.perf_counter() - t0 < 0.1
