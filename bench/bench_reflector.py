"""Reflector throughput on one core and its amplification factor (loopback only).

- in-process: the decision code alone (``Core.udp``: parse, rate-limit, build the
  reply) on valid requests, probes per second; and a flood in which each request
  comes from a new IPv4 address or IPv6 /64 (the source table evicting, debts kept);
- end to end: ``clinicnet reflector`` as a process pinned to one CPU on 127.0.0.1,
  a client pinned to another keeping a window of requests in flight for a fixed
  time; probes per second answered (rate limits raised out of the way);
- amplification: largest reply / request over every combination of request size
  and requested reply size, plus the server's own ``max_amplification`` counter.

Bounded: at most ``--seconds`` of traffic, all to 127.0.0.1. Measured, never
asserted. Run: ``python bench/bench_reflector.py [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinicnet.reflector.core import Core, JsonLog, Limits  # noqa: E402
from clinicnet.wire import reflector as w  # noqa: E402

UNLIMITED = Limits(per_source_rate=1e12, per_source_burst=1e12, global_rate=1e12, global_burst=1e12)


def in_process(seconds: float) -> float:
    core = Core(UNLIMITED, JsonLog(io.StringIO()))
    req = w.build_request(b"benchben", size=100)
    obs = w.Observation("192.0.2.1", 40000, len(req), 60, 0, 500)
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(1000):
            core.udp(req, False, obs)
        n += 1000
    return n / seconds


def distinct_sources(seconds: float, v6: bool) -> tuple[float, float]:
    """A flood in which every datagram comes from a new address (the table full, evicting all the
    time), default limits: decisions per second, and the share answered (the global bucket caps it)."""
    core = Core(Limits(), JsonLog(io.StringIO()))
    req = w.build_request(b"benchsrc", size=100)
    n = answered = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(1000):
            address = f"2001:db8:{n >> 16 & 0xFFFF:x}:{n & 0xFFFF:x}::1" if v6 else f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            answered += core.udp(req, False, w.Observation(address, 40000, len(req), 60, 0, 500)) is not None
            n += 1
    return n / seconds, answered / n


def amplification() -> float:
    core = Core(UNLIMITED, JsonLog(io.StringIO()))
    worst = 0.0
    for size in (0, 72, 73, 100, 576, 1400, 2000, 4000, 9000, 65000):
        for want in (0, 1, 72, 100, 1500, 4000, 65535):
            for natt in (False, True):
                req = w.build_request(b"amplampl", size=size, reply_size=want, port4500=natt)
                reply = core.udp(req, natt, w.Observation("192.0.2.1", 1, len(req)))
                if reply is not None:
                    worst = max(worst, len(reply) / len(req))
        esp = w.build_esp_request(4096, 1, size=size)
        reply = core.esp(esp, w.Observation("192.0.2.1", 0, len(esp)))
        if reply is not None:
            worst = max(worst, len(reply) / len(esp))
    return worst


def _free_ports() -> tuple[int, int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = (socks[0].getsockname()[1], socks[1].getsockname()[1])
    for s in socks:
        s.close()
    return ports


def end_to_end(seconds: float, window: int) -> tuple[float, dict]:
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = cpus[0], cpus[-1]
    a, b = _free_ports()
    log = Path(tempfile.mkdtemp(prefix="bench-reflector-")) / "r.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "clinicnet", "reflector", "--bind", "127.0.0.1", "--ports", f"{a},{b}", "--no-esp",
         "--rate", "1e12", "--burst", "1e12", "--global-rate", "1e12", "--log", str(log)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=lambda: os.sched_setaffinity(0, {server_cpu}),
    )
    try:
        os.sched_setaffinity(0, {client_cpu})
        deadline = time.monotonic() + 10
        while not (log.exists() and '"start"' in log.read_text()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"reflector did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.connect(("127.0.0.1", a))
        s.settimeout(0.2)
        req = w.build_request(b"e2e-benc", size=100)
        answered = 0
        t0 = time.perf_counter()
        end = t0 + seconds
        while time.perf_counter() < end:
            for _ in range(window):
                s.send(req)
            for _ in range(window):
                try:
                    s.recv(2048)
                    answered += 1
                except TimeoutError:
                    break
        rate = answered / (time.perf_counter() - t0)
        s.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
        stop = [json.loads(line) for line in log.read_text().splitlines() if '"stop"' in line][-1]
        return rate, stop
    finally:
        os.sched_setaffinity(0, set(cpus))
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--window", type=int, default=128)
    args = ap.parse_args()
    seconds = min(args.seconds, 30.0)
    core_rate = in_process(min(seconds, 2.0))
    flood4 = distinct_sources(min(seconds, 2.0), v6=False)
    flood6 = distinct_sources(min(seconds, 2.0), v6=True)
    amp = amplification()
    e2e, stop = end_to_end(seconds, max(1, min(args.window, 256)))
    print(f"in-process decisions (Core.udp):       {core_rate:>10,.0f} probes/s")
    for name, (rate, share) in (("IPv4 addresses", flood4), ("IPv6 /64s", flood6)):
        print(f"in-process, each from new {name:<14}{rate:>8,.0f} probes/s ({share:.1%} answered)")
    print(f"end to end on one core (loopback UDP): {e2e:>10,.0f} probes/s")
    print(f"amplification (largest reply/request): {amp:.3f} (all size combinations)")
    print(f"amplification seen by the server:      {stop['max_amplification']:.3f}; "
          f"bytes out/in {stop['bytes_out']}/{stop['bytes_in']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
