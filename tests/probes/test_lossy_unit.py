"""Loss is not a block, round trips are exact, a local failure is never the network's (issues 9, 10).

The IKE tests run the real engine over loopback against a small responder thread (the
probe's ports moved to ephemeral ones), so retransmission, SPI matching and timing are
the real code; failures of this PC are injected where they happen (an import that fails,
a socket that cannot be created or bound).
"""

from __future__ import annotations

import errno
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from clinicnet.model import Status, Verdict
from clinicnet.probes import _exchange as R
from clinicnet.probes import fragments
from clinicnet.probes.ike import assemble, exchange
from clinicnet.probes.interface import ProbeContext
from clinicnet.reports import verdict
from clinicnet.reports.findings import ike_unreachable, path_lossy
from clinicnet.reports.findings.interface import Evidence
from tests.reports.evidence import pr

# --- loss arithmetic and the ladder --------------------------------------------------------


def test_wilson_bounds_are_honest_with_few_samples() -> None:
    low, high = R.wilson(0, 20)
    assert low == 0.0 and 0.1 < high < 0.15  # twenty clean round trips do not prove "no loss"
    low, high = R.wilson(7, 20)
    assert 0.15 < low < 0.35 < high < 0.55
    assert R.wilson(0, 0) == (0.0, 1.0)


def test_fragment_counts() -> None:
    assert fragments.fragments_of(1500, 1500) == 1
    assert fragments.fragments_of(2000, 1500) == 2
    assert fragments.fragments_of(4000, 1500) == 3
    assert fragments.fragments_of(2000, 1400) == 2


def test_loss_alone_tells_lossy_from_blocked() -> None:
    clean = fragments.measure_loss(20, 20, "test")
    lossy = fragments.measure_loss(30, 19, "test")  # ~36 % of round trips lost: 20 % each way
    assert clean["round_trip"] == 0 and clean["one_way_high"] < 0.1
    assert 0.35 < lossy["round_trip"] < 0.38 and lossy["one_way_high"] > 0.2
    # a 4000-byte request with a 4000-byte reply: 3 fragments each way
    assert fragments.loss_alone(12, 6, clean["one_way_high"]) < fragments.ALPHA  # clean line: a block
    assert fragments.loss_alone(12, 6, lossy["one_way_high"]) > fragments.ALPHA  # lossy: undecided
    assert fragments.loss_alone(3, 3, lossy["one_way_high"]) > 0.1  # the old 3 sends said nothing


def _row(size: int, state: str, loss_alone: float | None = None) -> fragments.LadderRow:
    row: fragments.LadderRow = {"size": size, "state": state, "sent": 12}
    if loss_alone is not None:
        row["loss_alone"] = loss_alone
    return row


def test_a_lossy_ladder_is_no_black_hole() -> None:
    """Issue 10's run: 1500 and 1420 silent, 1440-1492 answered, on a line losing 20 % each way."""
    rows = [_row(s, "answered") for s in fragments.LADDER]
    rows[0] = _row(1500, "silent", 0.2)
    rows[fragments.LADDER.index(1420)] = _row(1420, "silent", 0.2)
    pmtu = fragments.analyse_ladder(rows, 1500)
    assert pmtu["black_hole"] is False and pmtu["path_mtu"] is None
    assert pmtu["monotone"] is False and pmtu["undecided_sizes"] == [1500, 1420]


def test_a_decided_ladder_still_finds_the_black_hole() -> None:
    rows = [_row(s, "answered" if s <= 1400 else "silent", 1e-9 if s > 1400 else None) for s in fragments.LADDER]
    pmtu = fragments.analyse_ladder(rows, 1500)
    assert pmtu["black_hole"] is True and pmtu["path_mtu"] == 1400 and pmtu["monotone"] is True
    # the same ladder with the silence explainable by loss: no claim either way
    rows = [_row(s, "answered" if s <= 1400 else "silent", 0.5 if s > 1400 else None) for s in fragments.LADDER]
    pmtu = fragments.analyse_ladder(rows, 1500)
    assert pmtu["black_hole"] is False and pmtu["path_mtu"] is None


def test_a_meter_counts_loss_only_when_known() -> None:
    p = R.Pending(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), b"x", b"t0", ("127.0.0.1", 9),
                  lambda d: None, meter=True, max_sends=3)
    try:
        now = time.monotonic()
        p.transmissions = [R.Transmission(b"a", now - 5, now - 4.99), R.Transmission(b"b", now - 4),
                           R.Transmission(b"c", now - 0.1)]
        assert p.delivery(now) == (2, 1)  # "c" may still be on its way
    finally:
        p.sock.close()


# --- path.lossy ----------------------------------------------------------------------------


def _fragments_values(samples: int, lost: int) -> Any:
    return pr("fragments", reflector="192.0.2.20", loss=fragments.measure_loss(samples, samples - lost, "test"))


def test_path_lossy_fires_on_measured_loss_only() -> None:
    assert path_lossy.check(Evidence([_fragments_values(30, 11)])) is not None
    assert path_lossy.check(Evidence([_fragments_values(30, 0)])) is None
    assert path_lossy.check(Evidence([_fragments_values(40, 1)])) is None  # one stray loss
    assert path_lossy.check(Evidence([_fragments_values(6, 3)])) is None  # too few to say
    assert path_lossy.check(Evidence([])) is None
    f = path_lossy.check(Evidence([_fragments_values(30, 11)]))
    assert f is not None and f.evidence["round_trip_loss_percent"] == 36.7


# --- the IKE engine over loopback ----------------------------------------------------------

NO_PROPOSAL_CHOSEN = 14


def _no_proposal(request: bytes) -> bytes:
    body = struct.pack("!BBHBBH", 0, 0, 8, 0, 0, NO_PROPOSAL_CHOSEN)
    return struct.pack("!8s8sBBBBII", request[:8], bytes(8), 41, 0x20, request[18], 0x20, 0, 28 + len(body)) + body


class Responder:
    """Answers IKEv2 IKE_SA_INIT with NO_PROPOSAL_CHOSEN on two loopback ports; ``drop`` first
    requests vanish, every answer leaves ``delay`` seconds after its request arrived."""

    def __init__(self, drop: int = 0, delay: float = 0.0) -> None:
        self.drop, self.delay = drop, delay
        self.socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
        for s in self.socks:
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.spis: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        due: list[tuple[float, socket.socket, bytes, Any]] = []
        while not self._stop.is_set():
            for key, _ in sel.select(0.01):
                s = self.socks[0] if key.fileobj is self.socks[0] else self.socks[1]
                data, peer = s.recvfrom(65535)
                marker = s is self.socks[1]
                msg = data[4:] if marker else data
                if len(msg) < 28 or msg[17] != 0x20:
                    continue  # IKEv1 or not IKE: silence
                self.spis.append(msg[:8])
                if self.drop > 0:
                    self.drop -= 1
                    continue
                due.append((time.monotonic() + self.delay, s, (b"\0" * 4 if marker else b"") + _no_proposal(msg), peer))
            now = time.monotonic()
            for item in [d for d in due if d[0] <= now]:
                due.remove(item)
                item[1].sendto(item[2], item[3])
        sel.close()

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for s in self.socks:
            s.close()


@pytest.fixture
def responder_ports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def use(r: Responder) -> None:
        for mod in (exchange, assemble):
            monkeypatch.setattr(mod, "IKE_PORT", r.ports[0])
            monkeypatch.setattr(mod, "NAT_T_PORT", r.ports[1])

    yield use


def _run(timeout: float = 2.0, privileged: bool = False) -> Any:
    ctx = ProbeContext(targets=("127.0.0.1",), timeout=timeout, privileged=privileged,
                       deadline=time.monotonic() + timeout)
    return assemble.run(ctx)


def _v2(result: Any) -> list[dict[str, Any]]:
    return [a for a in result.values["targets"][0]["attempts"] if a["ike_version"] == 2 and a["answered"]]


def test_a_lost_first_request_is_timed_from_the_resend(responder_ports: Any) -> None:
    with Responder(drop=2) as r:
        responder_ports(r)
        result = _run()
    answered = _v2(result)
    assert result.status is Status.OK and answered
    for a in answered:
        assert a["sent"] >= 2 and a["rtt_ms"] < 300, a  # from the retransmission it answers
    assert len(set(r.spis)) == len(r.spis)  # every transmission had its own SPI


def test_a_late_answer_is_timed_from_its_own_request(responder_ports: Any) -> None:
    """On a slow path the answer to the first send arrives after the 0.5 s resend: its
    round trip is the real 0.6 s, not the 0.1 s since the resend (issue 10's 6 ms)."""
    with Responder(delay=0.6) as r:
        responder_ports(r)
        result = _run(timeout=2.5)
    answered = _v2(result)
    assert answered
    for a in answered:
        assert 590 <= a["rtt_ms"] < 900, a


def test_without_cryptography_ikev2_falls_back_to_modp(responder_ports: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """cryptography's native module will not load (Wine 8, issue 9): IKEv2 still goes out."""
    import cryptography.hazmat.primitives.asymmetric as asymmetric

    for name in ("ec", "x25519"):
        # the import now raises ImportError, as a native module that will not load does
        monkeypatch.setitem(sys.modules, f"{asymmetric.__name__}.{name}", None)
        monkeypatch.delattr(asymmetric, name, raising=False)
    with Responder() as r:
        responder_ports(r)
        result = _run()
    assert result.status is Status.OK and _v2(result)
    notes = " ".join(result.values["targets"][0]["notes"])
    assert "MODP2048" in notes and "import of cryptography" in notes


def _failing_socket(monkeypatch: pytest.MonkeyPatch, *, on: str) -> None:
    real = socket.socket

    class Broken(real):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if on == "create":
                raise OSError(errno.EMFILE, "Too many open files")
            super().__init__(*args, **kwargs)

        def bind(self, address: Any) -> None:
            raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(exchange.socket, "socket", Broken)


def test_no_socket_is_a_local_error_never_unreachable(responder_ports: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with Responder() as r:
        responder_ports(r)
        _failing_socket(monkeypatch, on="create")
        result = _run(timeout=1.5)
    monkeypatch.undo()
    assert result.status is Status.ERROR and result.reason_code == "local_error"
    assert all(a["outcome"] == "local_error" for a in result.values["targets"][0]["attempts"])
    assert "this PC" in result.reason
    ev = Evidence([result])
    assert ike_unreachable.check(ev) is None  # nothing measured about the network
    internet = pr("internet", ipv4_ok=True)
    assert verdict.decide([], [result, internet]) is Verdict.INCONCLUSIVE


def test_a_bind_failure_is_local(responder_ports: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchange, "source_port_500_free", lambda family: "ok")
    with Responder() as r:
        responder_ports(r)
        _failing_socket(monkeypatch, on="bind")
        result = _run(privileged=True)
    monkeypatch.undo()
    fixed = [a for a in result.values["targets"][0]["attempts"] if a["fixed_source_port"]]
    assert fixed and fixed[0]["outcome"] == "local_error" and "on this PC" in fixed[0]["detail"]
    assert result.status is Status.OK  # the other attempts measured the network


def test_local_ports_have_one_owner() -> None:
    ports = R.LocalIkePorts()
    assert ports.take("ike", 0)
    assert ports.holder == "ike"
    assert not ports.take("nat_mapping", 0.05)
    released = threading.Timer(0.1, ports.release)
    released.start()
    assert ports.take("nat_mapping", 2.0) and ports.holder == "nat_mapping"
    ports.release()


def test_udp500_silence_explained_by_loss_is_no_block() -> None:
    from clinicnet.reports.findings import ike_udp500_blocked
    from tests.reports.evidence import ike_target

    t = ike_target(udp500="silent", udp4500="answered")
    t["attempts"] = [{"port": 500, "ike_version": 2, "outcome": "timeout", "sent": 2, "answered": False}]
    ike = pr("ike", targets=[t])
    assert ike_udp500_blocked.check(Evidence([ike])) is not None  # no loss measured: as before
    assert ike_udp500_blocked.check(Evidence([ike, _fragments_values(30, 0)])) is not None  # clean line
    assert ike_udp500_blocked.check(Evidence([ike, _fragments_values(30, 15)])) is None  # 2 sends, 50 % loss
    t["attempts"][0]["sent"] = 12
    assert ike_udp500_blocked.check(Evidence([pr("ike", targets=[t]), _fragments_values(30, 15)])) is not None


# --- the reflector exchange: a fresh token per transmission --------------------------------


class SlowReflector:
    """A loopback reflector that drops the first ``drop`` requests and answers the rest after
    ``delay`` seconds (the wire module's own request parser and reply builder)."""

    def __init__(self, drop: int, delay: float) -> None:
        from clinicnet.wire import reflector as wire

        self.wire = wire
        self.drop, self.delay = drop, delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        due: list[tuple[float, bytes, Any]] = []
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
                req = self.wire.parse_request(data)
                if req is not None:
                    if self.drop > 0:
                        self.drop -= 1
                    else:
                        reply = self.wire.build_reply(req, self.wire.Observation(peer[0], peer[1], len(data)))
                        if reply is not None:
                            due.append((time.monotonic() + self.delay, reply, peer))
            except TimeoutError:
                pass
            now = time.monotonic()
            for item in [d for d in due if d[0] <= now]:
                due.remove(item)
                self.sock.sendto(item[1], item[2])

    def __enter__(self) -> SlowReflector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_reflector_round_trip_is_from_the_transmission_answered() -> None:
    """First request lost, the second (0.2 s later) answered after 0.3 s: 300 ms, not 500."""
    with SlowReflector(drop=1, delay=0.3) as refl:
        sock = R.udp_socket()
        try:
            p = R.ike_pending(sock, "127.0.0.1", refl.port, natt=False, max_sends=4, interval=0.2)
            R.exchange([p], time.monotonic() + 2.0)
        finally:
            sock.close()
    assert p.answered and p.rtt_ms is not None and 290 <= p.rtt_ms < 420, p.rtt_ms
    assert len({t.token for t in p.transmissions}) == p.sends >= 2


def test_a_meter_keeps_counting_after_its_first_answer() -> None:
    with SlowReflector(drop=2, delay=0.0) as refl:
        sock = R.udp_socket()
        try:
            meter = R.ike_pending(sock, "127.0.0.1", refl.port, natt=False, meter=True, max_sends=6, interval=0.05)
            R.exchange([meter], time.monotonic() + 3.0)
        finally:
            sock.close()
    assert meter.sends == 6
    assert R.loss_sample([meter]) == (6, 4)  # the two dropped ones counted once their grace ran out
