"""The reflector's decisions, without sockets: parse, rate-limit, build the reply, count.

Kept apart from the serving loop so that tests, fuzzing and the benchmark drive
exactly the code the server runs. What makes the server safe to run on a public
host lives here:

* a reply is never larger than its request (``wire.reflector.reply_budget``,
  the only place sizes are decided), so reflection gains an attacker nothing;
* per-source token buckets in a bounded LRU table, plus one global bucket.
  A source is an IPv4 address or an IPv6 /64 (one site gets a /64 or more, so
  counting its addresses one by one would hand it 2**64 buckets). A source
  pushed out of the full table leaves its debt behind in a fixed array of debt
  slots, so a sender with more addresses than the table holds gets no fresh
  burst by being forgotten;
* delayed answers (protocol version 2, for the NAT binding lifetime) wait in
  one heap, bounded per source and in total; the delay is capped; the request
  pays its rate-limit tokens when it arrives, and its reply is built, and
  checked against the request's size, when it leaves;
* counters only: memory stays flat whatever arrives.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from clinicnet.reflector import options
from clinicnet.wire import reflector as wire

#: IPv6 sources are rate-limited per prefix of this length (RFC 6177: a site gets a /64 or more)
IPV6_PREFIX = 64
_V4_MAPPED = bytes(10) + b"\xff\xff"


@dataclass(frozen=True)
class Limits:
    """Rate limits; the defaults allow a full ``clinicnet diagnose`` (~100 probes) per source."""

    per_source_rate: float = options.DEFAULT_RATE  # tokens per second
    per_source_burst: float = options.DEFAULT_BURST
    global_rate: float = options.DEFAULT_GLOBAL_RATE
    global_burst: float = 2 * options.DEFAULT_GLOBAL_RATE
    max_sources: int = options.DEFAULT_MAX_SOURCES
    #: seconds after which an idle source is forgotten (its bucket would be full again anyway)
    window_s: float = 10.0
    #: longest delay granted to a delayed answer (requests for more are answered at this delay)
    max_delay_s: float = options.DEFAULT_MAX_DELAY
    #: delayed answers waiting, per source (:func:`source_key`) and in total; beyond, dropped
    max_pending_per_source: int = options.DEFAULT_PENDING_PER_SOURCE
    max_pending: int = options.DEFAULT_MAX_PENDING


def cost(reply_len: int) -> float:
    """Tokens one reply costs: one per packet plus one per KiB, so big replies count."""
    return 1.0 + reply_len / 1024.0


def source_key(address: str) -> str:
    """The unit of rate limiting: an IPv4 address, or the /64 an IPv6 address belongs to.

    Ports are left out on purpose (a NAT gateway's many ports must not multiply
    its budget), and so are the interface bits of IPv6 (any host can use as many
    addresses of its /64 as it likes). Called for every datagram, so it stays in C
    (``inet_pton``) rather than in :mod:`ipaddress`.
    """
    if ":" not in address:
        return address  # IPv4, as the kernel spelled it
    try:
        packed = socket.inet_pton(socket.AF_INET6, address.split("%", 1)[0])
    except (OSError, ValueError):
        return address
    if packed[:12] == _V4_MAPPED:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    keep = IPV6_PREFIX // 8
    return f"{socket.inet_ntop(socket.AF_INET6, packed[:keep] + bytes(16 - keep))}/{IPV6_PREFIX}"


class RateLimiter:
    """Token buckets per source (:func:`source_key`) in a bounded LRU table, and one global bucket.

    When the table is full the least recently seen source is dropped from it,
    but not its debt: its bucket is folded into one of ``max_sources`` debt slots
    (chosen by a per-process keyed hash, so a sender cannot aim at a slot), and
    a source that enters the table starts from its slot, not from a full burst.
    Folding keeps the smaller bucket, so sharing a slot can only make a source
    wait longer, never let it send more; an idle slot refills like any bucket.
    Memory is two fixed-size structures, whatever arrives.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._table: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, stamp)
        self._global = (limits.global_burst, clock())
        self._slots: list[tuple[float, float] | None] = [None] * max(1, limits.max_sources)
        self._salt = os.urandom(16)
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._table)

    @staticmethod
    def _refill(tokens: float, stamp: float, now: float, rate: float, burst: float) -> float:
        return min(burst, tokens + max(0.0, now - stamp) * rate)

    def _slot(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode(), digest_size=8, key=self._salt).digest()
        return int.from_bytes(digest, "big") % len(self._slots)

    def _from_slot(self, key: str, now: float) -> float:
        lim = self.limits
        slot = self._slots[self._slot(key)]
        if slot is None:
            return lim.per_source_burst
        return self._refill(slot[0], slot[1], now, lim.per_source_rate, lim.per_source_burst)

    def _forget(self, key: str, tokens: float, stamp: float, now: float) -> None:
        """Drop ``key`` from the table, leaving any debt in its slot."""
        lim = self.limits
        tokens = self._refill(tokens, stamp, now, lim.per_source_rate, lim.per_source_burst)
        if tokens >= lim.per_source_burst:
            return  # no debt to keep
        i = self._slot(key)
        slot = self._slots[i]
        if slot is not None:
            tokens = min(tokens, self._refill(slot[0], slot[1], now, lim.per_source_rate, lim.per_source_burst))
        self._slots[i] = (tokens, now)

    def _evict(self, now: float) -> None:
        key, (tokens, stamp) = self._table.popitem(last=False)
        self.evictions += 1
        self._forget(key, tokens, stamp, now)

    def allow(self, source: str, amount: float) -> bool:
        """Take ``amount`` tokens from the source's and the global bucket if both have them."""
        lim = self.limits
        now = self._clock()
        key = source_key(source)
        g_tokens = self._refill(*self._global, now, lim.global_rate, lim.global_burst)
        entry = self._table.pop(key, None)
        if entry is None:
            while len(self._table) >= lim.max_sources:
                self._evict(now)
            tokens = self._from_slot(key, now)
        else:
            tokens = self._refill(entry[0], entry[1], now, lim.per_source_rate, lim.per_source_burst)
        ok = tokens >= amount and g_tokens >= amount
        if ok:
            tokens -= amount
            g_tokens -= amount
        self._table[key] = (tokens, now)  # most recent last
        self._global = (g_tokens, now)
        return ok

    def expire(self) -> int:
        """Forget sources idle for longer than the window (a debt outlives it in its slot); returns how many."""
        now = self._clock()
        cutoff = now - self.limits.window_s
        n = 0
        while self._table:
            key, (tokens, stamp) = next(iter(self._table.items()))
            if stamp >= cutoff:
                break
            del self._table[key]
            self._forget(key, tokens, stamp, now)
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
    #: delayed answers: accepted into the queue, sent, dropped for a full queue, duplicates, delays capped
    delayed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("queued", "sent", "dropped_source", "dropped_total", "duplicate", "capped"), 0))

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
            "delayed": dict(self.delayed),
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


@dataclass(frozen=True)
class Due:
    """A delayed answer whose time has come: the bytes, where they go, and the ``route``
    the server gave with the request (which socket and local address to send from)."""

    reply: bytes
    dest: tuple[str, int]
    route: object


@dataclass(frozen=True)
class _Held:
    """A delayed answer waiting: what is needed to build it when it leaves (not the request's bytes)."""

    req: wire.Request
    obs: wire.Observation
    arrived: float
    delay_ms: int
    key: str
    route: object


class Core:
    """The decisions, without sockets: parse, rate-limit, build the reply.

    Separated so that tests, fuzzing and the benchmark drive exactly the code the
    server runs. Delayed answers are held here too (a heap of small records,
    bounded); the server asks :meth:`next_due` how long it may sleep and
    :meth:`due` for what to send now.
    """

    def __init__(self, limits: Limits | None = None, log: JsonLog | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or Limits()
        self.limiter = RateLimiter(self.limits, clock)
        self.stats = Stats()
        self.log = log or JsonLog(verbose=False)
        self._clock = clock
        self._held: list[tuple[float, int, _Held]] = []
        self._held_per_source: dict[str, int] = {}
        self._held_ids: set[tuple[str, int, bytes]] = set()
        self._seq = itertools.count()

    @property
    def max_delay_ms(self) -> int:
        return int(min(self.limits.max_delay_s * 1000, wire.MAX_DELAY_MS))

    def _check(self, req: wire.Request, reply: bytes, size: int) -> None:
        if len(reply) > size:  # unreachable by construction; the assert in wire says the same
            raise AssertionError("reply larger than request")

    def _sent(self, req: wire.Request, reply: bytes, source: str, size: int) -> bytes:
        self.stats.answered[req.transport] += 1
        self.stats.bytes_out += len(reply)
        self.stats.max_amplification = max(self.stats.max_amplification, len(reply) / size)
        if self.log.verbose:
            self.log("probe", transport=req.transport, source=source, size=size, reply=len(reply))
        return reply

    def _finish(self, req: wire.Request | None, reply: bytes | None, source: str, size: int) -> bytes | None:
        if req is None:
            self.stats.malformed += 1
            return None
        if reply is None:
            self.stats.too_small += 1
            return None
        self._check(req, reply, size)
        if not self.limiter.allow(source, cost(len(reply))):
            self.stats.rate_limited += 1
            return None
        return self._sent(req, reply, source, size)

    def _hold(self, req: wire.Request, obs: wire.Observation, route: object) -> None:
        """Queue a delayed answer, or drop it: over the bounds, a duplicate, or rate-limited.

        The reply is built once now only to learn its size (its tokens are paid now,
        so a source cannot queue more than its bucket allows) and again when it
        leaves, with the time really waited; both go through ``reply_budget``.
        """
        probe = wire.build_reply(req, obs, _spi_r(req.token), delay_ms=req.delay_ms, max_delay_ms=self.max_delay_ms)
        if probe is None:
            self.stats.too_small += 1
            return
        self._check(req, probe, req.size)
        lim = self.limits
        key = source_key(obs.address)
        ident = (obs.address, obs.port, req.token)
        if ident in self._held_ids:
            self.stats.delayed["duplicate"] += 1  # the client's resend of the same request: answered once
            return
        if self._held_per_source.get(key, 0) >= lim.max_pending_per_source:
            self.stats.delayed["dropped_source"] += 1
            return
        if len(self._held) >= lim.max_pending:
            self.stats.delayed["dropped_total"] += 1
            return
        if not self.limiter.allow(obs.address, cost(len(probe))):
            self.stats.rate_limited += 1
            return
        delay_ms = min(req.delay_ms, self.max_delay_ms)
        if delay_ms < req.delay_ms:
            self.stats.delayed["capped"] += 1
        now = self._clock()
        held = _Held(req, obs, now, delay_ms, key, route)
        heapq.heappush(self._held, (now + delay_ms / 1000.0, next(self._seq), held))
        self._held_per_source[key] = self._held_per_source.get(key, 0) + 1
        self._held_ids.add(ident)
        self.stats.delayed["queued"] += 1

    def pending(self) -> int:
        """Delayed answers waiting."""
        return len(self._held)

    def next_due(self) -> float | None:
        """Clock time of the next delayed answer, None when none waits."""
        return self._held[0][0] if self._held else None

    def due(self) -> list[Due]:
        """The delayed answers whose time has come, built now (never larger than their requests)."""
        now = self._clock()
        out: list[Due] = []
        while self._held and self._held[0][0] <= now:
            _, _, h = heapq.heappop(self._held)
            left = self._held_per_source.get(h.key, 1) - 1
            if left > 0:
                self._held_per_source[h.key] = left
            else:
                self._held_per_source.pop(h.key, None)
            self._held_ids.discard((h.obs.address, h.obs.port, h.req.token))
            waited = int(round((now - h.arrived) * 1000))
            reply = wire.build_reply(h.req, h.obs, _spi_r(h.req.token), delay_ms=h.delay_ms, waited_ms=waited,
                                     max_delay_ms=self.max_delay_ms)
            if reply is None:  # cannot happen: it was built once when queued
                continue
            self._check(h.req, reply, h.req.size)
            self.stats.delayed["sent"] += 1
            out.append(Due(self._sent(h.req, reply, h.obs.address, h.req.size), (h.obs.address, h.obs.port), h.route))
        return out

    def udp(self, data: bytes, natt: bool, obs: wire.Observation, route: object = None) -> bytes | None:
        """Reply (UDP payload) to a datagram on the IKE port (``natt`` False) or NAT-T port.

        A request for a delayed answer returns None now and comes out of :meth:`due`
        later, carrying ``route`` (the server's note of where to send it from).
        """
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
        if req is not None and req.delay_ms > 0:
            self._hold(req, obs, route)
            return None
        if req is not None:
            reply = wire.build_reply(req, obs, spi_r=_spi_r(req.token), max_delay_ms=self.max_delay_ms)
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
