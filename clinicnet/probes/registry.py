"""The probes ``diagnose`` runs, in display order.

Modules are named, not imported, so ``clinicnet --help`` stays light and a probe
with a heavy dependency costs nothing until it runs.
"""

from __future__ import annotations

import importlib

from clinicnet.probes.interface import ProbeFunc, ProbeSpec

PROBES: tuple[ProbeSpec, ...] = (
    ProbeSpec("privileges", "clinicnet.probes.privileges", "privileges", "実行権限"),
    ProbeSpec("interfaces", "clinicnet.probes.interfaces", "interfaces and addresses", "インターフェースとアドレス"),
    ProbeSpec("routes", "clinicnet.probes.routes", "default routes", "デフォルトルート"),
    ProbeSpec("vpn", "clinicnet.probes.vpn", "VPN state", "VPNの状態"),
    ProbeSpec("dns", "clinicnet.probes.dns", "DNS resolution", "名前解決 (DNS)"),
    ProbeSpec("internet", "clinicnet.probes.internet", "internet reachability", "インターネット到達性"),
    ProbeSpec("ike", "clinicnet.probes.ike", "IKE to the VPN gateway (UDP 500/4500)", "VPN装置へのIKE (UDP 500/4500)"),
)


def spec(name: str) -> ProbeSpec:
    for s in PROBES:
        if s.name == name:
            return s
    raise KeyError(name)


def load(s: ProbeSpec) -> ProbeFunc:
    module = importlib.import_module(s.module)
    func: ProbeFunc = module.probe
    return func
