"""The reflector server on loopback: options, rate limits, stats, signals, bounded memory under load.

Everything here talks to 127.0.0.0/8 only; the load test is bounded in count and time.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from clinicnet.agent import cli
from clinicnet.reflector.core import Core, JsonLog, Limits, RateLimiter, source_key
from clinicnet.wire import reflector as w
from tests.reflector.loopback import loopback_reflector

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_per_source_and_refill():
    clock = Clock()
    rl = RateLimiter(Limits(per_source_rate=10, per_source_burst=5), clock)
    assert [rl.allow("a", 1) for _ in range(6)] == [True] * 5 + [False]
    assert rl.allow("b", 1)  # another source has its own bucket
    clock.t += 0.5  # 5 tokens back
    assert [rl.allow("a", 1) for _ in range(6)] == [True] * 5 + [False]


def test_global_bucket_caps_many_sources():
    clock = Clock()
    rl = RateLimiter(Limits(per_source_burst=100, global_burst=10, global_rate=1), clock)
    assert sum(rl.allow(f"10.0.0.{i}", 1) for i in range(50)) == 10


def test_source_table_is_bounded_and_forgets_idle_sources():
    clock = Clock()
    rl = RateLimiter(Limits(max_sources=8, window_s=10), clock)
    for i in range(100):
        rl.allow(f"10.0.{i // 250}.{i % 250}", 1)
    assert len(rl) == 8 and rl.evictions == 92
    clock.t += 11
    assert rl.expire() == 8 and len(rl) == 0


def test_core_counts_malformed_too_small_and_keepalives():
    core = Core(log=JsonLog(io.StringIO()))
    obs = w.Observation("192.0.2.1", 1000, 0)
    assert core.udp(b"garbage", False, obs) is None
    assert core.udp(b"\xff", True, obs) is None
    req = w.build_request(b"12345678")
    assert core.udp(req[:-1], False, obs) is None  # length field no longer matches: malformed
    reply = core.udp(req, False, obs)
    assert reply is not None and len(reply) == len(req)
    s = core.stats.to_json(core.limiter)
    assert s["malformed"] == 2 and s["keepalives"] == 1 and s["answered"]["ike500"] == 1
    assert s["max_amplification"] == 1.0


def test_rate_limited_replies_are_counted():
    core = Core(Limits(per_source_burst=3, per_source_rate=0.001), JsonLog(io.StringIO()))
    req = w.build_request(b"12345678")
    obs = w.Observation("192.0.2.1", 1000, len(req))
    answers = [core.udp(req, False, obs) for _ in range(10)]
    assert sum(a is not None for a in answers) == 2  # cost is 1 + size/1024 per reply
    assert core.stats.rate_limited == 8


def test_cli_usage_errors(capsys):
    assert cli.main(["reflector", "--ports", "500"]) == 2
    assert "--ports" in capsys.readouterr().err
    assert cli.main(["reflector", "--bind", "not-an-ip"]) == 2
    assert cli.main(["reflector", "--rate", "0"]) == 2


@pytest.mark.parametrize("option,value", [
    ("--rate", "nan"), ("--rate", "inf"), ("--rate", "-5"), ("--burst", "nan"), ("--burst", "inf"),
    ("--burst", "0.5"), ("--global-rate", "nan"), ("--global-rate", "inf"), ("--global-rate", "0"),
    ("--max-sources", "0"), ("--max-sources", "-1"), ("--max-delay", "nan"), ("--max-delay", "0"),
    ("--max-delay", "181"), ("--max-pending", "0"),
])
def test_numbers_that_would_switch_a_limit_off_are_refused(capsys, option, value):
    """nan compares false with everything, so ``--rate nan`` used to pass the check and disable the limit."""
    assert cli.main(["reflector", "--bind", "127.0.0.1", "--no-esp", option, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err, err


def _ports_arg() -> str:
    a, b = _free_ports()
    return f"{a},{b}"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root drops privileges")
def test_unknown_user_is_a_usage_error_before_binding(capsys):
    code = cli.main(["reflector", "--bind", "127.0.0.1", "--ports", _ports_arg(), "--no-esp",
                     "--user", "nosuchuser-clinicnet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nosuchuser-clinicnet" in err, err


def test_bind_of_an_address_this_host_lacks_is_a_usage_error(capsys):
    # 203.0.113.0/24 is documentation space: no host here has it, and binding sends nothing
    code = cli.main(["reflector", "--bind", "203.0.113.77", "--ports", _ports_arg(), "--no-esp"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "203.0.113.77" in err and "Traceback" not in err, err
    assert "not an address of this host" in err


def test_ipv6_sources_share_a_bucket_per_64():
    clock = Clock()
    rl = RateLimiter(Limits(per_source_rate=0.001, per_source_burst=10), clock)
    same_64 = [f"2001:db8:1:2::{i:x}" for i in range(1, 101)]
    assert sum(rl.allow(a, 1) for a in same_64) == 10  # one site, one burst, however many addresses
    assert rl.allow("2001:db8:1:3::1", 1)  # the next /64 is another site
    assert len(rl) == 2
    assert source_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert source_key("192.0.2.7") == "192.0.2.7" and source_key("::ffff:192.0.2.7") == "192.0.2.7"


def test_an_evicted_source_keeps_its_debt():
    """A sender with more addresses than the table holds gets no fresh burst by being forgotten."""
    clock = Clock()  # time stands still: no bucket refills
    rl = RateLimiter(Limits(per_source_rate=1.0, per_source_burst=3, max_sources=4), clock)
    senders = [f"198.51.100.{i}" for i in range(1, 41)]
    allowed = sum(rl.allow(a, 1) for _round in range(10) for a in senders)
    assert rl.evictions > 300 and len(rl) == 4
    assert allowed <= 3 * len(senders), allowed  # each address at most its one burst over all rounds
    # the debt is paid off with time like any bucket's
    clock.t += 10
    assert rl.allow(senders[0], 1)


def test_expiry_does_not_forgive_debt():
    clock = Clock()
    rl = RateLimiter(Limits(per_source_rate=0.01, per_source_burst=5, window_s=10), clock)
    assert sum(rl.allow("192.0.2.9", 1) for _ in range(5)) == 5
    clock.t += 11  # idle past the window: forgotten from the table, bucket refilled by only 0.11
    assert rl.expire() == 1 and len(rl) == 0
    assert not rl.allow("192.0.2.9", 1)


@pytest.fixture
def server():
    """A reflector on 127.0.0.1 (ephemeral ports, no raw ESP) in a thread."""
    with loopback_reflector() as srv:
        yield srv


def _ask(port: int, payload: bytes, source: str = "127.0.0.1", timeout: float = 1.0) -> bytes | None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(payload, ("127.0.0.1", port))
        return s.recv(65535)
    except TimeoutError:
        return None
    finally:
        s.close()


def test_server_answers_ike_natt_and_esp_in_udp(server):
    ike_port, natt_port = server.endpoints[0].port, server.endpoints[1].port
    rep = w.parse_reply(_ask(ike_port, w.build_request(b"abcdefgh", size=300)) or b"")
    assert rep is not None and rep.observation.address == "127.0.0.1" and rep.observation.local_port == ike_port
    assert rep.observation.received_len == 300
    rep = w.parse_reply(_ask(natt_port, w.build_request(b"abcdefgh", port4500=True)) or b"", port4500=True)
    assert rep is not None
    esp = w.build_esp_request(4242, 1, size=64)
    rep = w.parse_esp_reply(_ask(natt_port, esp) or b"", in_udp=True)
    assert rep is not None and rep.token == esp[:8] and rep.size == 64


def test_load_is_bounded_and_memory_stays_flat(server):
    """20k datagrams from 200 loopback addresses: table bounded, memory flat, never amplifies.

    The kernel may drop any share of a flood on loopback (more so on a loaded machine), so
    nothing here depends on how many datagrams arrived: only on what the server did with them.
    """
    port = server.endpoints[0].port
    good = w.build_request(b"loadload", size=200, reply_size=200)
    socks = []
    for i in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.1.{i // 250}.{i % 250 + 1}", 0))
        s.setblocking(False)
        socks.append(s)

    def blast(n: int) -> None:
        end = time.monotonic() + 10
        for k in range(n):
            payload = good if k % 3 else os.urandom(k % 700)
            try:
                socks[k % len(socks)].sendto(payload, ("127.0.0.1", port))
            except BlockingIOError:
                pass
            if k % 500 == 0:
                for s in socks:  # drain replies so buffers do not fill
                    try:
                        while True:
                            s.recv(65535)
                    except (BlockingIOError, OSError):
                        pass
                time.sleep(0.001)
            if time.monotonic() > end:
                break

    tracemalloc.start()
    try:
        blast(3000)
        time.sleep(0.3)
        before = tracemalloc.get_traced_memory()[0]
        blast(20000)
        time.sleep(0.3)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        for s in socks:
            s.close()
    stats = server.core.stats
    # Only what the server promises; how many datagrams the kernel delivered under load is not one of them.
    got = stats.received["udp_ike"]
    assert got > 0, "nothing reached the server: the test measured nothing"
    # every datagram that arrived was accounted for exactly once
    assert stats.malformed + stats.too_small + stats.rate_limited + stats.answered["ike500"] == got
    assert len(server.core.limiter) <= 64  # the source table stays bounded
    assert stats.max_amplification <= 1.0  # never more bytes out than in
    assert stats.bytes_out <= stats.bytes_in
    assert after - before < 256 * 1024, (before, after)  # flat memory
    # and it still answers a newcomer afterwards
    req = w.build_request(b"afterfld")
    assert any(_ask(port, req, source="127.2.0.1") is not None for _ in range(3))


def _free_ports() -> tuple[int, int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = (socks[0].getsockname()[1], socks[1].getsockname()[1])
    for s in socks:
        s.close()
    return ports


def test_process_logs_start_stats_on_sigusr1_and_stops_on_sigterm(tmp_path):
    log = tmp_path / "r.jsonl"
    a, b = _free_ports()
    proc = subprocess.Popen(
        [sys.executable, "-m", "clinicnet", "reflector", "--bind", "127.0.0.1", "--ports", f"{a},{b}",
         "--no-esp", "--log", str(log)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        def event(name: str) -> dict:
            end = time.monotonic() + 10
            while time.monotonic() < end:
                for line in log.read_text().splitlines() if log.exists() else []:
                    rec = json.loads(line)
                    if rec["event"] == name:
                        return rec
                time.sleep(0.05)
            raise AssertionError(f"no {name} in {log.read_text() if log.exists() else ''}")

        start = event("start")
        assert start["bound"] == [f"udp 127.0.0.1:{a}", f"udp 127.0.0.1:{b} (NAT-T)"]
        if os.geteuid() == 0:
            assert event("privileges")["action"] == "dropped"
        assert _ask(a, w.build_request(b"sigsigsi")) is not None
        proc.send_signal(signal.SIGUSR1)
        assert event("stats")["answered"]["ike500"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        assert event("stop")["answered"]["ike500"] == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
