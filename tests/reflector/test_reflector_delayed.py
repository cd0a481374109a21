"""Delayed answers (reflector protocol v2): bounds, cap, amplification, rate limits, and the
server sending them from the port the request came to (loopback only)."""

from __future__ import annotations

import io
import json
import socket
import time

import pytest

from clinicnet.reflector.core import Core, JsonLog, Limits
from clinicnet.reflector.server import conntrack_delay_cap
from clinicnet.wire import reflector as w
from tests.reflector.loopback import loopback_reflector

OBS = w.Observation("203.0.113.9", 40000, 0, 60, 0, 4500)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _core(clock: Clock, **limits: float) -> Core:
    return Core(Limits(**limits), JsonLog(io.StringIO()), clock)  # type: ignore[arg-type]


def _req(delay_ms: int, token: bytes = b"ABCDEFGH", size: int = 0, natt: bool = True) -> bytes:
    return w.build_request(token, size=size, port4500=natt, delay_ms=delay_ms)


def _obs(data: bytes, address: str = "203.0.113.9", port: int = 40000) -> w.Observation:
    return w.Observation(address, port, len(data), 60, 0, 4500)


def test_a_delayed_request_is_answered_once_after_its_delay():
    clock = Clock()
    core = _core(clock)
    data = _req(10_000)
    assert core.udp(data, True, _obs(data), route="r") is None
    assert core.pending() == 1 and core.next_due() == pytest.approx(1010.0)
    clock.t += 9.9
    assert core.due() == []
    clock.t += 0.2
    (due,) = core.due()
    assert due.route == "r" and due.dest == ("203.0.113.9", 40000)
    rep = w.parse_reply(due.reply, port4500=True)
    assert rep is not None and rep.version == 2 and rep.delayed and not rep.delay_capped
    assert rep.delay_ms == 10_000 and rep.waited_ms == 10_100 and rep.max_delay_ms == 180_000
    assert rep.token == b"ABCDEFGH" and rep.observation.port == 40000
    assert core.due() == [] and core.pending() == 0
    assert core.stats.delayed["sent"] == 1 and core.stats.answered["ike4500"] == 1


def test_a_resend_of_the_same_request_is_not_answered_twice():
    clock = Clock()
    core = _core(clock)
    data = _req(5000)
    core.udp(data, True, _obs(data))
    core.udp(data, True, _obs(data))
    assert core.pending() == 1 and core.stats.delayed["duplicate"] == 1
    clock.t += 6
    assert len(core.due()) == 1


def test_the_delay_is_capped():
    clock = Clock()
    core = _core(clock, max_delay_s=30.0)
    data = _req(600_000)
    core.udp(data, True, _obs(data))
    assert core.next_due() == pytest.approx(1030.0) and core.stats.delayed["capped"] == 1
    clock.t += 30
    rep = w.parse_reply(core.due()[0].reply, port4500=True)
    assert rep is not None and rep.delay_capped and rep.delay_ms == 30_000 and rep.max_delay_ms == 30_000
    # the protocol's cap holds whatever the limits say
    assert _core(clock, max_delay_s=1e6).max_delay_ms == w.MAX_DELAY_MS


def test_immediate_v2_replies_say_the_longest_delay():
    core = _core(Clock(), max_delay_s=45.0)
    data = _req(0)
    rep = w.parse_reply(core.udp(data, True, _obs(data)) or b"", port4500=True)
    assert rep is not None and rep.version == 2 and not rep.delayed and rep.max_delay_ms == 45_000


def test_pending_is_bounded_per_source_and_in_total():
    clock = Clock()
    core = _core(clock, max_pending_per_source=3, max_pending=5, per_source_burst=1e6, per_source_rate=1e6)
    for i in range(10):
        data = _req(1000, token=bytes([1 + i]) * 8)
        core.udp(data, True, _obs(data, port=40000 + i))
    assert core.pending() == 3 and core.stats.delayed["dropped_source"] == 7
    # an IPv6 /64 is one source, like for the rate limits
    for i in range(3):
        data = _req(1000, token=bytes([50 + i]) * 8)
        core.udp(data, True, _obs(data, address=f"2001:db8:1:2::{i + 1}"))
    assert core.pending() == 5 and core.stats.delayed["dropped_total"] == 1
    clock.t += 2
    assert len(core.due()) == 5 and core.pending() == 0
    data = _req(1000, token=b"\x77" * 8)
    core.udp(data, True, _obs(data))  # room again once sent
    assert core.pending() == 1


def test_delayed_requests_pay_the_rate_limit_when_they_arrive():
    clock = Clock()
    core = _core(clock, per_source_burst=4.5, per_source_rate=0.001)  # a reply costs ~1.08
    for i in range(6):
        data = _req(1000, token=bytes([1 + i]) * 8)
        core.udp(data, True, _obs(data, port=40000 + i))
    assert core.pending() == 4 and core.stats.rate_limited == 2
    clock.t += 2
    assert len(core.due()) == 4  # what was accepted is sent, not charged again


@pytest.mark.parametrize("natt", [False, True])
@pytest.mark.parametrize("size", [0, 84, 88, 100, 300, 1500, 9000])
@pytest.mark.parametrize("reply_size", [0, 200, 65000])
def test_delayed_answers_never_amplify(size, reply_size, natt):
    clock = Clock()
    core = _core(clock)
    data = w.build_request(b"ABCDEFGH", size=size, reply_size=reply_size, port4500=natt, delay_ms=2000)
    core.udp(data, natt, _obs(data))
    clock.t += 3
    (due,) = core.due()
    assert len(due.reply) <= len(data)
    assert core.stats.max_amplification <= 1.0


def test_a_v2_request_too_small_for_a_v2_reply_is_not_held():
    clock = Clock()
    core = _core(clock)
    data = bytearray(_req(1000, natt=False))
    # a v2 body in a message cut to the v1 minimum: the reply (84) would be larger than it (72+)
    short = w.build_request(b"ABCDEFGH", size=76)  # v1, 76 bytes
    body_at = w.IKE_HEADER_LEN + w.NOTIFY_HEADER_LEN
    forged = bytearray(short)
    forged[body_at + 4] = 2
    forged[body_at + 12: body_at + 16] = (1000).to_bytes(4, "big")
    assert w.parse_request(bytes(forged)) is not None
    assert core.udp(bytes(forged), False, _obs(bytes(forged))) is None
    assert core.pending() == 0 and core.stats.too_small == 1
    assert data  # the well-formed one is large enough by construction


def test_v1_requests_still_get_v1_replies():
    core = _core(Clock())
    data = w.build_request(b"ABCDEFGH", size=100)
    assert data[w.IKE_HEADER_LEN + w.NOTIFY_HEADER_LEN + 4] == 1
    reply = core.udp(data, False, _obs(data))
    assert reply is not None and reply[w.IKE_HEADER_LEN + w.NOTIFY_HEADER_LEN + 4] == 1
    rep = w.parse_reply(reply)
    assert rep is not None and rep.version == 1 and rep.max_delay_ms == 0


def test_conntrack_cap_behind_a_dnat(tmp_path):
    f = tmp_path / "udp_timeout"
    f.write_text("30\n")
    out = io.StringIO()
    log = JsonLog(out)
    assert conntrack_delay_cap((500, 4500), 180.0, log, str(f)) == 180.0  # bound to the real ports: no DNAT
    assert conntrack_delay_cap((10500, 14500), 180.0, log, str(f)) == 28.0
    assert "nf_conntrack_udp_timeout" in json.loads(out.getvalue())["message"]
    f.write_text("300\n")
    assert conntrack_delay_cap((10500, 14500), 180.0, log, str(f)) == 180.0
    assert conntrack_delay_cap((10500, 14500), 180.0, log, str(tmp_path / "absent")) == 180.0


@pytest.fixture
def server():
    with loopback_reflector() as srv:
        yield srv


def test_server_sends_delayed_answers_from_the_port_asked(server):
    """Several delays in flight from their own sockets; each answered once, on time, from the
    reflector port it was sent to, while immediate requests keep being answered at once."""
    natt = server.endpoints[1].port
    ike = server.endpoints[0].port
    socks = []
    try:
        sent: dict[int, tuple[socket.socket, float, int, bool]] = {}
        for i, (delay_ms, port) in enumerate(((300, natt), (900, ike), (600, natt))):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(3)
            socks.append(s)
            data = w.build_request(bytes([i + 1]) * 8, port4500=port == natt, delay_ms=delay_ms)
            s.sendto(data, ("127.0.0.1", port))
            sent[i] = (s, time.monotonic(), delay_ms, port == natt)
        # an immediate request is not held up by the waiting ones
        q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        socks.append(q)
        q.settimeout(1)
        q.sendto(w.build_request(b"QQQQQQQQ", delay_ms=0), ("127.0.0.1", ike))
        rep = w.parse_reply(q.recv(2048))
        assert rep is not None and rep.version == 2 and not rep.delayed
        for s, t0, delay_ms, is_natt in sorted(sent.values(), key=lambda x: x[2]):
            data, addr = s.recvfrom(2048)
            waited = time.monotonic() - t0
            rep = w.parse_reply(data, port4500=is_natt)
            assert rep is not None and rep.delayed and rep.delay_ms == delay_ms
            assert addr[1] == (natt if is_natt else ike)
            assert delay_ms / 1000 - 0.05 <= waited <= delay_ms / 1000 + 0.5
            s.settimeout(0.3)
            with pytest.raises(TimeoutError):
                s.recv(2048)  # once
        assert server.core.stats.delayed["sent"] == 3 and server.core.pending() == 0
    finally:
        for s in socks:
            s.close()
