"""Small network probes that run *inside* lab namespaces and print one JSON object.

The lab's self-tests (and other lab tests) need to see exactly what a packet met: an answer, a
silent drop (timeout) or an ICMP error, and from whom.  Running this script with ``ip netns exec``
keeps the test process itself in the host namespace; ``Lab.probe`` wraps it.  Stdlib only.

Subcommands::

    http URL [--timeout T] [--source-port P]          -> {"status", "body"} | {"error"}
    udp HOST PORT [--payload S] [--timeout T] [--source-port P]
        -> {"result": "reply", "reply"} | {"result": "timeout"}
         | {"result": "icmp", "errno", "icmp_type", "icmp_code", "offender"}
    resolve NAME [--family 0|4|6]                     -> {"addresses"} | {"error", "gai"}
    dns NAME [--type A|AAAA] [--server S] [--timeout T] -> {"rcode", "answers"} | {"error"}
    udp-echo --bind ADDR --port P                     (server: prints READY, echoes as JSON)
    udp-burst HOST PORT [--count N] [--interval S] [--timeout T]
        -> {"sent", "received", "rtt_ms": [...]}  (numbered datagrams to a udp-echo; for
           measuring a lab path's loss and delay)
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import secrets
import socket
import struct
import sys
import time
import urllib.parse
from typing import Any

IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3


def _http(url: str, timeout: float, source_port: int) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 80
    source = ("", source_port) if source_port else None
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=source)
    start = time.monotonic()
    try:
        conn.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return {"status": resp.status, "body": body, "seconds": time.monotonic() - start}
    except OSError as exc:
        return {
            "error": type(exc).__name__,
            "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            "message": str(exc),
            "seconds": time.monotonic() - start,
        }
    finally:
        conn.close()


def _read_icmp_error(sock: socket.socket, family: int) -> dict[str, Any]:
    """Pull the queued ICMP error (IP_RECVERR) to learn its type, code and sender."""
    try:
        _, ancdata, _, _ = sock.recvmsg(512, 512, socket.MSG_ERRQUEUE)
    except OSError:
        return {}
    for _level, _type, data in ancdata:
        ee_errno, origin, icmp_type, icmp_code, _pad, _info, _data = struct.unpack("=IBBBBII", data[:16])
        offender = ""
        if origin == SO_EE_ORIGIN_ICMP and len(data) >= 24:
            offender = socket.inet_ntop(socket.AF_INET, data[20:24])
        elif origin == SO_EE_ORIGIN_ICMP6 and len(data) >= 40:
            offender = socket.inet_ntop(socket.AF_INET6, data[24:40])
        return {
            "errno": errno.errorcode.get(ee_errno, str(ee_errno)),
            "icmp_type": icmp_type,
            "icmp_code": icmp_code,
            "offender": offender,
        }
    return {}


def _udp(host: str, port: int, payload: str, timeout: float, source_port: int) -> dict[str, Any]:
    info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    family, addr = info[0], info[4]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET:
        sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    if source_port:
        sock.bind(("", source_port))
    sock.connect(addr)
    sock.settimeout(timeout)
    start = time.monotonic()
    sock.send(payload.encode())
    local = sock.getsockname()
    try:
        reply = sock.recv(4096)
    except TimeoutError:
        return {"result": "timeout", "seconds": time.monotonic() - start}
    except OSError as exc:
        result: dict[str, Any] = {"result": "icmp", "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno))}
        result.update(_read_icmp_error(sock, family))
        result["seconds"] = time.monotonic() - start
        return result
    return {
        "result": "reply",
        "reply": reply.decode(errors="replace"),
        "local": list(local[:2]),
        "seconds": time.monotonic() - start,
    }


def _resolve(name: str, family: int) -> dict[str, Any]:
    fam = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]
    start = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, None, fam, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        codes = {
            getattr(socket, n): n
            for n in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_ADDRFAMILY")
            if hasattr(socket, n)
        }
        return {
            "error": codes.get(exc.errno, str(exc.errno)),
            "gai": exc.errno,
            "seconds": time.monotonic() - start,
        }
    addrs = list(dict.fromkeys(str(i[4][0]) for i in infos))
    return {"addresses": addrs, "seconds": time.monotonic() - start}


def _dns(name: str, qtype: str, server: str, timeout: float) -> dict[str, Any]:
    """One raw DNS query, so tests see the RCODE that getaddrinfo would hide."""
    qid = secrets.randbits(16)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname
    query += struct.pack(">HH", {"A": 1, "AAAA": 28}[qtype], 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    start = time.monotonic()
    try:
        sock.connect((server, 53))
        sock.send(query)
        while True:
            data = sock.recv(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    except TimeoutError:
        return {"error": "timeout", "seconds": time.monotonic() - start}
    except OSError as exc:
        return {
            "error": errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            "seconds": time.monotonic() - start,
        }
    flags, _qd, ancount = struct.unpack(">HHH", data[2:8])
    return {"rcode": flags & 0xF, "answers": ancount, "seconds": time.monotonic() - start}


def _udp_echo(bind: str, port: int) -> int:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((bind, port))
    print("READY", flush=True)
    while True:
        data, peer = sock.recvfrom(65535)
        reply = {"from": [peer[0], peer[1]], "data": data.decode(errors="replace")}
        sock.sendto(json.dumps(reply).encode(), peer)


def _udp_burst(host: str, port: int, count: int, interval: float, timeout: float) -> dict[str, Any]:
    """Numbered datagrams at a steady pace; replies are matched by number, so a reply is
    timed from the datagram it answers and duplicates or strays are not counted."""
    info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    sock = socket.socket(info[0], socket.SOCK_DGRAM)
    sock.connect(info[4])
    sock.setblocking(False)
    tag = secrets.token_hex(4)
    sent_at: dict[int, float] = {}
    rtts: dict[int, float] = {}

    def drain() -> None:
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, ConnectionRefusedError):
                return
            try:
                seq_tag, seq = json.loads(data)["data"].split(":")
                n = int(seq)
            except (ValueError, KeyError):
                continue
            if seq_tag == tag and n in sent_at and n not in rtts:
                rtts[n] = (time.monotonic() - sent_at[n]) * 1000

    for n in range(count):
        sent_at[n] = time.monotonic()
        try:
            sock.send(f"{tag}:{n}".encode())
        except OSError:
            pass
        end = sent_at[n] + interval
        while time.monotonic() < end:
            drain()
            time.sleep(min(0.001, max(0.0, end - time.monotonic())))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(rtts) < count:
        drain()
        time.sleep(0.001)
    return {"sent": count, "received": len(rtts), "rtt_ms": [round(rtts[n], 3) for n in sorted(rtts)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("http")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--source-port", type=int, default=0)
    p = sub.add_parser("udp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--payload", default="clinicnet-lab")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--source-port", type=int, default=0)
    p = sub.add_parser("resolve")
    p.add_argument("name")
    p.add_argument("--family", type=int, choices=(0, 4, 6), default=0)
    p = sub.add_parser("dns")
    p.add_argument("name")
    p.add_argument("--type", choices=("A", "AAAA"), default="A")
    p.add_argument("--server", default="203.0.113.53")
    p.add_argument("--timeout", type=float, default=1.0)
    p = sub.add_parser("udp-echo")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("udp-burst")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.005)
    p.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args(argv)

    if args.cmd == "udp-echo":
        return _udp_echo(args.bind, args.port)
    if args.cmd == "http":
        out = _http(args.url, args.timeout, args.source_port)
    elif args.cmd == "udp":
        out = _udp(args.host, args.port, args.payload, args.timeout, args.source_port)
    elif args.cmd == "udp-burst":
        out = _udp_burst(args.host, args.port, args.count, args.interval, args.timeout)
    elif args.cmd == "resolve":
        out = _resolve(args.name, args.family)
    else:
        out = _dns(args.name, args.type, args.server, args.timeout)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
