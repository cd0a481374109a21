"""SNTP clock check (RFC 4330): the PC's clock against NTP servers the vendor names.

IKE with certificates (G11) fails when the PC's clock is far off. The internet
probe already compares the clock with web servers' ``Date`` headers, but those
have one-second resolution and may come from a proxy; one SNTP exchange gives the
offset to a few milliseconds with the round trip taken out. Nothing is sent
unless ``--ntp-server`` (or ``ntp_servers`` in the config) names a server: a
clinic network may not let NTP out, and a default run stays quiet.

The request is the RFC 4330 client message (LI 0, VN 4, mode 3) whose transmit
timestamp is a random nonce instead of the time: the reply must echo it as its
originate timestamp, which matches each reply to its request (a retransmission
has its own nonce, so its round trip is exact) and keeps the PC's clock out of
the packet. A reply that does not parse, does not echo a nonce of ours, is a
kiss-o'-death (stratum 0) or says the server is unsynchronised (LI 3) is recorded
as such and never used for the offset.
"""

from __future__ import annotations

import os
import select
import socket
import statistics
import struct
import threading
import time
from typing import TypedDict

from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes._deadline import resolve as resolve_within
from clinicnet.probes.interface import ProbeContext, ProbeOption, ProbeSpec, Stopwatch

#: seconds from the NTP era-0 epoch (1900) to the Unix epoch (1970)
NTP_UNIX_DELTA = 2_208_988_800
NTP_PORT = 123
#: requests per server within the deadline: one lost datagram is not a broken clock
ATTEMPTS = 3
_PACKET = struct.Struct("!BBbb4s4s4sQQQQ")  # the 48-byte header, RFC 4330 section 4


class ServerResult(TypedDict):
    server: str
    address: str | None
    #: answered, timeout, port_unreachable, kiss_of_death, unsynchronised, not_ntp, resolve_error, socket_error
    state: str
    #: PC clock minus the server's, seconds (positive: the PC is ahead)
    offset_s: float | None
    delay_s: float | None
    stratum: int | None
    reference_id: str | None
    sent: int
    detail: str


class Values(TypedDict, total=False):
    servers: list[ServerResult]
    #: the median offset of the servers that answered (PC minus NTP), seconds
    clock_offset_s: float | None
    clock_references: list[str]


NTP_SERVERS = ProbeOption(
    name="ntp_servers",
    flag="--ntp-server",
    help=Text(
        ja="時刻を比べる NTP サーバ（UDP 123、複数指定可）。指定しなければ NTP は使いません",
        en="NTP server to compare the PC clock with (UDP 123); none by default, so nothing is sent unless asked",
    ),
)

SPEC = ProbeSpec(
    name="ntp",
    order=95,
    title=Text(ja="時刻（NTP）", en="clock (NTP)"),
    values=Values,
    settings=(NTP_SERVERS,),
    reasons={
        "no_server": Text(
            ja="NTP サーバ（--ntp-server）が指定されていないため、測定していません",
            en="no NTP server configured (--ntp-server), nothing sent",
        ),
        "offset": Text(
            ja="PC の時計は NTP と {offset} 秒ずれています（{answered}/{total} 台が応答）",
            en="PC clock is {offset} s off NTP ({answered} of {total} server(s) answered)",
        ),
        "no_answer": Text(
            ja="NTP サーバから使える応答がありませんでした（{states}）",
            en="no usable NTP answer ({states})",
        ),
    },
)


def to_ntp(t: float) -> int:
    return int((t + NTP_UNIX_DELTA) * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


def from_ntp(v: int) -> float:
    return v / (1 << 32) - NTP_UNIX_DELTA


def build_request(nonce: int) -> bytes:
    """Client request: LI 0, VN 4, mode 3, all zero but the transmit field (our nonce)."""
    return _PACKET.pack((4 << 3) | 3, 0, 0, 0, b"\0" * 4, b"\0" * 4, b"\0" * 4, 0, 0, 0, nonce)


class Reply(TypedDict):
    leap: int
    version: int
    mode: int
    stratum: int
    reference_id: str
    originate: int
    receive: int
    transmit: int


def parse_reply(data: bytes) -> Reply | None:
    """The fields of a server reply, or None for anything that is not one."""
    if len(data) < _PACKET.size:
        return None
    lvm, stratum, _poll, _prec, _rdelay, _rdisp, refid, _ref, org, rcv, xmt = _PACKET.unpack_from(data)
    mode, version, leap = lvm & 7, (lvm >> 3) & 7, lvm >> 6
    if mode not in (4, 5) or not 1 <= version <= 4:
        return None
    if stratum in (0, 1):  # a kiss code or a reference clock's name: four ASCII letters
        ref = "".join(chr(b) if 32 < b < 127 else "" for b in refid)
    else:
        ref = ".".join(str(b) for b in refid)
    return Reply(leap=leap, version=version, mode=mode, stratum=stratum, reference_id=ref,
                 originate=org, receive=rcv, transmit=xmt)


def offset_and_delay(t1: float, t2: float, t3: float, t4: float) -> tuple[float, float]:
    """RFC 4330 section 5: the server's clock minus the client's, and the round trip."""
    return ((t2 - t1) + (t3 - t4)) / 2, (t4 - t1) - (t3 - t2)


def query(server: str, deadline: float, *, port: int = NTP_PORT) -> ServerResult:
    """Up to ``ATTEMPTS`` requests to one server before ``deadline`` (absolute, ``time.monotonic``)."""
    res = _unanswered(server)
    found = resolve_within(server, max(0.0, deadline - time.monotonic()), port=port, socktype=socket.SOCK_DGRAM)
    if not found.addresses:
        _mark(res, "resolve_error", found.why() or "no address")
        return res
    addr = found.addresses[0]
    res["address"] = addr
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
        # connected: an ICMP port unreachable comes back as an error on this socket
        # (ECONNREFUSED on Linux, WSAECONNRESET on Windows) instead of silence
        sock.connect((addr, port))
        sock.setblocking(False)
    except OSError as exc:
        _mark(res, "socket_error", f"cannot open a UDP socket to it on this PC: {exc}")
        return res
    with sock:
        pending: dict[int, tuple[float, float]] = {}  # nonce -> (wall clock, monotonic) when sent
        for attempt in range(ATTEMPTS):
            now = time.monotonic()
            if now >= deadline:
                break
            nonce = int.from_bytes(os.urandom(8), "big")
            try:
                sock.send(build_request(nonce))
            except OSError as exc:
                if _refused(exc):
                    _mark(res, "port_unreachable", str(exc))
                    return res
                _mark(res, "socket_error", f"send failed on this PC: {exc}")
                return res
            pending[nonce] = (time.time(), now)
            res["sent"] = attempt + 1
            if _collect(sock, pending, min(deadline, now + (deadline - now) / (ATTEMPTS - attempt)), res):
                return res
    return res


def _unanswered(server: str, detail: str = "") -> ServerResult:
    """A server's record before (or without) an answer: a timeout until something says otherwise."""
    return ServerResult(server=server, address=None, state="timeout", offset_s=None, delay_s=None,
                        stratum=None, reference_id=None, sent=0, detail=detail)


def _mark(res: ServerResult, state: str, detail: str) -> None:
    res["state"], res["detail"] = state, detail


def _refused(exc: OSError) -> bool:
    return isinstance(exc, ConnectionRefusedError | ConnectionResetError)


def _collect(sock: socket.socket, pending: dict[int, tuple[float, float]], until: float, res: ServerResult) -> bool:
    """Read replies until ``until``; True once the server gave a final answer."""
    while (left := until - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return False
        try:
            data = sock.recv(512)
        except OSError as exc:
            if _refused(exc):
                _mark(res, "port_unreachable", str(exc))
                return True
            _mark(res, "socket_error", f"receive failed on this PC: {exc}")
            return True
        t4_mono = time.monotonic()
        reply = parse_reply(data)
        if reply is None or reply["originate"] not in pending:
            _mark(res, "not_ntp", f"{len(data)} bytes that are not an answer to our request")
            continue
        t1_wall, t1_mono = pending[reply["originate"]]
        res["stratum"], res["reference_id"] = reply["stratum"], reply["reference_id"]
        if reply["stratum"] == 0:
            _mark(res, "kiss_of_death", f"kiss code {reply['reference_id']!r}")
            return True
        if reply["leap"] == 3:
            _mark(res, "unsynchronised", "the server says its own clock is not synchronised")
            return True
        # t4 from the monotonic clock: a wall-clock step during the exchange cannot fake a round trip
        t4 = t1_wall + (t4_mono - t1_mono)
        server_ahead, delay = offset_and_delay(t1_wall, from_ntp(reply["receive"]), from_ntp(reply["transmit"]), t4)
        res["offset_s"], res["delay_s"] = round(-server_ahead, 4), round(max(0.0, delay), 4)
        _mark(res, "answered", f"stratum {reply['stratum']}")
        return True
    return False


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    servers = list(dict.fromkeys(ctx.setting(NTP_SERVERS)))
    if not servers:
        return sw.result(Status.SKIPPED, "no_server")
    deadline = ctx.deadline - 0.05
    slots: list[ServerResult | None] = [None] * len(servers)

    def run(i: int, server: str) -> None:
        slots[i] = query(server, deadline)

    # side by side, daemon threads: a resolver that hangs costs its own server, not the run
    threads = [threading.Thread(target=run, args=(i, s), daemon=True, name=f"ntp-{i}") for i, s in enumerate(servers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    results = [r if r is not None else _unanswered(s, "did not finish before the deadline")
               for r, s in zip(slots, servers, strict=True)]
    offsets = [r["offset_s"] for r in results if r["offset_s"] is not None]
    values: Values = {
        "servers": results,
        "clock_offset_s": round(statistics.median(offsets), 4) if offsets else None,
        "clock_references": [f"ntp://{r['server']}" for r in results if r["offset_s"] is not None],
    }
    if offsets:
        return sw.result(Status.OK, "offset", values, offset=f"{values['clock_offset_s']:+.3f}",
                         answered=len(offsets), total=len(results))
    states = ", ".join(f"{r['server']}: {r['state']}" for r in results)
    return sw.result(Status.FAILED, "no_answer", values, states=states)
