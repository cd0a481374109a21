"""NAT mapping: the public address and port the reflector sees for source ports
500, 4500 and an ephemeral one, whether the port is kept, and whether the
mapping is endpoint-independent.

IKE starts from UDP 500 and many gateways expect port 500 to arrive unchanged
unless NAT-T is negotiated; a NAT that rewrites it makes NAT-T mandatory, and a
NAT whose mapping changes with the destination (symmetric, endpoint-dependent)
breaks the switch from port 500 to 4500 on some VPN products. The mapping is
compared across two reflector ports (and two reflectors when given) from one
socket, which is exactly the move IKE makes.

Binding source port 500 or 4500 needs privileges and a free port (a VPN client
on the PC holds it); either failure is recorded, not an error.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, TypedDict

from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes._lazy import lazy
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch

if TYPE_CHECKING:
    from clinicnet.probes import _exchange as R
else:  # imported when the probe runs, not when the registry lists it
    R = lazy("clinicnet.probes._exchange")

IKE_PORT = 500
NATT_PORT = 4500
#: time the exchange needs after the local ports are ours
PORT_EXCHANGE_S = 2.7


class ReflectorInfo(TypedDict):
    reflector: str
    address: str | None
    error: str | None


class PortMapping(TypedDict, total=False):
    #: the local source port: "500", "4500" or "ephemeral"
    source: str
    local_port: int
    destination: str
    #: answered, silent, icmp, frag_needed, send_error
    state: str
    rtt_ms: float | None
    observed_address: str
    observed_port: int
    port_preserved: bool


class Values(TypedDict, total=False):
    reflectors: list[ReflectorInfo]
    local_address: str | None
    #: per source: ok, no_privileges, in_use (another program), ``busy: ...`` (clinicnet's IKE
    #: probe held the port all run), ``error: ...``
    bind: dict[str, str]
    mappings: list[PortMapping]
    nat_present: bool | None
    public_address: str | None
    public_addresses: list[str]
    #: per source ("500", "4500", "ephemeral"); None where nothing answered
    port_preserved: dict[str, bool | None]
    endpoint_independent: bool | None
    endpoint_comparisons: int


SPEC = ProbeSpec(
    name="nat_mapping",
    order=90,
    title=Text(ja="NAT の変換方法", en="NAT mapping"),
    values=Values,
    options=("reflectors",),
    reasons={
        "silent": Text(
            ja="リフレクタから応答がないため、NAT の変換方法を測定できません",
            en="the reflector did not answer: the NAT mapping cannot be measured",
        ),
        "nat": Text(
            ja="NAT の内側です: リフレクタからは {public} に見えます",
            en="behind NAT: the reflector sees {public}",
        ),
        "no_nat": Text(
            ja="NAT はありません: リフレクタからはこの PC 自身のアドレスに見えます",
            en="no NAT: the reflector sees this PC's own address",
        ),
    },
)


def _bind(port: int) -> tuple[socket.socket | None, str]:
    try:
        return R.udp_socket(port), "ok"
    except PermissionError:
        return None, "no_privileges"
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return None, "in_use"
        return None, f"error: {exc.strerror or exc}"


def _mapping(p: R.Pending, source: str, local_port: int) -> PortMapping:
    out: PortMapping = {
        "source": source,
        "local_port": local_port,
        "destination": f"{p.dest[0]}:{p.dest[1]}",
        "state": p.state,
        "rtt_ms": p.rtt_ms,
    }
    if p.reply is not None:
        o = p.reply.observation
        out.update({"observed_address": o.address, "observed_port": o.port,
                    "port_preserved": o.port == local_port})
    return out


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    if not ctx.reflectors:
        return sw.result(Status.SKIPPED, "no_reflector")
    resolved = [R.resolve(h, ctx) for h in ctx.reflectors[:3]]
    targets = [r for r in resolved if r.address is not None]
    refl_info: list[ReflectorInfo] = [{"reflector": r.host, "address": r.address, "error": r.error} for r in resolved]
    if not targets:
        return sw.result(Status.ERROR, "unresolved", {"reflectors": refl_info})
    first = str(targets[0].address)
    socks: list[socket.socket] = []
    binds: dict[str, str] = {}
    jobs: list[tuple[R.Pending, str, int]] = []
    # local UDP 500/4500 are shared with the IKE probe's source-port-500 attempt: wait our
    # turn, leaving time for the exchange, so "in_use" is never clinicnet itself (issue 9)
    ports = R.LOCAL_IKE_PORTS
    own = ports.take("nat_mapping", max(0.0, ctx.remaining() - PORT_EXCHANGE_S))
    try:
        for source, port in (("500", IKE_PORT), ("4500", NATT_PORT), ("ephemeral", 0)):
            if port and not own:
                binds[source] = f"busy: clinicnet's {ports.holder or 'IKE'} probe held it for the whole run"
                continue
            s, state = _bind(port)
            binds[source] = state
            if s is None:
                continue
            socks.append(s)
            lport = int(s.getsockname()[1])
            jobs.append((R.ike_pending(s, first, IKE_PORT, natt=False, label=source), source, lport))
            if source == "ephemeral":
                jobs.append((R.ike_pending(s, first, NATT_PORT, natt=True, label=source), source, lport))
                for other in targets[1:]:
                    jobs.append((R.ike_pending(s, str(other.address), IKE_PORT, natt=False, label=source),
                                 source, lport))
        R.exchange([j[0] for j in jobs], R.until(ctx, 2.5), resend=0.5, max_sends=4)
    finally:
        R.close_all(socks)
        if own:
            ports.release()
    mappings = [_mapping(p, source, lport) for p, source, lport in jobs]
    answered = [m for m in mappings if m["state"] == "answered"]
    local = R.local_address_towards(first)
    values: Values = {"reflectors": refl_info, "local_address": local, "bind": binds, "mappings": mappings}
    if not answered:
        values.update({"nat_present": None, "public_address": None})
        return sw.result(Status.ERROR, "silent", values)
    public = answered[0]["observed_address"]
    nat = any(m["observed_address"] != local for m in answered) if local else None
    preserved: dict[str, bool | None] = {}
    for source in ("500", "4500", "ephemeral"):
        seen = [m["port_preserved"] for m in answered if m["source"] == source]
        preserved[source] = all(seen) if seen else None
    eph = [(m["observed_address"], m["observed_port"]) for m in answered if m["source"] == "ephemeral"]
    eph_sent = sum(1 for m in mappings if m["source"] == "ephemeral")
    values.update({
        "nat_present": nat,
        "public_address": public,
        "public_addresses": sorted({m["observed_address"] for m in answered}),
        "port_preserved": preserved,
        "endpoint_independent": (len(set(eph)) == 1) if len(eph) >= 2 else None,
        "endpoint_comparisons": len(eph) if eph_sent >= 2 else 0,
    })
    if nat:
        return sw.result(Status.OK, "nat", values, public=public)
    return sw.result(Status.OK, "no_nat", values)
