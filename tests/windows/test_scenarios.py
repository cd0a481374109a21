"""Every lab scenario, diagnosed by the Linux build and by ``clinicnet.exe`` under Wine.

The scenarios are dev/demo.py's (the README's ``--scenario`` list), loaded from there so the
two cannot drift. For each, one lab: strongSwan as the gateway and the reflector beside it,
as the demo runs them; the Linux source tree diagnoses first, then the Windows executable
from the same PC namespace (its own Wine prefix and wineserver there). Verdict and finding ids
must be equal, except for the scenarios in ``EXPECTED_DIFFERENCES``: what the Windows code
paths cannot find today, with the reason. Such a scenario that starts to match fails too, so
the list shrinks as the Windows probe work lands (docs/windows.md has the table).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lab import LabOptions
from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT
from tests.lab.strongswan import start_charon
from tests.probes.reflector_lab import start_reflector_beside_gateway
from tests.windows import wine as W


def _demo_scenarios() -> dict[str, LabOptions]:
    spec = importlib.util.spec_from_file_location("clinicnet_dev_demo", REPO_ROOT / "dev" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.SCENARIOS)


SCENARIOS = _demo_scenarios()

#: findings the Windows build adds by design in this test bed, dropped before comparing
WINDOWS_ONLY_FINDINGS = {
    # no Npcap under Wine (nor on most clinic PCs): ESP is skipped and the report says so, as it
    # must on a real PC without Npcap; the probe statuses show it too (esp: skipped)
    "privileges.limited": "no Npcap: plain ESP (protocol 50) cannot be measured, and the report says so",
}

#: scenario -> why the Windows build differs today. "code:" Linux-only code in the product (the
#: Windows probe work of issue 9 removes these); "wine:" a Wine limit (real Windows may agree).
#: docs/windows.md has the table; a scenario listed here that starts to match fails the test.
EXPECTED_DIFFERENCES: dict[str, str] = {
    "double-nat": "code: the TTL trace (nat_layers) reads routers' ICMP only from Linux's socket error "
                  "queue, so no hop answers on Windows and nat.double is not found "
                  "(netpath.trace_hop, IcmpSendEcho2, gives the hops under Wine)",
    "cgn": "code: the same trace gap: the 100.64.0.1 hop is never seen, so nat.cgn is not found",
    "ds-lite": "code: the trace gap (ipv4.over_ipv6 needs the 192.0.0.1 hop) and don't-fragment set only on "
               "Linux (every size passes fragmented: the 1460 softwire's mtu.small is missed); esp.blocked: "
               "ESP needs Npcap on Windows, skipped (wine: no raw protocol-50 sockets either)",
    "esp-blocked-no-nat": "code: ESP needs Npcap on Windows and is skipped; on a path without NAT the verdict "
                          "ignores that ESP, which decides the VPN there, was not measured: ready, not not_ready",
    "vpn-up": "code: Windows default routes come from netifaces' gateways only, so the VPN's gateway-less "
              "device route is invisible (GetBestInterfaceEx/netpath.best_interface would see it) and the "
              "report blames the internet (not_ready) instead of vpn.up_internet_down; "
              "wine: the TUN device shows as IfType 1 (other) named tun0, not a Windows tunnel adapter",
}


def summary(report: dict[str, Any], *, windows: bool = False) -> dict[str, Any]:
    ids = {f["id"] for f in report["findings"]}
    if windows:
        ids -= set(WINDOWS_ONLY_FINDINGS)
    return {"verdict": report["verdict"], "findings": sorted(ids)}


def probe_statuses(report: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["status"] for p in report["probes"]}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_matches_linux(scenario: str, make_lab, windows_exe: tuple[Path, dict[str, Any]]) -> None:
    exe, _ = windows_exe
    lab = make_lab(SCENARIOS[scenario])
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    start_reflector_beside_gateway(lab)
    extra = ["--reflector", A.REFLECTOR_V4]
    t0 = time.monotonic()
    linux = lab.diagnose(extra)
    linux_s = time.monotonic() - t0
    wine = W.wine_in_lab(lab)
    windows, res = W.diagnose_windows(wine, lab, [str(exe)], extra)
    got, want = summary(windows, windows=True), summary(linux)
    lin_status, win_status = probe_statuses(linux), probe_statuses(windows)
    W.save_reports(scenario, linux=linux, exe=windows)
    W.record_artifact(f"scenario:{scenario}", {
        "linux": want, "exe": got, "linux_seconds": round(linux_s, 1), "exe_seconds": round(res.seconds, 1),
        "probe_differences": {n: [lin_status.get(n), win_status.get(n)]
                              for n in sorted(set(lin_status) | set(win_status))
                              if lin_status.get(n) != win_status.get(n)},
    })
    reason = EXPECTED_DIFFERENCES.get(scenario)
    if reason is None:
        assert got == want, f"{scenario}: exe under Wine {got} != Linux {want}\n{res.stderr[-2000:]}"
    elif got == want:
        pytest.fail(f"{scenario} now matches Linux: remove it from EXPECTED_DIFFERENCES ({reason})")
    else:
        pytest.xfail(f"{scenario}: {reason}; exe {got} vs Linux {want}")
