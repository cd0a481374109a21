"""The IKE probe against a real strongSwan gateway in the namespace lab.

Every scenario is real packets: the PC namespace runs ``clinicnet ike`` (or the
probe module), the ``dc`` namespace runs charon on 192.0.2.10, and the clinic's
routers NAT and filter with nftables. Assertions are on the probe's values,
cross-checked with charon's own log and with ike-scan where that adds evidence.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from clinicnet.probes import ike
from tests.lab import addresses as A
from tests.lab.harness import LAB_DIR, REPO_ROOT, Lab
from tests.lab.strongswan import Charon, start_charon
from tests.probes.typed import problems

pytestmark = pytest.mark.lab

GW = A.GATEWAY_V4


def ike_cli(lab: Lab, *extra: str, timeout: float = 2.0) -> dict[str, Any]:
    """``clinicnet ike GW --json`` on the PC; returns the probe result as JSON."""
    proc = lab.clinicnet(["ike", GW, "--json", "--timeout", f"{timeout:g}", *extra])
    assert proc.returncode in (0, 3), f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    assert result["name"] == "ike"
    assert problems(result["values"], ike.SPEC.values) == [] and result["reason_code"] in ("answered", "silent")
    assert (proc.returncode == 0) == (result["status"] == "ok")
    return result


def ike_module(lab: Lab, *args: str, timeout: float = 2.0) -> dict[str, Any]:
    """The probe module directly, for options the CLI does not expose (``--ikev1-always``)."""
    proc = lab.run(
        "pc",
        [sys.executable, "-m", "clinicnet.probes.ike", "--json", "--timeout", f"{timeout:g}", *args],
        check=False,
        env={"PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
    )
    assert proc.returncode in (0, 1), proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def target(result: dict[str, Any]) -> dict[str, Any]:
    targets = result["values"]["targets"]
    assert len(targets) == 1
    t: dict[str, Any] = targets[0]
    return t


def attempts(t: dict[str, Any], port: int, version: int = 2) -> list[dict[str, Any]]:
    return [a for a in t["attempts"] if a["port"] == port and a["ike_version"] == version]


def received_from(charon: Charon, port: int) -> set[str]:
    """Source addresses charon logged for IKE_SA_INIT traffic to ``port``."""
    charon.wait_for_log("sending packet")
    return set(re.findall(rf"received packet: from ([\d.]+)\[\d+\] to {re.escape(GW)}\[{port}\]", charon.log_text()))


def test_direct_no_nat(make_lab: Any) -> None:
    lab = make_lab(nat_layers=0)
    charon = start_charon(lab, lab.tmpdir)
    result = ike_cli(lab)
    t = target(result)
    assert result["status"] == "ok"
    assert (t["udp500"], t["udp4500"]) == ("answered", "answered")
    assert t["nat"] == {"measured": True, "local_behind_nat": False, "remote_behind_nat": False, "method": "ikev2-natd"}
    assert t["address"] == GW and t["family"] == 4 and t["icmp"] is None
    first = attempts(t, 500)[0]
    assert first["outcome"] == "response" and first["answered"] and first["rtt_ms"] > 0
    assert first["chosen_proposal"]["dh"] == "ECP_256"
    assert {"hex": "882fe56d6fd20dbc2251613b2ebe5beb", "name": "strongSwan"} in t["vendor_ids"]
    # charon saw the PC's own address and answered IKE_SA_INIT on both ports
    log = charon.log_text()
    assert received_from(charon, 500) == {A.PC_PUBLIC_V4}
    assert received_from(charon, 4500) == {A.PC_PUBLIC_V4}
    assert "parsed IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) ]" in log
    assert "generating IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP)" in log
    # run as root: one more IKEv2 attempt from source port 500, also answered, no NAT
    fixed = [a for a in attempts(t, 500) if a["fixed_source_port"]]
    assert len(fixed) == 1 and fixed[0]["source_port"] == 500 and fixed[0]["answered"]
    assert re.search(rf"received packet: from {re.escape(A.PC_PUBLIC_V4)}\[500\] to {re.escape(GW)}\[500\]", log)
    # IKEv2 answered, so no IKEv1 was sent (each request is a half-open SA on the gateway)
    assert not attempts(t, 500, 1) and not attempts(t, 4500, 1)


@pytest.mark.parametrize(("lang", "words"), [("ja", ("応答あり", "NAT はありません", "応答時間")),
                                              ("en", ("answered", "no NAT between", "RTT"))])
def test_ike_command_text_in_the_users_language(make_lab: Any, lang: str, words: tuple[str, ...]) -> None:
    lab = make_lab(nat_layers=0)
    start_charon(lab, lab.tmpdir)
    proc = lab.clinicnet(["ike", GW, "--timeout", "2", "--lang", lang])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"IKE {GW}")
    for w in words:
        assert w in proc.stdout, (w, proc.stdout)
    assert "UDP 500" in proc.stdout and "UDP 4500" in proc.stdout and "strongSwan" in proc.stdout


@pytest.mark.parametrize("layers", [1, 2])
def test_nat_detected(make_lab: Any, layers: int) -> None:
    lab = make_lab(nat_layers=layers)
    charon = start_charon(lab, lab.tmpdir)
    t = target(ike_cli(lab))
    assert (t["udp500"], t["udp4500"]) == ("answered", "answered")
    assert t["nat"]["measured"] and t["nat"]["local_behind_nat"] is True
    assert t["nat"]["remote_behind_nat"] is False
    assert received_from(charon, 500) == {A.PUBLIC_V4}
    for a in t["attempts"]:
        if a["outcome"] == "response":
            assert a["nat"]["local_behind_nat"] is True
            assert a["local_address"] == A.PC_V4


def test_port_preservation_from_natd(make_lab: Any) -> None:
    """With the public address known (the reflector's job), NAT-D tells whether port 500 survived."""
    from clinicnet.probes.ike.assemble import port_preserved

    lab = make_lab(nat_layers=1, nat_random_ports=True)
    start_charon(lab, lab.tmpdir)
    t = target(ike_cli(lab))
    fixed = next(a for a in t["attempts"] if a["fixed_source_port"])
    assert fixed["answered"] and fixed["source_port"] == 500
    assert port_preserved(fixed, A.PUBLIC_V4) is False

    lab2 = make_lab(nat_layers=1)
    start_charon(lab2, lab2.tmpdir)
    t2 = target(ike_cli(lab2))
    fixed2 = next(a for a in t2["attempts"] if a["fixed_source_port"])
    assert port_preserved(fixed2, A.PUBLIC_V4) is True


@pytest.mark.parametrize("blocked,open_", [(500, 4500), (4500, 500)])
def test_one_port_blocked(make_lab: Any, blocked: int, open_: int) -> None:
    lab = make_lab(nat_layers=1, blocks=(f"udp dport {blocked}",))
    charon = start_charon(lab, lab.tmpdir)
    result = ike_cli(lab, timeout=2.5)
    t = target(result)
    assert t[f"udp{blocked}"] == "silent" and t[f"udp{open_}"] == "answered"
    assert result["status"] == "ok"  # the target answered on one port
    v2 = attempts(t, blocked)[0]
    assert v2["outcome"] == "timeout" and not v2["answered"]
    assert v2["sent"] >= 3 and v2["retransmissions"] == v2["sent"] - 1  # 0, 0.5, 1.5 s ...
    # IKEv2 got nothing there, so IKEv1 was tried too (a gateway may speak IKEv1 only)
    v1 = attempts(t, blocked, 1)
    assert v1 and v1[0]["outcome"] == "timeout"
    assert received_from(charon, blocked) == set()
    if blocked == 4500:
        assert t["nat"]["local_behind_nat"] is True  # measured on UDP 500


def test_everything_to_the_gateway_dropped(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1, blocks=(f"ip daddr {GW}",))
    start_charon(lab, lab.tmpdir)
    t0 = time.monotonic()
    result = ike_cli(lab, timeout=2.0)
    assert time.monotonic() - t0 < 6
    t = target(result)
    assert result["status"] == "failed"
    assert (t["udp500"], t["udp4500"]) == ("silent", "silent")
    assert all(a["outcome"] == "timeout" for a in t["attempts"])
    assert t["nat"]["measured"] is False and t["rtt_ms"] is None


@pytest.mark.parametrize(
    "spec,outcome",
    [
        ("reject with icmp type host-unreachable", "icmp_host_unreachable"),
        ("reject with icmp type port-unreachable", "icmp_port_unreachable"),
        ("reject with icmp type net-unreachable", "icmp_net_unreachable"),
        ("reject with icmp type admin-prohibited", "icmp_admin_prohibited"),
    ],
)
def test_icmp_rejects_fail_fast(make_lab: Any, spec: str, outcome: str) -> None:
    lab = make_lab(nat_layers=1, rejects=((f"ip daddr {GW}", spec),))
    start_charon(lab, lab.tmpdir)
    result = ike_cli(lab, timeout=4.0)
    t = target(result)
    assert result["status"] == "failed"
    assert (t["udp500"], t["udp4500"]) == ("icmp", "icmp")
    assert t["icmp"] == outcome
    assert t["icmp_from"] == A.ISP_PUBLIC_V4  # the isp's router sent it, through the clinic NAT
    v2 = attempts(t, 500)[0]
    assert v2["outcome"] == outcome and v2["sent"] == 1 and v2["retransmissions"] == 0
    assert v2["icmp"]["source"] == "errqueue"
    # fail fast: far below the 4 s budget, and no IKEv1 after an ICMP
    assert result["duration_s"] < 1.0
    assert not attempts(t, 500, 1)


def test_port_unreachable_from_the_gateway_itself(make_lab: Any) -> None:
    """No charon at all: the gateway host's kernel answers port unreachable."""
    lab = make_lab(nat_layers=1)
    result = ike_cli(lab, timeout=3.0)
    t = target(result)
    assert t["icmp"] == "icmp_port_unreachable" and t["icmp_from"] == GW
    assert result["duration_s"] < 1.0


def test_invalid_ke_is_retried_with_the_requested_group(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1)
    charon = start_charon(lab, lab.tmpdir, ikev2_proposals="aes128-sha256-modp2048")
    t = target(ike_cli(lab))
    first = attempts(t, 500)[0]
    assert first["outcome"] == "response" and first["chosen_proposal"]["dh"] == "MODP_2048"
    assert first["retries"] == ["invalid_ke: gateway wants MODP_2048, retried"]
    assert t["nat"]["local_behind_nat"] is True
    log = charon.log_text()
    assert "DH group ECP_256 unacceptable, requesting MODP_2048" in log


def test_no_proposal_chosen_still_proves_the_path(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1)
    charon = start_charon(lab, lab.tmpdir, ikev2_proposals="aes192-sha512-modp3072")
    result = ike_cli(lab)
    t = target(result)
    assert result["status"] == "ok"
    assert (t["udp500"], t["udp4500"]) == ("answered", "answered")
    assert attempts(t, 500)[0]["outcome"] == "no_proposal_chosen"
    # no SA_INIT response, so no NAT_DETECTION notifies: IKEv1 Main Mode on UDP 500 went on to
    # message 3/4 and measured NAT from the gateway's NAT-D payloads (RFC 3947) instead
    v1 = attempts(t, 500, version=1)
    assert v1 and v1[0]["outcome"] == "ikev1_response", v1
    assert t["nat"] == {"measured": True, "local_behind_nat": True, "remote_behind_nat": False,
                        "method": "ikev1-natd"}
    log = charon.log_text()
    assert "NAT-D" in log and "remote host is behind NAT" in log


def test_cookie_round_trip(make_lab: Any) -> None:
    """strongSwan asks for a COOKIE once an address has half-open SAs: the primary attempt
    retries with it (to get NAT detection); the others take the COOKIE itself as the answer,
    since a retry would only leave one more half-open SA on the gateway."""
    lab = make_lab(nat_layers=1)
    charon = start_charon(lab, lab.tmpdir, cookie_threshold_ip=1)
    ike_cli(lab)  # leaves half-open SAs: from now on this address must show a cookie
    t = target(ike_cli(lab))
    assert (t["udp500"], t["udp4500"]) == ("answered", "answered")
    primary = next(a for a in attempts(t, 500) if not a["fixed_source_port"])
    assert primary["retries"] == ["cookie: gateway asked for a COOKIE round trip, retried"]
    log = charon.log_text()
    assert "generating IKE_SA_INIT response 0 [ N(COOKIE) ]" in log
    if "received cookie lifetime expired" in log:
        # strongSwan 5.9 rejects its own cookie while (monotonic time - random secret
        # offset) < 10 s (unsigned underflow in cookie_verify): still an IKE answer
        assert primary["outcome"] == "cookie" and primary["answered"]
    else:
        assert primary["outcome"] == "response" and t["nat"]["local_behind_nat"] is True
    others = [a for a in t["attempts"] if a is not primary]
    assert others and all(a["outcome"] == "cookie" and a["answered"] and not a["retries"] for a in others)


def test_repeated_runs_against_strongswan_defaults(make_lab: Any) -> None:
    """strongSwan's defaults: COOKIE from the 4th half-open SA per address, silence from the 6th.
    A technician re-running the check must not see the gateway go silent."""
    lab = make_lab(nat_layers=1)
    start_charon(lab, lab.tmpdir, cookie_threshold=10, cookie_threshold_ip=3, block_threshold=5)
    seen = []
    for _ in range(5):
        t = target(ike_cli(lab, timeout=1.5))
        assert (t["udp500"], t["udp4500"]) == ("answered", "answered"), t["attempts"]
        seen += [a["outcome"] for a in t["attempts"]]
    assert "cookie" in seen


def test_ikev1_and_vendor_ids_agree_with_ike_scan(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1)
    start_charon(lab, lab.tmpdir)
    ours = target(ike_module(lab, GW, "--ikev1-always"))
    v1 = attempts(ours, 500, 1)[0]
    assert v1["outcome"] == "ikev1_response"
    assert v1["chosen_proposal"] == {
        "number": 1,
        "encr": "AES_CBC",
        "key_bits": 256,
        "hash": "SHA2_256",
        "auth": "PSK",
        "dh": "MODP_2048",
        "dh_id": 14,
        "lifetime_s": 28800,
    }
    assert attempts(ours, 4500, 1)[0]["outcome"] == "ikev1_response"

    scan = lab.run("pc", ["ike-scan", "--sport=0", GW], timeout=20).stdout
    assert "1 returned handshake" in scan, scan
    scan_vids = set(re.findall(r"VID=([0-9a-f]+)", scan))
    # charon echoes capabilities the initiator announced: ike-scan announces no NAT-T or
    # fragmentation, we do, so we see those two more
    ours_hex = {v["hex"] for v in v1["vendor_ids"]}
    assert scan_vids <= ours_hex and ours_hex - scan_vids == {
        "4a131c81070358455c5728f20e95452f",
        "4048b7d56ebce88525e7de7f00d6c2d380000000",
    }
    names = {v["name"] for v in v1["vendor_ids"]}
    assert {"strongSwan", "XAUTH", "Dead Peer Detection v1.0", "RFC 3947 NAT-T"} <= names

    scan2 = lab.run("pc", ["ike-scan", "--ikev2", "--sport=0", GW], timeout=20).stdout
    # ike-scan's IKEv2 offer gets INVALID_KE from strongSwan's defaults, or a handshake: either is an answer
    assert re.search(r"1 returned (handshake|notify)", scan2) and "0 returned handshake; 0 returned notify" not in scan2
    assert attempts(ours, 500)[0]["answered"]


@pytest.mark.parametrize("blocks", [(), ("udp dport 500",)])
def test_ike_scan_and_clinicnet_agree_on_udp500(make_lab: Any, blocks: tuple[str, ...]) -> None:
    lab = make_lab(nat_layers=1, blocks=blocks)
    start_charon(lab, lab.tmpdir)
    scan = lab.run("pc", ["ike-scan", "--ikev2", "--sport=0", "--retry=2", "--timeout=300", GW], timeout=20).stdout
    scan_answered = "0 returned handshake; 0 returned notify" not in scan
    t = target(ike_cli(lab, timeout=2.0))
    assert scan_answered == (t["udp500"] == "answered") == (not blocks), scan


def test_malformed_replies_are_reported_not_trusted(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1)
    proc = lab.spawn(
        "dc",
        [sys.executable, str(LAB_DIR / "ike_badresponder.py"), "--bind", GW],
        stdout=subprocess.PIPE,
        text=True,
        log_name="ike-badresponder.log",
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
    result = ike_cli(lab, timeout=2.0)
    t = target(result)
    assert result["status"] == "failed"
    assert (t["udp500"], t["udp4500"]) == ("silent", "silent")
    v2 = attempts(t, 500)[0]
    assert v2["outcome"] == "malformed" and not v2["answered"]
    text = " ".join(v2["ignored"])
    for kind in (
        "truncated",
        "wrong_spi",
        "not_ike",
        "length_mismatch",
        "bad_payload",
        "wrong_message_id",
        "unexpected",
    ):
        assert kind in text, (kind, v2["ignored"])
    assert attempts(t, 4500)[0]["outcome"] == "malformed"


def test_two_targets_concurrently_one_silent(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1, blocks=("ip daddr 192.0.2.99",))
    start_charon(lab, lab.tmpdir)
    t0 = time.monotonic()
    result = ike_module(lab, GW, A.GATEWAY_NAME, "192.0.2.99", timeout=2.0)
    elapsed = time.monotonic() - t0
    states = {t["target"]: (t["udp500"], t["address"]) for t in result["values"]["targets"]}
    assert states[GW] == ("answered", GW)
    assert states[A.GATEWAY_NAME] == ("answered", GW)
    assert states["192.0.2.99"][0] == "silent"
    assert result["status"] == "failed"
    assert elapsed < 4.5  # concurrent, not 3 x the budget


def test_ipv6_gateway(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1, ipv6=True)
    start_charon(lab, lab.tmpdir, extra_addresses=(A.GATEWAY_V6,))
    result = ike_module(lab, A.GATEWAY_V6)
    t = target(result)
    assert t["family"] == 6 and t["address"] == A.GATEWAY_V6
    assert (t["udp500"], t["udp4500"]) == ("answered", "answered")
    assert t["nat"]["measured"] and t["nat"]["local_behind_nat"] is False  # no NAT66 in the lab


def test_name_resolves_ipv4_first(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1, ipv6=True)
    start_charon(lab, lab.tmpdir, extra_addresses=(A.GATEWAY_V6,))
    t = target(ike_module(lab, A.GATEWAY_NAME))
    assert t["address"] == GW and t["family"] == 4 and t["udp500"] == "answered"


def test_dns_failure_is_a_resolve_error(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1, dns="down")
    result = ike_module(lab, A.GATEWAY_NAME, timeout=2.0)
    t = target(result)
    assert result["status"] == "failed"
    assert t["address"] is None and t["resolve_error"] and t["attempts"] == []
    assert (t["udp500"], t["udp4500"]) == ("error", "error")


@pytest.mark.parametrize(("gateway", "nat_layers"), [("ikev2-ignored", 1), ("ikev1-only", 0)])
def test_ikev1_nat_detection_in_the_probe(make_lab: Any, gateway: str, nat_layers: int) -> None:
    """The probe goes on to Main Mode 3/4 after an IKEv1 answer and takes NAT from the gateway's
    NAT-D (RFC 3947), as charon's own log confirms; message 5 is never sent."""
    lab = make_lab(nat_layers=nat_layers, gateway=gateway)
    result = ike_cli(lab, timeout=3.0)
    t = target(result)
    assert result["status"] == "ok"
    v1 = [a for a in t["attempts"] if a["ike_version"] == 1 and a["answered"]]
    assert v1 and all(a["outcome"] == "ikev1_response" for a in v1), t["attempts"]
    assert all("Main Mode 3/4 for NAT detection" in a["detail"] for a in v1)
    behind = nat_layers > 0
    assert t["nat"] == {"measured": True, "local_behind_nat": behind, "remote_behind_nat": False,
                        "method": "ikev1-natd"}
    assert lab.charon is not None
    lab.charon.wait_for_log("generating ID_PROT response 0 [ KE No NAT-D NAT-D ]")
    log = lab.charon.log_text()
    assert "parsed ID_PROT request 0 [ KE No NAT-D NAT-D ]" in log
    assert ("remote host is behind NAT" in log) is behind
    assert "ID_PROT request 0 [ ID" not in log  # message 5 never sent
