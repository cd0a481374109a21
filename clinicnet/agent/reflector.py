"""``clinicnet reflector``: the server the ESP, NAT-mapping and fragment probes talk to.

A clinic PC cannot see its own NAT, ESP filter or fragment-dropping router from
inside; something on the internet has to say "this is what arrived". The
reflector answers IKE-shaped requests on UDP 500/4500 and ESP probes (raw IP
protocol 50 and ESP-in-UDP) with what it observed: source address and port,
size, TTL and whether the datagram came in fragments. The wire format is in
``clinicnet.wire.reflector`` and docs/reflector.md.

It runs on a public host, so it is built not to be abusable:

* a reply is never larger than its request (``wire.reflector.reply_budget``,
  the only place sizes are decided), so reflection gains an attacker nothing;
* per-source token buckets in a bounded LRU table, plus one global bucket;
  entries idle longer than the window are forgotten, nothing else is kept;
* one receive buffer per datagram, no queues: memory stays flat whatever arrives;
* malformed input is counted and dropped, never logged one line per packet;
* root is dropped (setuid to ``--user``) right after the sockets are bound.

Fragment detection uses ``IP_RECVFRAGSIZE`` (Linux >= 4.10): the kernel
reassembles as usual and hands the size of the largest fragment as ancillary
data, which is absent for a datagram that arrived whole. This works on an
ordinary UDP socket, so no sniffing of fragments on a raw socket is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import ipaddress
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from clinicnet.agent import reflector_cli
from clinicnet.errors import UsageError
from clinicnet.wire import reflector as wire

# Linux socket option numbers Python's socket module does not export.
IP_PKTINFO = 8
IP_MTU_DISCOVER = 10
IP_RECVTTL = 12
IP_TTL = 2
IP_RECVFRAGSIZE = 25
IP_PMTUDISC_DONT = 0
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
IPV6_MTU_DISCOVER = 23
IPV6_RECVFRAGSIZE = 77
IPPROTO_ESP = 50

RECV_BUF = 65535
ANC_BUF = 256
#: datagrams read from one socket before the loop looks at the others again
BATCH = 64



@dataclass(frozen=True)
class Limits:
    """Rate limits; the defaults allow a full ``clinicnet diagnose`` (~100 probes) per source."""

    per_source_rate: float = reflector_cli.DEFAULT_RATE  # tokens per second
    per_source_burst: float = reflector_cli.DEFAULT_BURST
    global_rate: float = reflector_cli.DEFAULT_GLOBAL_RATE
    global_burst: float = 2 * reflector_cli.DEFAULT_GLOBAL_RATE
    max_sources: int = reflector_cli.DEFAULT_MAX_SOURCES
    #: seconds after which an idle source is forgotten (its bucket would be full again anyway)
    window_s: float = 10.0


def cost(reply_len: int) -> float:
    """Tokens one reply costs: one per packet plus one per KiB, so big replies count."""
    return 1.0 + reply_len / 1024.0


class RateLimiter:
    """Token buckets per source address in a bounded LRU table, and one global bucket.

    Keyed by address only (not port): the abuse unit is a host, and a NAT
    gateway's many ports must not multiply its budget.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._table: OrderedDict[str, tuple[float, float]] = OrderedDict()  # addr -> (tokens, stamp)
        self._global = (limits.global_burst, clock())
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._table)

    @staticmethod
    def _refill(tokens: float, stamp: float, now: float, rate: float, burst: float) -> float:
        return min(burst, tokens + max(0.0, now - stamp) * rate)

    def allow(self, source: str, amount: float) -> bool:
        lim = self.limits
        now = self._clock()
        g_tokens = self._refill(*self._global, now, lim.global_rate, lim.global_burst)
        entry = self._table.pop(source, None)
        if entry is None:
            tokens = lim.per_source_burst
            while len(self._table) >= lim.max_sources:
                self._table.popitem(last=False)
                self.evictions += 1
        else:
            tokens = self._refill(entry[0], entry[1], now, lim.per_source_rate, lim.per_source_burst)
        ok = tokens >= amount and g_tokens >= amount
        if ok:
            tokens -= amount
            g_tokens -= amount
        self._table[source] = (tokens, now)  # most recent last
        self._global = (g_tokens, now)
        return ok

    def expire(self) -> int:
        """Forget sources idle for longer than the window; returns how many."""
        cutoff = self._clock() - self.limits.window_s
        n = 0
        while self._table:
            addr, (_tokens, stamp) = next(iter(self._table.items()))
            if stamp >= cutoff:
                break
            del self._table[addr]
            n += 1
        return n


@dataclass
class Stats:
    """Counters only: a fixed set of integers, whatever arrives."""

    started: float = field(default_factory=time.time)
    received: dict[str, int] = field(default_factory=lambda: {"udp_ike": 0, "udp_natt": 0, "esp": 0})
    answered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(wire.TRANSPORTS, 0))
    malformed: int = 0
    too_small: int = 0
    rate_limited: int = 0
    keepalives: int = 0
    send_errors: int = 0
    fragmented: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    #: the largest reply/request ratio ever sent (must stay <= 1.0)
    max_amplification: float = 0.0

    def to_json(self, limiter: RateLimiter | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "uptime_s": round(time.time() - self.started, 1),
            "received": dict(self.received),
            "answered": dict(self.answered),
            "malformed": self.malformed,
            "too_small": self.too_small,
            "rate_limited": self.rate_limited,
            "keepalives": self.keepalives,
            "send_errors": self.send_errors,
            "fragmented": self.fragmented,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "max_amplification": round(self.max_amplification, 4),
        }
        if limiter is not None:
            out["sources_tracked"] = len(limiter)
            out["source_evictions"] = limiter.evictions
        return out


class JsonLog:
    """One JSON object per line: greppable, and ingestible by journald/jq."""

    def __init__(self, stream: IO[str] | None = None, verbose: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.verbose = verbose

    def __call__(self, event: str, **fields: Any) -> None:
        rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, **fields}
        try:
            self.stream.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed log must not stop the service


class Core:
    """The decisions, without sockets: parse, rate-limit, build the reply.

    Separated so that tests, fuzzing and the benchmark drive exactly the code the
    server runs.
    """

    def __init__(self, limits: Limits | None = None, log: JsonLog | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limiter = RateLimiter(limits or Limits(), clock)
        self.stats = Stats()
        self.log = log or JsonLog(verbose=False)

    def _finish(self, req: wire.Request | None, reply: bytes | None, source: str, size: int) -> bytes | None:
        if req is None:
            self.stats.malformed += 1
            return None
        if reply is None:
            self.stats.too_small += 1
            return None
        if len(reply) > size:  # unreachable by construction; the assert in wire says the same
            raise AssertionError("reply larger than request")
        if not self.limiter.allow(source, cost(len(reply))):
            self.stats.rate_limited += 1
            return None
        self.stats.answered[req.transport] += 1
        self.stats.bytes_out += len(reply)
        self.stats.max_amplification = max(self.stats.max_amplification, len(reply) / size)
        if self.log.verbose:
            self.log("probe", transport=req.transport, source=source, size=size, reply=len(reply))
        return reply

    def udp(self, data: bytes, natt: bool, obs: wire.Observation) -> bytes | None:
        """Reply (UDP payload) to a datagram on the IKE port (``natt`` False) or NAT-T port."""
        self.stats.received["udp_natt" if natt else "udp_ike"] += 1
        self.stats.bytes_in += len(data)
        if obs.fragmented:
            self.stats.fragmented += 1
        req: wire.Request | None
        reply: bytes | None = None
        if natt:
            kind = wire.classify_4500(data)
            if kind == "keepalive":
                self.stats.keepalives += 1
                return None
            if kind == "esp":
                req = wire.parse_esp_request(data, in_udp=True)
                if req is not None:
                    reply = wire.build_esp_reply(req, obs)
                return self._finish(req, reply, obs.address, len(data))
        req = wire.parse_request(data, port4500=natt)
        if req is not None:
            reply = wire.build_reply(req, obs, spi_r=_spi_r(req.token))
        return self._finish(req, reply, obs.address, len(data))

    def esp(self, payload: bytes, obs: wire.Observation) -> bytes | None:
        """Reply (ESP packet, from the SPI on) to a raw ESP packet."""
        self.stats.received["esp"] += 1
        self.stats.bytes_in += len(payload)
        req = wire.parse_esp_request(payload)
        reply = wire.build_esp_reply(req, obs) if req is not None else None
        return self._finish(req, reply, obs.address, len(payload))


def _spi_r(token: bytes) -> bytes:
    """A responder SPI that is non-zero and differs per request, like a real responder's."""
    return hashlib.blake2b(token, digest_size=8, person=b"clinicnet-rfl").digest()


# ---------------------------------------------------------------------------
# Sockets
# ---------------------------------------------------------------------------


@dataclass
class Endpoint:
    sock: socket.socket
    kind: str  # "udp" or "esp"
    family: int
    address: str
    port: int  # 0 for ESP
    natt: bool = False

    def describe(self) -> str:
        if self.kind == "esp":
            return f"esp {self.address}"
        host = f"[{self.address}]" if self.family == socket.AF_INET6 else self.address
        return f"udp {host}:{self.port}" + (" (NAT-T)" if self.natt else "")


def _family(address: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def _wildcard(address: str) -> bool:
    return ipaddress.ip_address(address).is_unspecified


def open_udp(address: str, port: int, natt: bool) -> Endpoint:
    fam = _family(address)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            s.setsockopt(socket.IPPROTO_IP, IP_RECVFRAGSIZE, 1)
            # Large replies must leave as fragments, not be refused for DF.
            s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            with contextlib.suppress(OSError):
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVFRAGSIZE, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IP_PMTUDISC_DONT)
        s.bind((address, port))
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return Endpoint(s, "udp", fam, address, s.getsockname()[1], natt)


def open_esp(address: str) -> Endpoint:
    fam = _family(address)
    s = socket.socket(fam, socket.SOCK_RAW, IPPROTO_ESP)
    try:
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
        if not _wildcard(address):
            s.bind((address, 0))
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return Endpoint(s, "esp", fam, address, 0)


@dataclass(frozen=True)
class Ancillary:
    local: str | None = None  # destination address of the received packet
    ttl: int = 0
    frag: int = 0


def parse_ancillary(anc: Iterable[tuple[int, int, bytes]]) -> Ancillary:
    local: str | None = None
    ttl = 0
    frag = 0
    for level, ctype, data in anc:
        if level == socket.IPPROTO_IP:
            if ctype == IP_PKTINFO and len(data) >= 12:
                local = socket.inet_ntop(socket.AF_INET, data[8:12])
            elif ctype == IP_TTL and len(data) >= 4:
                ttl = struct.unpack("=i", data[:4])[0]
            elif ctype == IP_RECVFRAGSIZE and len(data) >= 4:
                frag = struct.unpack("=i", data[:4])[0]
        elif level == socket.IPPROTO_IPV6:
            if ctype == IPV6_PKTINFO and len(data) >= 16:
                local = socket.inet_ntop(socket.AF_INET6, data[:16])
            elif ctype == IPV6_HOPLIMIT and len(data) >= 4:
                ttl = struct.unpack("=i", data[:4])[0]
            elif ctype == IPV6_RECVFRAGSIZE and len(data) >= 4:
                frag = struct.unpack("=i", data[:4])[0]
    return Ancillary(local, ttl, frag)


def _pktinfo(ep: Endpoint, local: str | None) -> list[tuple[int, int, bytes]]:
    """Ancillary data that makes a wildcard socket answer from the address that was asked."""
    if local is None or not _wildcard(ep.address):
        return []
    if ep.family == socket.AF_INET:
        return [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, socket.inet_aton(local), bytes(4)))]
    return [(socket.IPPROTO_IPV6, IPV6_PKTINFO, socket.inet_pton(socket.AF_INET6, local) + bytes(4))]


class Reflector:
    """The server loop: one thread, non-blocking sockets, a selector and a wake-up pipe."""

    def __init__(self, endpoints: Sequence[Endpoint], core: Core) -> None:
        self.endpoints = list(endpoints)
        self.core = core
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = False
        self._want_stats = False

    # -- control, safe from signal handlers and other threads ---------------
    def stop(self) -> None:
        self._stop = True
        self._poke()

    def request_stats(self) -> None:
        self._want_stats = True
        self._poke()

    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        if hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, lambda *_: self.request_stats())

    # -- the loop ------------------------------------------------------------
    def serve(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            for ep in self.endpoints:
                sel.register(ep.sock, selectors.EVENT_READ, ep)
            sel.register(self._wake_r, selectors.EVENT_READ, None)
            last_sweep = time.monotonic()
            while not self._stop:
                for key, _ in sel.select(timeout=1.0):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(64)
                        continue
                    self._drain(key.data)
                if self._want_stats:
                    self._want_stats = False
                    self.core.log("stats", **self.core.stats.to_json(self.core.limiter))
                now = time.monotonic()
                if now - last_sweep >= 1.0:
                    self.core.limiter.expire()
                    last_sweep = now
        finally:
            sel.close()

    def _drain(self, ep: Endpoint) -> None:
        for _ in range(BATCH):
            try:
                data, anc, _flags, addr = ep.sock.recvmsg(RECV_BUF, ANC_BUF)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # e.g. a queued ICMP error on the UDP socket: nothing to answer
            info = parse_ancillary(anc)
            try:
                self._answer(ep, data, addr, info)
            except Exception as exc:  # noqa: BLE001 - one bad packet must not stop the service
                self.core.stats.malformed += 1
                self.core.log("error", where="answer", error=f"{type(exc).__name__}: {exc}")

    def _answer(self, ep: Endpoint, data: bytes, addr: Any, info: Ancillary) -> None:
        if ep.kind == "udp":
            obs = wire.Observation(addr[0], addr[1], len(data), info.ttl, info.frag, ep.port)
            reply = self.core.udp(data, ep.natt, obs)
            dest = (addr[0], addr[1])
        else:
            if ep.family == socket.AF_INET:
                parsed = wire.ipv4_payload(data)
                if parsed is None:
                    self.core.stats.malformed += 1
                    return
                source, ttl, payload = parsed
            else:
                source, ttl, payload = addr[0], info.ttl, data
            obs = wire.Observation(source, 0, len(payload), ttl, info.frag, 0)
            reply = self.core.esp(payload, obs)
            dest = (source, 0)
        if reply is None:
            return
        try:
            ep.sock.sendmsg([reply], _pktinfo(ep, info.local), 0, dest)
        except OSError:
            self.core.stats.send_errors += 1

    def close(self) -> None:
        for ep in self.endpoints:
            ep.sock.close()
        self._wake_r.close()
        self._wake_w.close()


# ---------------------------------------------------------------------------
# Start-up: bind, drop privileges, serve
# ---------------------------------------------------------------------------


def bind_all(addresses: Sequence[str], ports: tuple[int, int], esp: bool, log: JsonLog) -> list[Endpoint]:
    """Open every socket; a wildcard IPv6 bind may fail quietly on a host without IPv6."""
    endpoints: list[Endpoint] = []
    try:
        for address in addresses:
            implicit_v6 = address == "::" and len(addresses) == 2 and "0.0.0.0" in addresses
            try:
                for port, natt in ((ports[0], False), (ports[1], True)):
                    endpoints.append(open_udp(address, port, natt))
                if esp:
                    endpoints.append(open_esp(address))
            except OSError as exc:
                if implicit_v6:
                    log("warning", message=f"IPv6 not available: {exc.strerror or exc}")
                    while endpoints and endpoints[-1].address == address:
                        endpoints.pop().sock.close()
                    continue
                raise
    except OSError:
        for ep in endpoints:
            ep.sock.close()
        raise
    return endpoints


def drop_privileges(user: str, log: JsonLog) -> None:
    """Give up root once the sockets are bound: a parser bug must not hand out root.

    Raw and privileged-port sockets stay usable after setuid (the capability is
    checked when they are made). Does nothing when not started as root (e.g.
    systemd's DynamicUser with ambient capabilities). Every module the serving
    loop uses is imported at the top of this file, not lazily: after the drop the
    interpreter's own files may be unreadable (a Python installed under /root).
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        log("privileges", action="none", reason="not running as root")
        return
    import pwd

    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    _no_new_privs()
    log("privileges", action="dropped", user=user, uid=pw.pw_uid, gid=pw.pw_gid)


def _no_new_privs() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except (ImportError, OSError, AttributeError):  # some Pythons are built without ctypes
        pass


def parse_ports(text: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise UsageError(f"--ports must be two port numbers like 500,4500, not {text!r}") from None
    if len(parts) != 2 or not all(0 < p < 65536 for p in parts) or parts[0] == parts[1]:
        raise UsageError(f"--ports must be two different port numbers like 500,4500, not {text!r}")
    return parts[0], parts[1]


def run(args: argparse.Namespace) -> int:
    """Entry point of ``clinicnet reflector``; returns the exit code."""
    ports = parse_ports(args.ports)
    addresses: list[str] = args.bind or ["0.0.0.0", "::"]
    for a in addresses:
        try:
            ipaddress.ip_address(a)
        except ValueError:
            raise UsageError(f"--bind needs an IP address, not {a!r}") from None
    if args.rate <= 0 or args.burst < 1 or args.max_sources < 1 or args.global_rate <= 0:
        raise UsageError("--rate, --burst, --global-rate and --max-sources must be positive")
    stream: IO[str] | None = None
    if args.log:
        try:
            stream = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the server
        except OSError as exc:
            raise UsageError(f"cannot open log file {args.log}: {exc.strerror or exc}") from None
    log = JsonLog(stream, verbose=args.verbose)
    limits = Limits(per_source_rate=args.rate, per_source_burst=args.burst, max_sources=args.max_sources,
                    global_rate=args.global_rate, global_burst=2 * args.global_rate)
    try:
        endpoints = bind_all(addresses, ports, not args.no_esp, log)
    except PermissionError as exc:
        log("error", message=f"cannot bind: {exc.strerror or exc}; ports below 1024 and raw ESP need "
                             "root or CAP_NET_BIND_SERVICE and CAP_NET_RAW (or use --ports/--no-esp)")
        return 1
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = ("; an IKE daemon that binds the wildcard address (strongSwan's charon does) holds the "
                    "port on every address: use other --ports and an nftables DNAT from 500/4500 "
                    "(packaging/REFLECTOR.md)")
        log("error", message=f"cannot bind: {exc.strerror or exc}{hint}")
        return 1
    try:
        drop_privileges(args.user, log)
    except (KeyError, OSError) as exc:
        log("error", message=f"cannot drop privileges to {args.user!r}: {exc}")
        for ep in endpoints:
            ep.sock.close()
        return 1
    core = Core(limits, log)
    server = Reflector(endpoints, core)
    server.install_signals()
    log("start", version=wire.VERSION, bound=[ep.describe() for ep in endpoints], pid=os.getpid(),
        limits={"rate": limits.per_source_rate, "burst": limits.per_source_burst, "global_rate": limits.global_rate,
                "max_sources": limits.max_sources, "window_s": limits.window_s})
    try:
        server.serve()
    finally:
        log("stop", **core.stats.to_json(core.limiter))
        server.close()
        if stream is not None:
            stream.close()
    return 0
