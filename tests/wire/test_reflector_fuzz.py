"""Hostile input for everything that parses bytes from the network in the reflector
and its probes: nothing may raise, and no reply may be larger than its request."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicnet.reflector.core import Core, JsonLog, Limits
from clinicnet.wire import reflector as w

TOKEN = b"ABCDEFGH"
OBS = w.Observation("203.0.113.9", 40000, 0)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_messages() -> list[bytes]:
    req = w.build_request(TOKEN, size=200, reply_size=150)
    parsed = w.parse_request(req)
    assert parsed is not None
    esp = w.build_esp_request(1000, 1, size=100)
    esp_req = w.parse_esp_request(esp)
    assert esp_req is not None
    delayed = w.build_request(TOKEN, size=120, port4500=True, delay_ms=30_000)
    delayed_req = w.parse_request(delayed, port4500=True)
    assert delayed_req is not None
    return [req, w.build_request(TOKEN, port4500=True), w.build_reply(parsed, OBS) or b"", esp,
            w.build_esp_reply(esp_req, OBS) or b"", delayed,
            w.build_reply(delayed_req, OBS, delay_ms=30_000, waited_ms=30_001) or b""]


def mutated() -> st.SearchStrategy[bytes]:
    """Valid messages with bytes flipped, cut or appended: reaches deep into the parsers."""
    base = st.sampled_from(_valid_messages())

    def mutate(args: tuple[bytes, list[tuple[int, int]], int, bytes]) -> bytes:
        data, flips, cut, tail = args
        b = bytearray(data)
        for pos, val in flips:
            if b:
                b[pos % len(b)] = val
        return bytes(b[: max(0, len(b) - cut)]) + tail

    return st.tuples(base, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
                     st.integers(0, 40), st.binary(max_size=40)).map(mutate)


ANY = st.one_of(st.binary(max_size=600), mutated())


@FUZZ
@given(data=ANY, natt=st.booleans())
def test_wire_parsers_never_raise(data, natt):
    w.parse_request(data, port4500=natt)
    w.parse_reply(data, port4500=natt)
    w.parse_esp_request(data, in_udp=natt)
    w.parse_esp_reply(data, in_udp=natt)
    w.classify_4500(data)
    w.ipv4_payload(data)


@FUZZ
@given(data=ANY, natt=st.booleans(), frag=st.integers(0, 70000), ttl=st.integers(0, 300))
def test_core_never_raises_and_never_amplifies(data, natt, frag, ttl):
    core = Core(Limits(per_source_burst=1e9, per_source_rate=1e9, global_burst=1e9, global_rate=1e9),
                JsonLog(stream=io.StringIO()))
    obs = w.Observation("203.0.113.9", 40000, len(data), ttl, frag, 500)
    for reply in (core.udp(data, natt, obs), core.esp(data, obs)):
        if reply is not None:
            assert len(reply) <= len(data)
    assert core.stats.max_amplification <= 1.0


@FUZZ
@given(data=ANY, natt=st.booleans(), port=st.integers(0, 65535))
def test_delayed_answers_from_hostile_input_never_amplify(data, natt, port):
    """Whatever a (mutated) v2 request asks for, what leaves the queue later is no larger."""
    clock = [0.0]
    core = Core(Limits(per_source_burst=1e9, per_source_rate=1e9, global_burst=1e9, global_rate=1e9),
                JsonLog(stream=io.StringIO()), lambda: clock[0])
    obs = w.Observation("203.0.113.9", port, len(data), 64, 0, 4500)
    core.udp(data, natt, obs, route="r")
    core.udp(data, natt, obs, route="r")  # the same again: held once
    assert core.pending() <= 1
    clock[0] = 1e6
    for due in core.due():
        assert len(due.reply) <= len(data) and due.dest == ("203.0.113.9", port)
    assert core.pending() == 0 and core.stats.max_amplification <= 1.0
