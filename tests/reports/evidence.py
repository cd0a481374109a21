"""Builders of probe results as the real probes shape them, for rule tests."""

from __future__ import annotations

from typing import Any

from clinicnet.model import Finding, ProbeResult, Status
from clinicnet.probes.nat_layers import layers_from
from clinicnet.reports.findings import evaluate


def pr(name: str, status: Status = Status.OK, **values: Any) -> ProbeResult:
    return ProbeResult(name=name, status=status, reason="test", values=values)


def iface(name: str = "eth0", kind: str = "wired", speed: int | None = 1000, v4: bool = True,
          v6: str | None = None, up: bool = True) -> dict[str, Any]:
    return {
        "name": name, "up": up, "kind": kind, "speed_mbps": speed, "mtu": 1500, "mac": "02:00:00:00:00:01",
        "ipv4": [{"address": "192.168.10.10", "netmask": "255.255.255.0"}] if v4 else [],
        "ipv6": [{"address": v6, "scope": "global"}] if v6 else [],
    }


def interfaces(*ifs: dict[str, Any]) -> ProbeResult:
    ifs = ifs or (iface(),)
    usable = [i for i in ifs if i["up"] and i["kind"] != "loopback"]
    return pr("interfaces", interfaces=list(ifs),
              has_ipv4=any(i["ipv4"] for i in usable),
              has_global_ipv6=any(i["ipv6"] for i in usable),
              wifi_up=[i["name"] for i in usable if i["kind"] == "wifi"])


def routes(v4: str | None = "eth0", v6: str | None = None, gw4: str | None = "192.168.10.1") -> ProbeResult:
    return pr("routes",
              default_v4=[{"interface": v4, "gateway": gw4, "metric": 0}] if v4 else [],
              default_v6=[{"interface": v6, "gateway": "fe80::1", "metric": 0}] if v6 else [])


def vpn(up: bool = False, tunnel: str = "tun0") -> ProbeResult:
    return pr("vpn", vpn_up=up, tunnel_interfaces=[{"name": tunnel, "up": True}] if up else [],
              default_via_tunnel=up, routes_via_tunnel=[], processes=[], process_error=None)


def check(url: str, v4: str = "reachable", v6: str = "not_applicable", literal: bool = False) -> dict[str, Any]:
    return {"url": url, "ip_literal": literal, "ipv4": {"state": v4}, "ipv6": {"state": v6}}


def internet(ipv4_ok: bool = True, ipv6_ok: bool = False, literal_ok: bool | None = None,
             only_dns: bool = False) -> ProbeResult:
    ok = ipv4_ok or ipv6_ok
    state = "reachable" if ipv4_ok else ("dns_failed" if only_dns else "timeout")
    checks = [check("http://web.example/generate_204", v4=state)]
    return pr("internet", Status.OK if ok else Status.FAILED, checks=checks, ipv4_ok=ipv4_ok, ipv6_ok=ipv6_ok,
              any_ok=ok, ip_literal_ok=ipv4_ok if literal_ok is None else literal_ok,
              only_dns_failures=only_dns, captive_portal_suspected=False)


def dns(ok: bool = True, error: str = "no_response") -> ProbeResult:
    name = {"name": "web.example", "resolved": ok,
            "ipv4": {"addresses": ["203.0.113.80"] if ok else [], "error": None if ok else error},
            "ipv6": {"addresses": [], "error": "no_answer" if ok else error}}
    return pr("dns", Status.OK if ok else Status.FAILED, resolvers=["192.168.10.1"], names=[name],
              all_resolved=ok, any_resolved=ok, ipv4_any=ok, ipv6_any=False)


def privileges(admin: bool = True) -> ProbeResult:
    return pr("privileges", admin=admin, raw_sockets=admin,
              raw_sockets_reason="ok" if admin else "raw sockets need root", platform="Linux")


def ike_target(udp500: str = "answered", udp4500: str = "answered", nat: bool | None = False,
               icmp: str | None = None, outcome500: str | None = None) -> dict[str, Any]:
    def attempt(port: int, state: str, outcome: str | None) -> dict[str, Any]:
        default = {"answered": "response", "silent": "timeout", "icmp": icmp or "icmp_port_unreachable",
                   "error": "send_error"}[state]
        return {"port": port, "ike_version": 2, "source_port": 40000, "outcome": outcome or default,
                "answered": state == "answered", "rtt_ms": 3.0 if state == "answered" else None,
                "sent": 1, "retransmissions": 0, "detail": "", "chosen_proposal": None, "vendor_ids": [],
                "ignored": []}
    return {
        "target": "192.0.2.10", "address": "192.0.2.10", "family": 4, "resolve_error": None,
        "attempts": [attempt(500, udp500, outcome500), attempt(4500, udp4500, None)],
        "udp500": udp500, "udp4500": udp4500, "icmp": icmp,
        "nat": {"measured": nat is not None, "local_behind_nat": nat, "remote_behind_nat": False if nat is not None else None,
                "method": "ikev2-natd"},
        "vendor_ids": [], "rtt_ms": 3.0,
    }


def ike(*targets: dict[str, Any]) -> ProbeResult:
    targets = targets or (ike_target(),)
    ok = all(t["udp500"] == "answered" or t["udp4500"] == "answered" for t in targets)
    return pr("ike", Status.OK if ok else Status.FAILED, targets=list(targets))


# --- the reflector's probes and the trace ------------------------------------------------


def esp(passes: bool | None = True, nat: bool | None = True, status: Status | None = None) -> ProbeResult:
    state = {True: "answered", False: "silent", None: "skipped"}[passes]
    refl = {"reflector": "192.0.2.20", "address": "192.0.2.20", "local_address": "192.168.10.10",
            "reflector_answered": True, "ike500": {"state": "answered"}, "ike4500": {"state": "answered"},
            "esp_in_udp": {"state": "answered"}, "esp": {"state": state},
            "observed_address": "198.51.100.2" if nat else "192.168.10.10", "nat": nat}
    st = status or (Status.OK if passes in (True, None) else Status.FAILED)
    return pr("esp", st, reflectors=[refl], privileged=passes is not None, nat_present=nat,
              esp_in_udp_passes=True, esp_passes=passes)


def esp_unmeasured(cause: str, nat: bool | None = None) -> ProbeResult:
    """The esp probe where plain ESP could not be measured, shaped as the probe leaves it.

    ``cause``: ``no_reflector`` (no values at all), ``no_privileges``, ``no_raw_sockets``
    (Windows without Npcap) or ``error`` (raw ESP could not be sent); in all but the
    first the reflector answered and its view of our address (``nat``) was recorded.
    """
    if cause == "no_reflector":
        return ProbeResult("esp", Status.SKIPPED, "no reflector given (--reflector HOST)", reason_code=cause)
    measured = esp(passes=None, nat=nat)
    values = {**measured.values, "privileged": cause != "no_privileges"}
    status = Status.ERROR if cause == "error" else Status.SKIPPED
    return ProbeResult("esp", status, f"plain ESP not measured: {cause}", values=values,
                       reason_code="" if cause == "error" else cause)


def nat_mapping(nat: bool = True, p500: bool | None = True, p4500: bool | None = True, eph: bool | None = True,
                local: str = "192.168.10.10") -> ProbeResult:
    ms = []
    for source, lport, ok in (("500", 500, p500), ("4500", 4500, p4500), ("ephemeral", 40000, eph)):
        if ok is None:
            continue
        ms.append({"source": source, "local_port": lport, "destination": "192.0.2.20:500", "state": "answered",
                   "observed_address": "198.51.100.2" if nat else local,
                   "observed_port": lport if ok else 61000 + lport % 1000, "port_preserved": ok})
    return pr("nat_mapping", local_address=local, mappings=ms, nat_present=nat, public_address="198.51.100.2",
              port_preserved={"500": p500, "4500": p4500, "ephemeral": eph}, endpoint_independent=True)


def nat_layers(hops: list[tuple[str, str]], wan: str | None = None,
               device: dict[str, str] | None = None) -> ProbeResult:
    hop_rows = [{"ttl": i + 1, "address": a, "kind": k} for i, (a, k) in enumerate(hops)]
    values = {"gateway": "192.168.10.1", "trace": {"hops": hop_rows}, "upnp": {"state": "ok", "device": device},
              "natpmp": {"state": "silent"}, "gateway_wan": wan}
    values.update(layers_from(hop_rows, "192.168.10.1", wan, device))
    return pr("nat_layers", **values)

def healthy(**override: ProbeResult) -> list[ProbeResult]:
    """A complete, healthy run; keyword arguments replace single probes."""
    base = {
        "privileges": privileges(), "interfaces": interfaces(), "routes": routes(), "vpn": vpn(),
        "dns": dns(), "internet": internet(), "ike": ike(),
    }
    base.update(override)
    return list(base.values())


def ids(results: list[ProbeResult]) -> dict[str, Finding]:
    """The findings the rules make of ``results``, by id; no rule may break on them."""
    findings, broken = evaluate(results)
    assert broken == []
    return {f.id: f for f in findings}
