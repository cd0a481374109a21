"""The reflector's serving loop: sockets, one thread, binding and the privilege drop.

The decisions (parse, rate-limit, answer) are in :mod:`clinicnet.reflector.core`;
this module only moves datagrams between the sockets and that core:

* one receive buffer per datagram, no queues: memory stays flat whatever arrives;
* malformed input is counted and dropped, never logged one line per packet;
* root is dropped (setuid to ``--user``) right after the sockets are bound;
* delayed answers (protocol v2) leave from the socket and local address their
  request came to, when the core says they are due: the loop sleeps until then.

What the kernel says about each request (local address, TTL, the largest IP
fragment when it came in pieces) comes from :mod:`clinicnet.system.udp`:
``IP_PKTINFO``, ``IP_RECVTTL`` and ``IP_RECVFRAGSIZE`` (Linux >= 4.10) on an
ordinary UDP socket, so no sniffing of fragments on a raw socket is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import os
import selectors
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from clinicnet.errors import UsageError
from clinicnet.reflector import options
from clinicnet.reflector.core import IPV6_PREFIX, Core, JsonLog, Limits
from clinicnet.system import udp
from clinicnet.system.udp import Arrival
from clinicnet.wire import reflector as wire

RECV_BUF = 65535
#: datagrams read from one socket before the loop looks at the others again
BATCH = 64


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
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        udp.report_arrival(s)
        # Large replies must leave as fragments, not be refused for DF.
        if not udp.fragment_policy(s, udp.FRAGMENT):
            raise OSError(errno.ENOPROTOOPT, "cannot turn path MTU discovery off")
        s.bind((address, port))
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return Endpoint(s, "udp", fam, address, s.getsockname()[1], natt)


def open_esp(address: str) -> Endpoint:
    fam = _family(address)
    s = socket.socket(fam, socket.SOCK_RAW, wire.IPPROTO_ESP)
    try:
        # IPv4 raw reads include the IP header (source and TTL come from it)
        udp.report_arrival(s, ttl=False, fragments=False)
        if not _wildcard(address):
            s.bind((address, 0))
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return Endpoint(s, "esp", fam, address, 0)


def _pktinfo(ep: Endpoint, local: str | None) -> list[tuple[int, int, bytes]]:
    """Ancillary data that makes a wildcard socket answer from the address that was asked."""
    if local is None or not _wildcard(ep.address):
        return []
    return udp.answer_from(ep.family, local)


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
                due = self.core.next_due()
                wait = 1.0 if due is None else min(1.0, max(0.0, due - time.monotonic()))
                for key, _ in sel.select(timeout=wait):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(64)
                        continue
                    self._drain(key.data)
                self._send_due()
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
                data, anc, _flags, addr = ep.sock.recvmsg(RECV_BUF, udp.ANCILLARY_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # e.g. a queued ICMP error on the UDP socket: nothing to answer
            info = udp.arrival(anc)
            try:
                self._answer(ep, data, addr, info)
            except Exception as exc:  # noqa: BLE001 - one bad packet must not stop the service
                self.core.stats.malformed += 1
                self.core.log("error", where="answer", error=f"{type(exc).__name__}: {exc}")

    def _send_due(self) -> None:
        """Send the delayed answers whose time has come, from where their requests arrived."""
        for d in self.core.due():
            ep, local = d.route if isinstance(d.route, tuple) else (None, None)
            if not isinstance(ep, Endpoint):
                continue
            try:
                ep.sock.sendmsg([d.reply], _pktinfo(ep, local), 0, d.dest)
            except OSError:
                self.core.stats.send_errors += 1

    def _answer(self, ep: Endpoint, data: bytes, addr: Any, info: Arrival) -> None:
        if ep.kind == "udp":
            obs = wire.Observation(addr[0], addr[1], len(data), info.ttl, info.fragment, ep.port)
            reply = self.core.udp(data, ep.natt, obs, route=(ep, info.local))
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
            obs = wire.Observation(source, 0, len(payload), ttl, info.fragment, 0)
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
                if exc.errno == errno.EADDRNOTAVAIL and not implicit_v6:
                    raise UsageError(f"--bind {address}: not an address of this host") from None
                if implicit_v6:
                    log("warning", message=f"IPv6 not available: {exc.strerror or exc}")
                    while endpoints and endpoints[-1].address == address:
                        endpoints.pop().sock.close()
                    continue
                raise
    except (OSError, UsageError):
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


def check_user(user: str) -> None:
    """Fail before binding when the user to drop to does not exist (only root drops privileges)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        raise UsageError(f"--user {user}: no such user on this host (the server drops root to it)") from None


def run(args: argparse.Namespace) -> int:
    """Entry point of ``clinicnet reflector``; returns the exit code.

    Bad options, an unknown ``--user`` and a ``--bind`` address this host does not
    have are usage errors (one line, exit 2), found before the server starts; a
    port that is taken or privileges that are missing are exit 1 with a hint.
    """
    opts = options.validate(args)
    check_user(opts.user)
    stream: IO[str] | None = None
    if opts.log:
        try:
            stream = open(opts.log, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the server
        except OSError as exc:
            raise UsageError(f"cannot open log file {opts.log}: {exc.strerror or exc}") from None
    try:
        return _serve(opts, JsonLog(stream, verbose=opts.verbose))
    finally:
        if stream is not None:
            stream.close()


CONNTRACK_UDP_TIMEOUT = "/proc/sys/net/netfilter/nf_conntrack_udp_timeout"
#: seconds kept between the conntrack timeout and the longest delay granted behind a DNAT
CONNTRACK_MARGIN = 2.0


def conntrack_delay_cap(ports: tuple[int, int], max_delay: float, log: JsonLog,
                        path: str = CONNTRACK_UDP_TIMEOUT) -> float:
    """The longest delay this host can honour from the port a request came to.

    On other ports than 500/4500 the reflector sits behind a DNAT (packaging/REFLECTOR.md),
    whose conntrack entry forgets an unanswered request after ``nf_conntrack_udp_timeout``
    (30 s by default): a later answer would leave from the untranslated port and the
    clinic's NAT would drop it, which a prober would take for *its* NAT's short binding.
    So the longest delay is kept below that timeout, said in every version-2 reply, and
    logged with the fix. Read before the privilege drop; no file (no conntrack) means no cap.
    """
    if ports == (500, 4500):
        return max_delay
    try:
        with open(path, encoding="ascii") as fh:
            timeout = float(fh.read().strip())
    except (OSError, ValueError):
        return max_delay
    if timeout - CONNTRACK_MARGIN >= max_delay:
        return max_delay
    cap = max(1.0, timeout - CONNTRACK_MARGIN)
    log("warning", message=f"delayed answers capped at {cap:g} s: behind a DNAT (ports {ports[0]},{ports[1]}) "
                           f"conntrack forgets an unanswered request after {timeout:g} s; raise it with "
                           f"sysctl -w net.netfilter.nf_conntrack_udp_timeout={int(max_delay + 10)}")
    return cap


def _serve(opts: options.Options, log: JsonLog) -> int:
    try:
        endpoints = bind_all(opts.addresses, opts.ports, opts.esp, log)
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
    limits = Limits(per_source_rate=opts.rate, per_source_burst=opts.burst, max_sources=opts.max_sources,
                    global_rate=opts.global_rate, global_burst=2 * opts.global_rate,
                    max_delay_s=conntrack_delay_cap(opts.ports, opts.max_delay, log), max_pending=opts.max_pending)
    try:
        drop_privileges(opts.user, log)
    except (KeyError, OSError) as exc:
        log("error", message=f"cannot drop privileges to {opts.user!r}: {exc}")
        for ep in endpoints:
            ep.sock.close()
        return 1
    core = Core(limits, log)
    server = Reflector(endpoints, core)
    server.install_signals()
    log("start", version=wire.VERSION, bound=[ep.describe() for ep in endpoints], pid=os.getpid(),
        limits={"rate": limits.per_source_rate, "burst": limits.per_source_burst, "global_rate": limits.global_rate,
                "max_sources": limits.max_sources, "window_s": limits.window_s, "ipv6_prefix": IPV6_PREFIX,
                "max_delay_s": limits.max_delay_s, "max_pending": limits.max_pending,
                "max_pending_per_source": limits.max_pending_per_source})
    try:
        server.serve()
    finally:
        log("stop", **core.stats.to_json(core.limiter))
        server.close()
    return 0
