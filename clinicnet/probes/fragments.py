"""IP fragments and path MTU toward the reflector, each direction on its own.

IKE_AUTH messages carry certificates (G11) and easily exceed 1500 bytes; unless
both ends use IKEv2 fragmentation (RFC 7383) they travel as IP fragments, and a
router or firewall that drops fragments makes the VPN fail *after* IKE_SA_INIT
worked, which looks like an authentication problem. A path MTU below 1500
(PPPoE, tunnels) with the ICMP "fragmentation needed" messages filtered (a PMTU
black hole) makes large packets vanish silently in the same way.

What is sent, all at once and waited for once:

* a small control request (is the reflector there at all?);
* 2000 and 4000 byte datagrams without DF asking for a small reply (fragments
  toward the reflector, "up"), and the same asking for an equally large reply
  (fragments back to us, "down": a reply is never larger than its request, so a
  down test needs an up test of the same size to pass first);
* a ladder of DF datagrams from 1500 down to 576 bytes, one socket each
  (``IP_PMTUDISC_PROBE``: DF set, the kernel's cached path MTU ignored), asking
  for a small reply; ICMP "fragmentation needed" comes back on the socket's
  error queue with the next-hop MTU. The largest answered size is the path MTU;
  large sizes that vanish without any ICMP while smaller ones answer are a black hole.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from clinicnet.model import ProbeResult, Status
from clinicnet.probes import _exchange as R
from clinicnet.probes.interface import ProbeContext, Stopwatch
from clinicnet.system import udp

PORT = 500
FRAGMENT_SIZES = (2000, 4000)
LADDER = (1500, 1492, 1480, 1472, 1460, 1454, 1440, 1420, 1400, 1380, 1360, 1300, 1280, 1200, 1024, 576)
CONTROL_SIZE = 120
FULL_MTU = 1500


def _kernel_mtu(sock: socket.socket, address: str) -> int | None:
    """The kernel's path MTU for ``address`` (interface MTU unless it learnt a smaller one)."""
    try:
        sock.connect((address, PORT))
    except OSError:
        return None
    return udp.path_mtu(sock)


def _entry(p: R.Pending) -> dict[str, Any]:
    out: dict[str, Any] = {"state": p.state, "sent": p.sends}
    obs = R.observed(p)
    if obs is not None:
        out["arrived_fragmented"] = obs["fragmented"]
        out["max_fragment"] = obs["max_fragment"]
        out["received"] = obs["received"]
    if p.reply is not None:
        out["reply_size"] = p.reply.size + R.UDP_OVERHEAD
        out["reply_fragmented"] = p.reply_fragment > 0
    if p.send_error:
        out["error"] = p.send_error
    frag = [e for e in p.icmp if e.frag_needed]
    if frag:
        out["frag_needed"] = {"from": frag[0].offender, "mtu": frag[0].info}
    return out


def analyse_ladder(ladder: list[dict[str, Any]], local_mtu: int | None) -> dict[str, Any]:
    """Path MTU and black hole from the ladder results (pure: unit-tested on its own)."""
    top = min(FULL_MTU, local_mtu) if local_mtu else FULL_MTU
    usable = [r for r in ladder if r["size"] <= top]
    answered = [r["size"] for r in usable if r["state"] == "answered"]
    frag_needed = [r["frag_needed"] for r in usable if r.get("frag_needed")]
    reported = min((f["mtu"] for f in frag_needed if f.get("mtu")), default=None)
    largest = max(answered, default=None)
    silent_above = [r["size"] for r in usable if largest is not None and r["size"] > largest and r["state"] == "silent"]
    black_hole = bool(largest is not None and silent_above and not frag_needed)
    path_mtu: int | None
    if largest is None:
        path_mtu = None
    elif reported is not None:
        path_mtu = min(reported, top) if reported >= largest else largest
    else:
        path_mtu = largest
    return {
        "local_mtu": local_mtu,
        "largest_answered": largest,
        "icmp_frag_needed": frag_needed[:4],
        "reported_mtu": reported,
        "path_mtu": path_mtu,
        "black_hole": black_hole,
        "silent_sizes": silent_above,
    }


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch("fragments")
    if not ctx.reflectors:
        return sw.result(Status.SKIPPED, R.SKIP_NO_REFLECTOR)
    res = R.resolve(ctx.reflectors[0], ctx)
    if res.address is None:
        return sw.result(Status.ERROR, f"cannot resolve the reflector: {res.error}",
                         {"reflector": res.host, "address": None})
    addr = res.address
    socks: list[socket.socket] = []
    try:
        probe_sock = R.udp_socket()
        socks.append(probe_sock)
        local_mtu = _kernel_mtu(probe_sock, addr)
        control = R.ike_pending(R.udp_socket(), addr, PORT, natt=False, size=CONTROL_SIZE, label="control")
        socks.append(control.sock)
        up: dict[int, R.Pending] = {}
        down: dict[int, R.Pending] = {}
        for size in FRAGMENT_SIZES:
            for table, reply in ((up, 0), (down, size)):
                s = R.udp_socket()
                socks.append(s)
                table[size] = R.ike_pending(s, addr, PORT, natt=False, size=size, reply_size=reply,
                                            label=f"{'down' if reply else 'up'}{size}")
        ladder: dict[int, R.Pending] = {}
        for size in LADDER:
            s = R.udp_socket(pmtudisc=R.DF_PROBE)
            socks.append(s)
            with contextlib.suppress(OSError):
                s.connect((addr, PORT))  # ICMP errors reach a connected socket's queue reliably
            ladder[size] = R.ike_pending(s, addr, PORT, natt=False, size=size, label=f"df{size}")
        pend = [control, *up.values(), *down.values(), *ladder.values()]
        R.exchange(pend, R.until(ctx, 2.5), resend=0.5, max_sends=3)
        after = R.udp_socket()
        socks.append(after)
        learnt_mtu = _kernel_mtu(after, addr)
    finally:
        R.close_all(socks)
    ladder_rows = [{"size": size, **_entry(p)} for size, p in ladder.items()]
    pmtu = analyse_ladder(ladder_rows, local_mtu)
    pmtu["kernel_path_mtu_after"] = learnt_mtu
    up_rows = {str(s): _entry(p) for s, p in up.items()}
    down_rows = {str(s): _entry(p) for s, p in down.items()}
    up_ok = {k: v["state"] == "answered" for k, v in up_rows.items()}
    # "down" only means something where the same size got up.
    down_ok = {k: (v["state"] == "answered" and v.get("reply_size", 0) >= int(k)) if up_ok[k] else None
               for k, v in down_rows.items()}
    tested = any(v.get("arrived_fragmented") for v in up_rows.values())
    values: dict[str, Any] = {
        "reflector": res.host,
        "address": addr,
        "control": _entry(control),
        "up": up_rows,
        "down": down_rows,
        "up_ok": up_ok,
        "down_ok": down_ok,
        "fragmentation_seen": tested,
        "fragments_up_pass": all(up_ok.values()),
        "fragments_down_pass": all(v for v in down_ok.values() if v is not None) if any(
            v is not None for v in down_ok.values()) else None,
        "pmtu": {**pmtu, "ladder": ladder_rows},
    }
    if control.reply is None:
        values["fragments_up_pass"] = values["fragments_down_pass"] = None
        return sw.result(Status.ERROR, "the reflector did not answer a small request: nothing to compare", values)
    problems = []
    if not values["fragments_up_pass"]:
        problems.append("fragments toward the reflector are lost")
    elif values["fragments_down_pass"] is False:
        problems.append("fragments from the reflector are lost")
    if pmtu["black_hole"]:
        problems.append(f"PMTU black hole: DF packets above {pmtu['largest_answered']} bytes vanish without ICMP")
    elif pmtu["path_mtu"] is not None and pmtu["path_mtu"] < FULL_MTU:
        problems.append(f"path MTU is {pmtu['path_mtu']} bytes")
    if problems:
        return sw.result(Status.FAILED, "; ".join(problems), values)
    return sw.result(Status.OK, f"fragments pass both ways; path MTU {pmtu['path_mtu']}", values)
