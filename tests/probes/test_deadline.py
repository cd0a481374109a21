"""Deadlines that hold: the run's shared lookups (resent on Windows' schedule), ``run_all``
(daemon threads, nothing joined at exit) and ``read_until`` (an absolute deadline a
dripping peer cannot stretch). Loopback only; ``getaddrinfo`` is replaced where a
resolver's behaviour is the subject."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from clinicnet.probes import _deadline


@pytest.fixture
def fast_schedule(monkeypatch):
    monkeypatch.setattr(_deadline, "RETRY_AT_S", (0.0, 0.15, 0.3, 0.6))
    yield
    _deadline.end_run()


def test_a_lookup_is_resent_while_the_resolver_is_silent(monkeypatch, fast_schedule):
    calls = []
    never = threading.Event()

    def getaddrinfo(host, port, family=0, socktype=0):
        calls.append(time.monotonic())
        if len(calls) == 1:
            never.wait(5)  # the first query was lost: the system resolver waits its own timeout
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 0))]

    monkeypatch.setattr(_deadline.socket, "getaddrinfo", getaddrinfo)
    t0 = time.monotonic()
    got = _deadline.resolve("vpn.example", 2.0, family=socket.AF_INET)
    never.set()
    assert got.addresses == ("192.0.2.7",) and got.attempts == 2
    assert 0.1 <= time.monotonic() - t0 < 0.5 and got.seconds is not None and got.seconds < 0.5


def test_an_answer_even_a_negative_one_ends_the_lookup(monkeypatch, fast_schedule):
    calls = []

    def getaddrinfo(host, port, family=0, socktype=0):
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(_deadline.socket, "getaddrinfo", getaddrinfo)
    got = _deadline.resolve("typo.example", 1.0, family=socket.AF_INET)
    time.sleep(0.4)  # past two more resend times: none may happen
    assert isinstance(got.error, socket.gaierror) and got.attempts == 1 and calls == ["typo.example"]


def test_silence_times_out_at_the_callers_deadline(monkeypatch, fast_schedule):
    never = threading.Event()

    def getaddrinfo(*_a, **_k):
        never.wait(5)
        raise socket.gaierror(socket.EAI_AGAIN, "x")

    monkeypatch.setattr(_deadline.socket, "getaddrinfo", getaddrinfo)
    t0 = time.monotonic()
    got = _deadline.resolve("dead.example", 0.5, family=socket.AF_INET)
    never.set()
    assert got.timed_out and 0.45 <= time.monotonic() - t0 < 0.7 and got.attempts >= 2


def test_a_run_asks_each_name_and_family_once(monkeypatch, fast_schedule):
    calls = []

    def getaddrinfo(host, port, family=0, socktype=0):
        calls.append((host, family))
        return [(family, socket.SOCK_STREAM, 6, "", ("192.0.2.8", 0))]

    monkeypatch.setattr(_deadline.socket, "getaddrinfo", getaddrinfo)
    run = _deadline.run_lookups()
    run.start_all(["a.example", "A.example", "192.0.2.1"])
    for _ in range(3):
        assert _deadline.resolve("a.example", 1.0, family=socket.AF_INET, port=500).addresses == ("192.0.2.8",)
        assert _deadline.resolve("a.example", 1.0, family=socket.AF_INET6).addresses == ("192.0.2.8",)
    assert _deadline.run_lookups() is run
    _deadline.end_run()
    assert _deadline.run_lookups() is not run
    assert sorted(calls) == sorted([("a.example", socket.AF_INET), ("a.example", socket.AF_INET6)])
    # a literal never reaches the resolver, and a family it is not is an error
    assert _deadline.resolve("192.0.2.1", 1.0, family=socket.AF_INET).addresses == ("192.0.2.1",)
    assert _deadline.resolve("192.0.2.1", 1.0, family=socket.AF_INET6).error is not None


def test_run_all_abandons_what_overruns_in_daemon_threads():
    release = threading.Event()
    t0 = time.monotonic()
    outs = _deadline.run_all([lambda: 1, lambda: release.wait(10), lambda: 1 / 0], time.monotonic() + 0.3)
    assert time.monotonic() - t0 < 0.5
    assert outs[0].value == 1 and outs[1].timed_out and isinstance(outs[2].error, ZeroDivisionError)
    assert all(t.daemon for t in threading.enumerate() if t.name == "clinicnet-call")
    release.set()


def _drip_server(interval: float, payload: bytes) -> tuple[socket.socket, threading.Event]:
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return

            def drip(conn: socket.socket = conn) -> None:
                with conn:
                    try:
                        conn.recv(4096)
                        for i in range(len(payload)):
                            if stop.is_set():
                                return
                            conn.sendall(payload[i:i + 1])
                            time.sleep(interval)
                    except OSError:
                        return

            threading.Thread(target=drip, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv, stop


def test_read_until_is_one_deadline_for_a_dripping_peer():
    srv, stop = _drip_server(0.02, b"x" * 10_000)
    try:
        with socket.create_connection(srv.getsockname(), timeout=1) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            t0 = time.monotonic()
            data, ended = _deadline.read_until(sock, t0 + 0.5, 1 << 20)
            took = time.monotonic() - t0
    finally:
        stop.set()
        srv.close()
    assert ended == "deadline" and 0 < len(data) < 100 and took < 0.6


def test_the_internet_probe_against_a_drip_ends_on_time_and_leaves_no_thread_to_join():
    """concurrent.futures workers are joined at interpreter exit: a drip kept the process
    alive for a minute after the report. Now the probe ends by its deadline and every
    thread it leaves behind is a daemon."""
    from clinicnet.model import Status
    from clinicnet.probes import internet
    from clinicnet.probes.interface import ProbeContext

    srv, stop = _drip_server(0.03, b"HTTP/1.1 200 OK\r\n" + b"X-Drip: ...........\r\n" * 1000)
    before = set(threading.enumerate())
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/generate_204"
        t0 = time.monotonic()
        result = internet.probe(ProbeContext(internet_checks=(url,), deadline=time.monotonic() + 1.0))
        took = time.monotonic() - t0
        left = [t for t in set(threading.enumerate()) - before if t.is_alive() and not t.daemon]
    finally:
        stop.set()
        srv.close()
    assert took < 1.15, took
    assert left == [], left
    assert result.status is Status.OK
    v4 = result.values["checks"][0]["ipv4"]
    assert v4["state"] == "reachable" and v4["http_status"] == 200 and "cut short" in v4["detail"]


def test_select_with_nothing_registered_waits_instead_of_failing() -> None:
    """Windows' select() refuses three empty sets (WSAEINVAL); the probes' wait must not call it then."""
    import selectors
    import time

    from clinicnet.probes import _deadline

    class WindowsLikeSelector(selectors.SelectSelector):
        def select(self, timeout=None):  # type: ignore[no-untyped-def]
            if not self.get_map():
                raise OSError(10022, "An invalid argument was supplied")
            return super().select(timeout)

    sel = WindowsLikeSelector()
    t0 = time.monotonic()
    assert _deadline.select(sel, 0.2) == []
    assert 0.18 <= time.monotonic() - t0 < 0.5
    sel.close()
