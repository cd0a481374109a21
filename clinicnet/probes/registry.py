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
    ProbeSpec("esp", "clinicnet.probes.esp", "ESP and ESP-in-UDP via the reflector", "ESPの通過 (リフレクタ)"),
    ProbeSpec("nat_mapping", "clinicnet.probes.nat_mapping", "NAT mapping seen by the reflector", "NAT変換の確認 (リフレクタ)"),
    ProbeSpec("fragments", "clinicnet.probes.fragments", "IP fragments and path MTU", "IPフラグメントと経路MTU"),
    ProbeSpec("nat_layers", "clinicnet.probes.nat_layers", "NAT layers (trace, UPnP, NAT-PMP)", "NATの段数 (経路・UPnP・NAT-PMP)"),
)


def load(s: ProbeSpec) -> ProbeFunc:
    module = importlib.import_module(s.module)
    func: ProbeFunc = module.probe
    return func
