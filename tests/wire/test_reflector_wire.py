"""The reflector wire format: round trips, the amplification rule, strict parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicnet.wire import reflector as w

TOKEN = b"\x01\x02\x03\x04\x05\x06\x07\x08"
OBS = w.Observation("198.51.100.2", 40000, 100, ttl=61, max_fragment=1500, local_port=500)


def test_request_is_ike_sa_init_shaped():
    req = w.build_request(TOKEN)
    spi_i, spi_r, np, ver, exch, flags, msgid, length = w.IKE_HEADER.unpack_from(req)
    assert (spi_i, spi_r, np, ver, exch, flags, msgid) == (TOKEN, bytes(8), 41, 0x20, 34, 0x08, 0)
    assert length == len(req) == w.MIN_IKE_REPLY  # padded so that the smallest reply fits


@pytest.mark.parametrize("natt", [False, True])
def test_round_trip(natt):
    req_bytes = w.build_request(TOKEN, size=3000, reply_size=2000, port4500=natt)
    assert len(req_bytes) == 3000
    req = w.parse_request(req_bytes, port4500=natt)
    assert req is not None and req.token == TOKEN and req.reply_size == 2000
    out = w.build_reply(req, OBS)
    assert out is not None and len(out) == 2000
    rep = w.parse_reply(out, port4500=natt)
    assert rep is not None
    assert rep.token == TOKEN and rep.observation == OBS and rep.fragmented_request
    _, _, _, _, _, flags, _, _ = w.IKE_HEADER.unpack_from(out[4:] if natt else out)
    assert flags == w.FLAG_RESPONSE


def test_reply_is_clamped_to_the_request():
    req = w.parse_request(w.build_request(TOKEN, size=100, reply_size=60000))
    assert req is not None
    out = w.build_reply(req, OBS)
    assert out is not None and len(out) == 100
    rep = w.parse_reply(out)
    assert rep is not None and rep.clamped


def test_ipv6_observation_round_trips():
    obs = w.Observation("2001:db8::1", 500, 72)
    req = w.parse_request(w.build_request(TOKEN))
    assert req is not None
    rep = w.parse_reply(w.build_reply(req, obs) or b"")
    assert rep is not None and rep.observation.address == "2001:db8::1"


def test_esp_round_trip_in_udp_and_raw():
    pkt = w.build_esp_request(0x1234, 9, size=200)
    for in_udp in (False, True):
        req = w.parse_esp_request(pkt, in_udp=in_udp)
        assert req is not None and req.token == pkt[:8]
        out = w.build_esp_reply(req, OBS)
        assert out is not None and len(out) == 200 and out[:8] == pkt[:8]
        rep = w.parse_esp_reply(out, in_udp=in_udp)
        assert rep is not None and rep.observation == OBS
        assert bool(rep.flags & w.F_ESP_IN_UDP) == in_udp


def test_classify_4500():
    assert w.classify_4500(b"\xff") == "keepalive"
    assert w.classify_4500(w.build_request(TOKEN, port4500=True)) == "ike"
    assert w.classify_4500(w.build_esp_request(300, 1)) == "esp"


def test_parsers_reject_each_others_messages():
    req = w.build_request(TOKEN)
    parsed = w.parse_request(req)
    assert parsed is not None
    reply = w.build_reply(parsed, OBS)
    assert reply is not None
    assert w.parse_reply(req) is None  # a request is not a reply (loops between reflectors die)
    assert w.parse_request(reply) is None
    assert w.parse_request(req, port4500=True) is None  # no marker
    esp = w.build_esp_request(300, 1)
    esp_req = w.parse_esp_request(esp)
    assert esp_req is not None
    assert w.parse_esp_request(w.build_esp_reply(esp_req, OBS) or b"") is None


def test_small_requests_are_not_answered():
    req = w.parse_request(w.build_request(TOKEN))
    assert req is not None
    short = w.Request("ike500", TOKEN, 0, 0, w.MIN_IKE_REPLY - 1)
    assert w.build_reply(short, OBS) is None
    assert w.reply_budget(10, 1000, 72) is None


def test_bad_tokens_and_spis_refused():
    with pytest.raises(ValueError):
        w.build_request(bytes(8))
    with pytest.raises(ValueError):
        w.build_esp_request(255, 1)
    with pytest.raises(ValueError):
        w.build_esp_request(300, 0)


@given(request_len=st.integers(-10, 70000), wanted=st.integers(0, 70000), minimum=st.integers(1, 200))
def test_reply_budget_never_amplifies(request_len, wanted, minimum):
    size = w.reply_budget(request_len, wanted, minimum)
    if size is not None:
        assert minimum <= size <= request_len


@given(size=st.integers(0, 9000), reply_size=st.integers(0, 70000), natt=st.booleans())
def test_built_replies_never_exceed_requests(size, reply_size, natt):
    data = w.build_request(TOKEN, size=size, reply_size=reply_size, port4500=natt)
    req = w.parse_request(data, port4500=natt)
    assert req is not None
    out = w.build_reply(req, OBS)
    assert out is not None and len(out) <= len(data)


# --- version 2: delayed answers -------------------------------------------------------------


@pytest.mark.parametrize("natt", [False, True])
def test_v2_round_trip_with_delay(natt):
    data = w.build_request(TOKEN, port4500=natt, delay_ms=45_000)
    assert len(data) == w.MIN_IKE_REPLY_V2 + (4 if natt else 0)
    req = w.parse_request(data, port4500=natt)
    assert req is not None and req.version == 2 and req.delay_ms == 45_000
    obs = w.Observation("198.51.100.2", 40001, len(data), 60, 0, 4500)
    reply = w.build_reply(req, obs, delay_ms=30_000, waited_ms=30_012, max_delay_ms=30_000)
    assert reply is not None and len(reply) <= len(data)
    rep = w.parse_reply(reply, port4500=natt)
    assert rep is not None and rep.version == 2 and rep.delayed and rep.delay_capped
    assert (rep.delay_ms, rep.waited_ms, rep.max_delay_ms) == (30_000, 30_012, 30_000)
    assert rep.observation == obs


def test_requests_without_a_delay_stay_version_1():
    """Every probe but the binding one must keep working with a version-1 reflector."""
    data = w.build_request(TOKEN)
    assert len(data) == w.MIN_IKE_REPLY
    req = w.parse_request(data)
    assert req is not None and req.version == 1 and req.delay_ms == 0
    assert w.build_request(TOKEN, delay_ms=0) != data  # an explicit 0 asks for v2 (capability check)


def test_a_v1_parser_would_drop_v2_messages():
    """A version-1 reflector counts a v2 request as malformed: the version byte is where it was."""
    data = w.build_request(TOKEN, delay_ms=1000)
    body = data[w.IKE_HEADER_LEN + w.NOTIFY_HEADER_LEN:]
    magic, version, mtype, *_ = w.REQUEST_BODY.unpack_from(body)
    assert (magic, version, mtype) == (w.MAGIC, 2, w.T_REQUEST)


def test_truncated_v2_bodies_are_refused():
    data = bytearray(w.build_request(TOKEN, size=80))  # v1, 80 bytes
    data[w.IKE_HEADER_LEN + w.NOTIFY_HEADER_LEN + 4] = 2
    # a v2 request needs 16 body bytes: it has them here (padding), so it parses, with delay 0
    assert w.parse_request(bytes(data)) is not None
    # an unknown version is refused
    data[w.IKE_HEADER_LEN + w.NOTIFY_HEADER_LEN + 4] = 3
    assert w.parse_request(bytes(data)) is None
    with pytest.raises(ValueError):
        w.build_request(TOKEN, delay_ms=-1)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, w.MAX_DATAGRAM), reply_size=st.integers(0, 70000), natt=st.booleans(),
       delay=st.integers(0, 0xFFFFFFFF), waited=st.integers(-5, 2**40))
def test_v2_replies_never_exceed_requests(size, reply_size, natt, delay, waited):
    data = w.build_request(TOKEN, size=size, reply_size=reply_size, port4500=natt, delay_ms=delay)
    req = w.parse_request(data, port4500=natt)
    assert req is not None and req.delay_ms == delay
    reply = w.build_reply(req, w.Observation("203.0.113.9", 1, len(data)), delay_ms=min(delay, w.MAX_DELAY_MS),
                          waited_ms=waited)
    assert reply is not None and len(reply) <= len(data)
