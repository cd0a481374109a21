"""ESP pass-through: does IP protocol 50 reach the reflector and come back, and does
ESP inside UDP 4500 (NAT-T, RFC 3948)?

Without NAT, IPsec data travels as plain ESP, and many small routers and
firewalls pass only TCP and UDP: the VPN then connects (IKE works) but no data
flows, which is the hardest fault for a clinic to describe. With NAT, ESP is
carried in UDP 4500 and plain ESP does not matter; the rule decides which case
applies from the NAT this probe (and the others) measured.

Sending raw ESP needs a raw socket, so administrator/root privileges; without
them the probe is skipped, but the ESP-in-UDP half still runs and is recorded.
The reflector's own liveness is tested with an IKE-shaped request on the same
run, so "ESP silent" is only reported when the reflector demonstrably answers.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, TypedDict

from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes._lazy import lazy
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch

if TYPE_CHECKING:
    from clinicnet.probes import _exchange as R
    from clinicnet.wire import reflector as wire
else:  # imported when the probe runs, not when the registry lists it
    R = lazy("clinicnet.probes._exchange")
    wire = lazy("clinicnet.wire.reflector")

NATT_PORT = 4500
IKE_PORT = 500
#: size of the ESP probes (IP payload): like a small ESP data packet, not a minimal one
ESP_SIZE = 120


class Exchange(TypedDict, total=False):
    #: answered, silent, icmp, frag_needed, send_error, skipped, error
    state: str
    rtt_ms: float | None
    sent: int
    error: str
    #: ICMP errors that came back for it (type, code, from, info)
    icmp: list[dict[str, object]]
    #: what the reflector saw (``_reflector.observed``)
    observed: dict[str, object]


class Reflector(TypedDict, total=False):
    reflector: str
    address: str | None
    #: why the reflector could not be resolved
    error: str | None
    local_address: str | None
    reflector_answered: bool
    ike500: Exchange
    ike4500: Exchange
    esp_in_udp: Exchange
    esp: Exchange
    observed_address: str | None
    nat: bool | None


class Values(TypedDict, total=False):
    reflectors: list[Reflector]
    privileged: bool
    #: the reflector saw another source address than ours (measured without privileges too)
    nat_present: bool | None
    esp_in_udp_passes: bool | None
    #: None unless plain ESP was measured
    esp_passes: bool | None


_ALSO_MEASURED = "ESP-in-UDP on 4500 was still measured"

SPEC = ProbeSpec(
    name="esp",
    order=80,
    title=Text(ja="ESP の通過（IP プロトコル 50）", en="ESP pass-through (IP protocol 50)"),
    values=Values,
    options=("reflectors", "privileged", "raw_sockets", "raw_sockets_reason"),
    reasons={
        "no_privileges": Text(
            ja="ESP（IP プロトコル 50）の送信には管理者権限が必要なため、測定していません"
            "（UDP 4500 内の ESP は測定しました）",
            en="plain ESP (IP protocol 50) needs a raw socket, which needs administrator/root privileges; "
            f"run as administrator to test it ({_ALSO_MEASURED})",
        ),
        "no_raw_sockets": Text(
            ja="ESP（IP プロトコル 50）の送信に必要な raw ソケットを使えないため、測定していません"
            "（UDP 4500 内の ESP は測定しました）",
            en=f"plain ESP (IP protocol 50) needs raw-socket privileges: {{detail}}; {_ALSO_MEASURED}",
        ),
        "no_npcap": Text(
            ja="ESP（IP プロトコル 50）の送信には Npcap が必要なため、測定していません"
            "（UDP 4500 内の ESP は測定しました）",
            en=f"plain ESP (IP protocol 50) needs raw-socket privileges: {{detail}}; {_ALSO_MEASURED}",
        ),
        "reflector_silent": Text(
            ja="リフレクタから応答がないため、ESP の通過を判断できません",
            en="the reflector did not answer at all: ESP cannot be judged",
        ),
        "send_failed": Text(
            ja="ESP を送信できませんでした（{error}）", en="could not send raw ESP: {error}"
        ),
        "passes": Text(
            ja="ESP（IP プロトコル 50）はリフレクタまで届き、戻ってきます",
            en="ESP (IP protocol 50) reaches the reflector and comes back",
        ),
        "blocked": Text(
            ja="リフレクタは UDP に応答しますが、ESP（IP プロトコル 50）は戻ってきません",
            en="the reflector answers UDP but ESP (IP protocol 50) does not come back",
        ),
    },
)


def _esp_pending(sock: socket.socket, address: str, port: int, *, in_udp: bool) -> R.Pending:
    """An ESP echo request; each transmission is the next sequence number of the same SPI, as
    real ESP would send it, so each echo names the transmission it answers (exact round trips)."""
    spi = R.new_spi()
    seq = [1]

    def build() -> tuple[bytes, bytes]:
        payload = wire.build_esp_request(spi, seq[0], size=ESP_SIZE)
        seq[0] += 1
        return payload, payload[: wire.ESP_HEADER_LEN]

    payload, token = build()
    return R.Pending(sock, payload, token, (address, port),
                     lambda d: wire.parse_esp_reply(d, in_udp=in_udp),
                     "esp_udp" if in_udp else "esp", renew=build)


def _state(p: R.Pending | None) -> Exchange:
    if p is None:
        return {"state": "skipped"}
    out: Exchange = {"state": p.state, "rtt_ms": p.rtt_ms, "sent": p.sends}
    if p.send_error:
        out["error"] = p.send_error
    if p.icmp:
        out["icmp"] = [e.to_json() for e in p.icmp[:4]]
    obs = R.observed(p)
    if obs is not None:
        out["observed"] = obs
    return out


def measure(host: str, ctx: ProbeContext) -> Reflector:
    res = R.resolve(host, ctx)
    entry: Reflector = {"reflector": host, "address": res.address}
    if res.address is None:
        entry["error"] = res.error
        return entry
    addr = res.address
    socks: list[socket.socket] = []
    raw_error: str | None = None
    try:
        udp = R.udp_socket()
        socks.append(udp)
        pend = [
            R.ike_pending(udp, addr, IKE_PORT, natt=False, label="ike500"),
            R.ike_pending(udp, addr, NATT_PORT, natt=True, label="ike4500"),
            _esp_pending(udp, addr, NATT_PORT, in_udp=True),
        ]
        raw_p: R.Pending | None = None
        if ctx.privileged and ctx.raw_sockets:
            try:
                raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, R.IPPROTO_ESP)
                raw.setblocking(False)
                socks.append(raw)
                raw_p = _esp_pending(raw, addr, 0, in_udp=False)
                pend.append(raw_p)
            except OSError as exc:
                raw_error = exc.strerror or str(exc)
        # up to 10 sends in 2.5 s: on a line losing 20 % each way, ten silent ESP round trips
        # happen by loss alone 4 times in 100,000 (four sends: 1.7 % — a false esp.blocked)
        R.exchange(pend, R.until(ctx, 2.5), resend=0.25, max_sends=10)
        ike500, ike4500, esp_udp = pend[:3]
        local = R.local_address_towards(addr)
    finally:
        R.close_all(socks)
    alive = ike500.answered or ike4500.answered or esp_udp.answered
    seen = next((p.reply.observation.address for p in pend if p.reply is not None and p.label != "esp"), None)
    entry.update({
        "local_address": local,
        "reflector_answered": alive,
        "ike500": _state(ike500),
        "ike4500": _state(ike4500),
        "esp_in_udp": _state(esp_udp),
        "esp": _state(raw_p) if raw_error is None else {"state": "error", "error": raw_error},
        "observed_address": seen,
        "nat": (seen != local) if seen is not None and local is not None else None,
    })
    return entry


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    if not ctx.reflectors:
        return sw.result(Status.SKIPPED, "no_reflector")
    entries = [measure(h, ctx) for h in ctx.reflectors[:3]]
    alive = [e for e in entries if e.get("reflector_answered")]
    nat_values = [e["nat"] for e in alive if e.get("nat") is not None]
    values: Values = {
        "reflectors": entries,
        "privileged": ctx.privileged,
        "nat_present": any(nat_values) if nat_values else None,
        "esp_in_udp_passes": any(e["esp_in_udp"]["state"] == "answered" for e in alive) if alive else None,
        "esp_passes": None,
    }
    if not ctx.privileged:
        return sw.result(Status.SKIPPED, "no_privileges", values)
    if not ctx.raw_sockets:
        # Windows: an administrator without Npcap cannot send or receive raw ESP.
        code = "no_npcap" if "npcap" in ctx.raw_sockets_reason.lower() else "no_raw_sockets"
        return sw.result(Status.SKIPPED, code, values, detail=ctx.raw_sockets_reason)
    if not alive:
        return sw.result(Status.ERROR, "reflector_silent", values)
    measured = [e for e in alive if e["esp"]["state"] not in ("error", "skipped")]
    if not measured:
        return sw.result(Status.ERROR, "send_failed", values, error=str(alive[0]["esp"].get("error")))
    passes = any(e["esp"]["state"] == "answered" for e in measured)
    values["esp_passes"] = passes
    if passes:
        return sw.result(Status.OK, "passes", values)
    return sw.result(Status.FAILED, "blocked", values)
