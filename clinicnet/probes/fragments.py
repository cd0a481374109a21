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

Loss is not a block (issue 10). A line that loses packets at random makes any one
datagram vanish, and a fragmented one more often (it is lost when any of its fragments
is). So the probe measures the line's loss beside the test, and calls a size blocked
only when loss cannot explain its silence:

* the control is a *meter*: up to :data:`CONTROL_SENDS` small unfragmented requests,
  each with its own token, whatever comes back, for as long as any size is still
  undecided (a clean line ends it in one round trip); with the DF ladder's answered
  sizes (one datagram each way, the same shape, counting the tries before the answered
  one) they give the round-trip loss ``r`` (``values["loss"]``) and its one-sided 95 %
  Wilson upper bound ``r+``;
* one way, a packet is then lost with ``l+ = 1 - sqrt(1 - r+)`` at most, a request of
  ``f`` fragments up and ``g`` packets back gets through with ``q = (1 - l+) ** (f + g)``,
  and ``n`` transmissions all lost by chance with ``(1 - q) ** n``;
* each size gets up to :data:`SIZE_SENDS` transmissions within the deadline; its
  silence is a block only when that chance is below :data:`ALPHA` (99 % confidence);
  otherwise the size is *undecided* (``None``: not a pass, not a finding).

At 20 % loss each way (``r`` = 36 %) a 2000-byte request passes in one try with 51 %,
so twelve tries leave 0.02 % for "lost by chance": it answers, and a truly blocked size
on a clean line (``r+`` below 20 % with twenty clean controls) is called blocked after
twelve silent tries with odds of chance below 10**-4. The ladder must be monotone (no
silent size below an answered one) before a black hole is called, and a path MTU below
1500 is claimed only when every larger size is decidedly silent or refused by ICMP.
"""

from __future__ import annotations

import contextlib
import socket
import time
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
#: the loss meter: small requests, each with its own token, every CONTROL_INTERVAL
CONTROL_SENDS = 20
CONTROL_INTERVAL = 0.12
#: transmissions per size (fragment tests and ladder) and their spacing: independent tries
SIZE_SENDS = 12
SIZE_INTERVAL = 0.2
#: a silent size is blocked only when chance loss explains it with less than this
ALPHA = 0.01
IP_HEADER = 20


#: ICMP "fragmentation needed": the router that sent it and the next-hop MTU it
#: named (``from`` is a keyword, hence the functional form)
FragNeededFrom = TypedDict("FragNeededFrom", {"from": str | None, "mtu": int})


class Exchange(TypedDict, total=False):
    #: answered, silent, icmp, frag_needed, send_error
    state: str
    sent: int
    #: silent only: the chance that the measured loss alone explains the silence
    #: (below ``confidence_alpha``: blocked; above: undecided)
    loss_alone: float
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
    #: no silent size below an answered one (a black hole needs it)
    monotone: bool
    #: silent sizes the measured loss could explain: neither passed nor blocked
    undecided_sizes: list[int]


class Loss(TypedDict, total=False):
    #: round trips whose fate is known, and how many of them were lost
    samples: int
    lost: int
    #: lost/samples, and the one-sided 95 % Wilson upper bound
    round_trip: float
    round_trip_high: float
    #: per packet one way, assuming both directions lose alike
    one_way: float
    one_way_high: float
    source: str


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
    loss: Loss
    #: a silent size is called blocked only when its ``loss_alone`` is below this
    confidence_alpha: float
    #: sizes neither passed nor blocked because loss could explain them ("up2000", "df1500")
    undecided: list[str]


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
        "undecided": Text(
            ja="経路で往復の {loss}% が失われるため、一部のサイズは判定できませんでした（{sizes}）",
            en="the path loses {loss} % of round trips: some sizes could not be decided ({sizes})",
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


def _entry(p: R.Pending, packets: int = 2, loss: Loss | None = None, until: float | None = None) -> Exchange:
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
    if p.state == "silent" and loss is not None:
        known, _ = p.delivery(until)
        out["loss_alone"] = loss_alone(known, packets, loss.get("one_way_high", 1.0))
    return out


def fragments_of(size: int, mtu: int) -> int:
    """IP fragments a ``size``-byte datagram becomes on a link of ``mtu`` (1 if it fits)."""
    if size <= mtu:
        return 1
    per = (mtu - IP_HEADER) // 8 * 8
    return -(-(size - IP_HEADER) // per)


def measure_loss(known: int, answered: int, source: str) -> Loss:
    """The line's loss from ``known`` small round trips of which ``answered`` came back."""
    lost = known - answered
    if known <= 0:
        return {"samples": 0, "lost": 0, "round_trip": 0.0, "round_trip_high": 1.0, "one_way": 0.0,
                "one_way_high": 1.0, "source": source}
    rt = lost / known
    _low, high = R.wilson(lost, known)
    return {
        "samples": known,
        "lost": lost,
        "round_trip": round(rt, 4),
        "round_trip_high": round(high, 4),
        "one_way": round(1 - (1 - rt) ** 0.5, 4),
        "one_way_high": round(1 - (1 - high) ** 0.5, 4),
        "source": source,
    }


def loss_alone(transmissions: int, packets: int, one_way_high: float) -> float:
    """Chance that ``transmissions`` tries of a request of ``packets`` packets (both ways
    together) were all lost on a line losing ``one_way_high`` of packets each way."""
    q = (1 - one_way_high) ** packets
    return round((1 - q) ** max(0, transmissions), 6)


def _blocked(row: Exchange, alpha: float) -> bool | None:
    """A test's verdict: True blocked, False passed, None undecided (loss may explain it)."""
    state = row.get("state")
    if state == "answered":
        return False
    if state == "silent":
        return True if row.get("loss_alone", 1.0) < alpha else None
    return True  # refused by ICMP or not sendable: not a matter of chance


def analyse_ladder(ladder: list[LadderRow], local_mtu: int | None, alpha: float = ALPHA) -> Pmtu:
    """Path MTU and black hole from the ladder results (pure: unit-tested on its own).

    A size is decided when it answered, was refused by ICMP, or stayed silent beyond what
    loss explains (``loss_alone`` below ``alpha``; rows without it are taken as decided,
    the clean-line reading). The path MTU is the largest answered size only when every
    larger size is decided against; a black hole also needs a monotone ladder.
    """
    top = min(FULL_MTU, local_mtu) if local_mtu else FULL_MTU
    usable = [r for r in ladder if r["size"] <= top]
    answered = [r["size"] for r in usable if r["state"] == "answered"]
    frag_needed = [r["frag_needed"] for r in usable if r.get("frag_needed")]
    reported = min((f["mtu"] for f in frag_needed if f.get("mtu")), default=None)
    largest = max(answered, default=None)
    silent_above = [r["size"] for r in usable if largest is not None and r["size"] > largest and r["state"] == "silent"]
    undecided = [r["size"] for r in usable if r["state"] == "silent" and r.get("loss_alone", 0.0) >= alpha]
    monotone = largest is None or all(r["state"] == "answered" for r in usable if r["size"] <= largest)
    settled = not any(s in undecided for s in silent_above)
    black_hole = bool(largest is not None and silent_above and not frag_needed and monotone and settled)
    path_mtu: int | None
    if largest is None or not settled:
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
        "monotone": monotone,
        "undecided_sizes": undecided,
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
        control = R.ike_pending(R.udp_socket(), addr, PORT, natt=False, size=CONTROL_SIZE, label="control",
                                meter=True, max_sends=CONTROL_SENDS, interval=CONTROL_INTERVAL)
        socks.append(control.sock)
        up: dict[int, R.Pending] = {}
        down: dict[int, R.Pending] = {}
        for size in FRAGMENT_SIZES:
            for table, reply in ((up, 0), (down, size)):
                s = R.udp_socket()
                socks.append(s)
                table[size] = R.ike_pending(s, addr, PORT, natt=False, size=size, reply_size=reply,
                                            label=f"{'down' if reply else 'up'}{size}",
                                            max_sends=SIZE_SENDS, interval=SIZE_INTERVAL)
        ladder: dict[int, R.Pending] = {}
        for size in LADDER:
            s = R.udp_socket(pmtudisc=R.DF_PROBE)
            socks.append(s)
            with contextlib.suppress(OSError):
                s.connect((addr, PORT))  # ICMP errors reach a connected socket's queue reliably
            ladder[size] = R.ike_pending(s, addr, PORT, natt=False, size=size, label=f"df{size}",
                                          max_sends=SIZE_SENDS, interval=SIZE_INTERVAL)
        pend = [control, *up.values(), *down.values(), *ladder.values()]
        end = R.until(ctx, 2.5)
        tests = pend[1:]
        # the meter runs only while a test does: once every size is decided and its own round
        # trips are settled there is nothing left that the loss rate could change
        R.exchange(pend, end, resend=SIZE_INTERVAL, max_sends=SIZE_SENDS,
                   stop=lambda _p: all(p.done for p in tests) and control.settled())
        ended = min(time.monotonic(), end)
        after = R.udp_socket()
        socks.append(after)
        learnt_mtu = _kernel_mtu(after, addr)
    finally:
        R.close_all(socks)
    mtu = min(local_mtu or FULL_MTU, FULL_MTU)
    # the loss sample: the meter, and the ladder's answered sizes (one small datagram each way)
    samples = [control, *(p for p in ladder.values() if p.answered)]
    known, came = R.loss_sample(samples, ended)
    loss = measure_loss(known, came, f"{known} small round trips to the reflector (control meter and DF ladder)")
    ladder_rows: list[LadderRow] = [{"size": size, **_entry(p, 2, loss, ended)} for size, p in ladder.items()]
    pmtu = analyse_ladder(ladder_rows, local_mtu)
    pmtu["kernel_path_mtu_after"] = learnt_mtu
    up_rows = {str(s): _entry(p, fragments_of(s, mtu) + 1, loss, ended) for s, p in up.items()}
    down_rows = {str(s): _entry(p, 2 * fragments_of(s, mtu), loss, ended) for s, p in down.items()}
    up_blocked = {k: _blocked(v, ALPHA) for k, v in up_rows.items()}
    up_ok = {k: v["state"] == "answered" for k, v in up_rows.items()}
    # "down" only means something where the same size got up.
    down_ok: dict[str, bool | None] = {}
    for k, v in down_rows.items():
        if not up_ok[k]:
            down_ok[k] = None
        elif v["state"] == "answered":
            down_ok[k] = v.get("reply_size", 0) >= int(k)
        else:
            blocked = _blocked(v, ALPHA)
            down_ok[k] = None if blocked is None else not blocked
    undecided = [f"up{k}" for k, b in up_blocked.items() if b is None]
    undecided += [f"down{k}" for k, v in down_ok.items() if v is None and up_ok[k]]
    undecided += [f"df{size}" for size in pmtu.get("undecided_sizes", [])]
    tested = any(v.get("arrived_fragmented") for v in up_rows.values())
    up_pass: bool | None = False if any(up_blocked.values()) else (True if all(up_ok.values()) else None)
    decided_down = [v for v in down_ok.values() if v is not None]
    values: Values = {
        "reflector": res.host,
        "address": addr,
        "control": _entry(control),
        "up": up_rows,
        "down": down_rows,
        "up_ok": up_ok,
        "down_ok": down_ok,
        "fragmentation_seen": tested,
        "fragments_up_pass": up_pass,
        "fragments_down_pass": all(decided_down) if decided_down else None,
        "pmtu": {**pmtu, "ladder": ladder_rows},
        "loss": loss,
        "confidence_alpha": ALPHA,
        "undecided": undecided,
    }
    if control.reply is None:
        values["fragments_up_pass"] = values["fragments_down_pass"] = None
        return sw.result(Status.ERROR, "control_silent", values)
    problems = []
    if values["fragments_up_pass"] is False:
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
    if undecided:
        return sw.result(Status.OK, "undecided", values, loss=round(100 * loss.get("round_trip", 0.0)),
                         sizes=", ".join(undecided))
    return sw.result(Status.OK, "pass", values, path_mtu=path_mtu)
