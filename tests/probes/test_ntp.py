"""The SNTP probe: the wire format, hostile replies, and real exchanges with a small server on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicnet.model import Status
from clinicnet.probes import ntp
from clinicnet.probes.interface import ProbeContext

SERVER = Path(__file__).resolve().parents[1] / "lab" / "sntpserver.py"


def test_request_is_an_rfc4330_client_message_with_the_nonce_as_transmit_time() -> None:
    pkt = ntp.build_request(0x0123456789ABCDEF)
    assert len(pkt) == 48 and pkt[0] == 0x23  # LI 0, VN 4, mode 3
    assert pkt[1:40] == b"\0" * 39 and pkt[40:] == bytes.fromhex("0123456789abcdef")


def test_offset_and_delay() -> None:
    # server 10 s ahead, 0.2 s each way, 0.1 s in the server
    t1 = 1000.0
    t2, t3, t4 = t1 + 0.2 + 10, t1 + 0.3 + 10, t1 + 0.5
    off, delay = ntp.offset_and_delay(t1, t2, t3, t4)
    assert off == pytest.approx(10.0) and delay == pytest.approx(0.4)
    assert ntp.from_ntp(ntp.to_ntp(1_796_000_000.25)) == pytest.approx(1_796_000_000.25, abs=1e-6)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused_never_raise(data: bytes) -> None:
    r = ntp.parse_reply(data)
    assert r is None or r["mode"] in (4, 5)


def test_a_client_request_is_not_a_reply() -> None:
    assert ntp.parse_reply(ntp.build_request(1)) is None


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sntp() -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str = "ok", offset: float = 0.0) -> int:
        port = _free_udp_port()
        p = subprocess.Popen([sys.executable, str(SERVER), "--bind", "127.0.0.1", "--port", str(port),
                              "--offset", str(offset), "--mode", mode], stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        return port

    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_an_offset_clock_is_measured_to_the_millisecond(sntp) -> None:
    port = sntp(offset=600)
    r = ntp.query("127.0.0.1", time.monotonic() + 2, port=port)
    assert r["state"] == "answered" and r["sent"] == 1
    assert r["offset_s"] == pytest.approx(-600, abs=0.05)  # the server is ahead: the PC is behind
    assert r["delay_s"] is not None and 0 <= r["delay_s"] < 0.5 and r["stratum"] == 2


@pytest.mark.parametrize("mode,state", [("kod", "kiss_of_death"), ("unsync", "unsynchronised")])
def test_a_server_that_says_do_not_use_me_is_not_used(sntp, mode: str, state: str) -> None:
    r = ntp.query("127.0.0.1", time.monotonic() + 2, port=sntp(mode=mode))
    assert r["state"] == state and r["offset_s"] is None


def test_garbage_is_recorded_and_the_deadline_holds(sntp) -> None:
    t0 = time.monotonic()
    r = ntp.query("127.0.0.1", t0 + 1.0, port=sntp(mode="garbage"))
    assert r["state"] == "not_ntp" and r["offset_s"] is None and r["sent"] == ntp.ATTEMPTS
    assert time.monotonic() - t0 < 1.3


def test_a_closed_port_is_port_unreachable_not_a_timeout() -> None:
    t0 = time.monotonic()
    r = ntp.query("127.0.0.1", t0 + 2, port=_free_udp_port())
    assert r["state"] == "port_unreachable" and time.monotonic() - t0 < 1.0


def test_silence_is_a_timeout_within_the_deadline() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))
        t0 = time.monotonic()
        r = ntp.query("127.0.0.1", t0 + 0.9, port=quiet.getsockname()[1])
        assert r["state"] == "timeout" and r["sent"] == ntp.ATTEMPTS
        assert 0.85 <= time.monotonic() - t0 < 1.2


def test_nothing_is_sent_unless_a_server_is_configured() -> None:
    r = ntp.probe(ProbeContext())
    assert r.status is Status.SKIPPED and r.reason_code == "no_server"


def test_probe_reports_the_median_of_the_servers_that_answered(sntp, monkeypatch) -> None:
    ports = {"a.test": sntp(offset=100), "b.test": sntp(offset=102), "c.test": sntp(mode="kod")}
    real = ntp.query
    monkeypatch.setattr(ntp, "query", lambda server, deadline: {**real("127.0.0.1", deadline, port=ports[server]), "server": server})
    ctx = ProbeContext(probe_settings={"ntp_servers": tuple(ports)}, deadline=time.monotonic() + 2)
    r = ntp.probe(ctx)
    assert r.status is Status.OK and r.reason_code == "offset"
    assert r.values["clock_offset_s"] == pytest.approx(-101, abs=0.1)
    assert r.values["clock_references"] == ["ntp://a.test", "ntp://b.test"]
