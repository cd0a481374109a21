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
from typing import TYPE_CHECKING, TypedDict

from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes._lazy import lazy
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch, combined_reasons
from clinicnet.system import udp

if TYPE_CHECKING:
    from clinicnet.probes import _exchange as R
else:  # imported when the probe runs, not when the registry lists it
    R = lazy("clinicnet.probes._exchange")

PORT = 500
FRAGMENT_SIZES = (2000, 4000)
LADDER = (1500, 1492, 1480, 1472, 1460, 1454, 1440, 1420, 1400, 1380, 1360, 1300, 1280, 1200, 1024, 576)
CONTROL_SIZE = 120
FULL_MTU = 1500


#: ICMP "fragmentation needed": the router that sent it and the next-hop MTU it
#: named (``from`` is a keyword, hence the functional form)
FragNeededFrom = TypedDict("FragNeededFrom", {"from": str | None, "mtu": int})


class Exchange(TypedDict, total=False):
    #: answered, silent, icmp, frag_needed, send_error
    state: str
    sent: int
    arrived_fragmented: object
    max_fragment: object
    received: object
    #: IP size of the reply as it reached us
    reply_size: int
    reply_fragmented: bool
    error: str
    frag_needed: FragNeededFrom


class LadderRow(Exchange, total=False):
    size: int


class Pmtu(TypedDict, total=False):
    #: the kernel's path MTU before the probe (interface MTU unless it learnt less)
    local_mtu: int | None
    largest_answered: int | None
    icmp_frag_needed: list[FragNeededFrom]
    reported_mtu: int | None
    path_mtu: int | None
    #: DF packets above ``largest_answered`` vanished without any ICMP
    black_hole: bool
    silent_sizes: list[int]
    kernel_path_mtu_after: int | None
    ladder: list[LadderRow]


class Values(TypedDict, total=False):
    reflector: str
    address: str | None
    control: Exchange
    #: by size ("2000", "4000"): toward the reflector / back from it
    up: dict[str, Exchange]
    down: dict[str, Exchange]
    up_ok: dict[str, bool]
    #: None where the same size did not get up (nothing to say about down)
    down_ok: dict[str, bool | None]
    fragmentation_seen: bool
    fragments_up_pass: bool | None
    fragments_down_pass: bool | None
    pmtu: Pmtu


#: what can be wrong, in the order the reason names them; a FAILED result's code
#: joins the problems found with "+", e.g. ``frag_up+black_hole``
_FRAGMENT_PROBLEMS = {
    "frag_up": Text(ja="リフレクタへ向かう IP フラグメントが失われます", en="fragments toward the reflector are lost"),
    "frag_down": Text(ja="リフレクタからの IP フラグメントが失われます", en="fragments from the reflector are lost"),
}
_MTU_PROBLEMS = {
    "black_hole": Text(
        ja="経路 MTU ブラックホール: {largest} バイトを超える DF パケットが ICMP なしで消えます",
        en="PMTU black hole: DF packets above {largest} bytes vanish without ICMP",
    ),
    "mtu_small": Text(ja="経路 MTU は {path_mtu} バイトです", en="path MTU is {path_mtu} bytes"),
}


SPEC = ProbeSpec(
    name="fragments",
    order=100,
    title=Text(ja="IP フラグメントと経路 MTU", en="IP fragments and path MTU"),
    values=Values,
    options=("reflectors",),
    reasons={
        "unresolved": Text(
            ja="リフレクタの名前を解決できません（{error}）", en="cannot resolve the reflector: {error}"
        ),
        "control_silent": Text(
            ja="リフレクタが小さな要求にも応答しないため、比較できません",
            en="the reflector did not answer a small request: nothing to compare",
        ),
        "pass": Text(
            ja="IP フラグメントは双方向に通過します。経路 MTU は {path_mtu} バイトです",
            en="fragments pass both ways; path MTU {path_mtu}",
        ),
        **combined_reasons((_FRAGMENT_PROBLEMS, _MTU_PROBLEMS), sep=Text(ja="。", en="; ")),
    },
)


def _kernel_mtu(sock: socket.socket, address: str) -> int | None:
    """The kernel's path MTU for ``address`` (interface MTU unless it learnt a smaller one)."""
    try:
        sock.connect((address, PORT))
    except OSError:
        return None
    return udp.path_mtu(sock)


def _entry(p: R.Pending) -> Exchange:
    out: Exchange = {"state": p.state, "sent": p.sends}
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


def analyse_ladder(ladder: list[LadderRow], local_mtu: int | None) -> Pmtu:
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
    sw = Stopwatch(SPEC)
    if not ctx.reflectors:
        return sw.result(Status.SKIPPED, "no_reflector")
    res = R.resolve(ctx.reflectors[0], ctx)
    if res.address is None:
        return sw.result(Status.ERROR, "unresolved", {"reflector": res.host, "address": None}, error=res.error)
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
    ladder_rows: list[LadderRow] = [{"size": size, **_entry(p)} for size, p in ladder.items()]
    pmtu = analyse_ladder(ladder_rows, local_mtu)
    pmtu["kernel_path_mtu_after"] = learnt_mtu
    up_rows = {str(s): _entry(p) for s, p in up.items()}
    down_rows = {str(s): _entry(p) for s, p in down.items()}
    up_ok = {k: v["state"] == "answered" for k, v in up_rows.items()}
    # "down" only means something where the same size got up.
    down_ok = {k: (v["state"] == "answered" and v.get("reply_size", 0) >= int(k)) if up_ok[k] else None
               for k, v in down_rows.items()}
    tested = any(v.get("arrived_fragmented") for v in up_rows.values())
    values: Values = {
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
        return sw.result(Status.ERROR, "control_silent", values)
    problems = []
    if not values["fragments_up_pass"]:
        problems.append("frag_up")
    elif values["fragments_down_pass"] is False:
        problems.append("frag_down")
    path_mtu = pmtu.get("path_mtu")
    if pmtu.get("black_hole"):
        problems.append("black_hole")
    elif path_mtu is not None and path_mtu < FULL_MTU:
        problems.append("mtu_small")
    if problems:
        return sw.result(Status.FAILED, "+".join(problems), values,
                         largest=pmtu.get("largest_answered"), path_mtu=path_mtu)
    return sw.result(Status.OK, "pass", values, path_mtu=path_mtu)
