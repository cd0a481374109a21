"""IKE exchanges driven by clinicnet's wire functions over a plain UDP socket, inside a lab namespace.

The lab's own checks of what a gateway answers (IKEv1 only, IKEv2 ignored) and of IKEv1 NAT
detection use the codec directly rather than the ``ike`` probe: they prove the wire format
against a real strongSwan, whatever the probe around it looks like.  Prints one JSON object.

Subcommands::

    sa-init HOST [--port 500|4500] [--timeout T]
        -> {"result": <ReplyKind value> | "timeout", "detail", "local"}
    main-mode HOST [--port 500|4500] [--timeout T] [--sends N]
        -> {"mm2": kind | "timeout", "mm4": kind | "timeout" | null, "nat": NatDetection JSON,
            "local", "detail", "mm3_natd_type", "hash"}

``main-mode`` sends message 1, and after a message 2 that chose a proposal message 3 (KE,
nonce, NAT-D); it reads message 4 and computes NAT from the gateway's NAT-D hashes.  It never
sends message 5.  Each message is sent up to ``--sends`` times (``--timeout`` apart) until its
answer arrives.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from clinicnet.wire import ikev1, ikev2  # noqa: E402
from clinicnet.wire.ike import ParsedReply, ReplyKind, nat_detection, parse_reply  # noqa: E402


def _socket(host: str, port: int) -> tuple[socket.socket, tuple[str, int], tuple[str, int]]:
    info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    sock = socket.socket(info[0], socket.SOCK_DGRAM)
    sock.connect(info[4])
    local = sock.getsockname()
    return sock, (str(local[0]), int(local[1])), (str(info[4][0]), port)


_RECORD: list[str] = []


def _exchange(
    sock: socket.socket, packet: bytes, spi: bytes, nat_t: bool, wanted: set[ReplyKind], timeout: float, sends: int
) -> ParsedReply | None:
    """Send until a reply of a ``wanted`` kind (or any IKE answer) arrives; None on silence.
    The request and the reply taken are kept in ``_RECORD`` (hex) for ``--record``."""
    for _ in range(sends):
        sock.send(packet)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except TimeoutError:
                break
            except OSError:  # ICMP error on a connected socket: keep listening until the deadline
                continue
            if data == packet:  # our own message reflected (a message 3 has message 4's form)
                continue
            reply = parse_reply(data, spi_i=spi, nat_t=nat_t)
            if reply.kind in wanted or (reply.is_answer and reply.kind is not ReplyKind.IKEV1_RESPONSE):
                _RECORD.extend((packet.hex(), data.hex()))
                return reply
    return None


def sa_init(host: str, port: int, timeout: float) -> dict[str, Any]:
    sock, local, remote = _socket(host, port)
    nat_t = port == 4500
    req = ikev2.build_sa_init(local=local, remote=remote, nat_t=nat_t)
    reply = _exchange(sock, req.packet, req.spi_i, nat_t, {ReplyKind.IKEV2_SA_INIT}, timeout, 1)
    if reply is None:
        return {"result": "timeout", "local": list(local)}
    return {"result": reply.kind.value, "detail": reply.detail, "local": list(local)}


def main_mode(host: str, port: int, timeout: float, sends: int) -> dict[str, Any]:
    sock, local, remote = _socket(host, port)
    nat_t = port == 4500
    mm1 = ikev1.build_main_mode_1(nat_t=nat_t)
    out: dict[str, Any] = {"local": list(local), "mm2": "timeout", "mm4": None, "nat": None}
    mm2 = _exchange(sock, mm1.packet, mm1.cookie_i, nat_t, {ReplyKind.IKEV1_RESPONSE}, timeout, sends)
    if mm2 is None:
        return out
    out["mm2"] = mm2.kind.value
    try:
        mm3 = ikev1.build_main_mode_3(mm2, local=local, remote=remote, nat_t=nat_t)
    except ikev1.CannotContinue as exc:
        out["detail"] = str(exc)
        return out
    out.update(mm3_natd_type=mm3.natd_type, hash=mm3.hash_name, group=mm3.group)
    mm4 = _exchange(sock, mm3.packet, mm3.cookie_i, nat_t, {ReplyKind.IKEV1_KEY_EXCHANGE}, timeout, sends)
    if mm4 is None:
        out["mm4"] = "timeout"
        return out
    out.update(mm4=mm4.kind.value, detail=mm4.detail, payloads=list(mm4.payloads))
    nat = nat_detection(
        mm4,
        local_address=local[0],
        local_port=local[1],
        remote_address=remote[0],
        remote_port=remote[1],
        algorithm=mm3.natd_algorithm,
    )
    out["nat"] = nat.to_json()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("sa-init", "main-mode"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("--port", type=int, default=500, choices=(500, 4500))
        p.add_argument("--timeout", type=float, default=1.0)
        if name == "main-mode":
            p.add_argument("--sends", type=int, default=3)
        p.add_argument("--record", action="store_true", help="add the packets (hex) to the output")
    args = parser.parse_args(argv)
    if args.cmd == "sa-init":
        out = sa_init(args.host, args.port, args.timeout)
    else:
        out = main_mode(args.host, args.port, args.timeout, args.sends)
    if args.record:
        out["packets"] = _RECORD
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
