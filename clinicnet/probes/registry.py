"""The probes ``diagnose`` runs, in display order.

Modules are named, not imported, so ``clinicnet --help`` stays light and a probe
with a heavy dependency costs nothing until it runs.
"""

from __future__ import annotations

import importlib

from clinicnet.model import Text
from clinicnet.probes import nat_binding
from clinicnet.probes.interface import ProbeFunc, ProbeSpec

PROBES: tuple[ProbeSpec[dict], ...] = (
    ProbeSpec("privileges", 0, Text(ja="実行権限", en="privileges"), dict),
    ProbeSpec("interfaces", 0, Text(ja="インターフェースとアドレス", en="interfaces and addresses"), dict),
    ProbeSpec("routes", 0, Text(ja="デフォルトルート", en="default routes"), dict),
    ProbeSpec("vpn", 0, Text(ja="VPNの状態", en="VPN state"), dict),
    ProbeSpec("dns", 0, Text(ja="名前解決 (DNS)", en="DNS resolution"), dict),
    ProbeSpec("internet", 0, Text(ja="インターネット到達性", en="internet reachability"), dict),
    ProbeSpec("ike", 0, Text(ja="VPN装置へのIKE (UDP 500/4500)", en="IKE to the VPN gateway (UDP 500/4500)"), dict),
    ProbeSpec("esp", 0, Text(ja="ESPの通過 (リフレクタ)", en="ESP and ESP-in-UDP via the reflector"), dict),
    ProbeSpec("nat_mapping", 0, Text(ja="NAT変換の確認 (リフレクタ)", en="NAT mapping seen by the reflector"), dict),
    ProbeSpec("fragments", 0, Text(ja="IPフラグメントと経路MTU", en="IP fragments and path MTU"), dict),
    ProbeSpec("nat_layers", 0, Text(ja="NATの段数 (経路・UPnP・NAT-PMP)", en="NAT layers (trace, UPnP, NAT-PMP)"), dict),
)

#: probes that take minutes: run only when asked (``diagnose --long``, watch mode), each with
#: the deadline its module's ``budget()`` gives, not ``--timeout``
LONG_PROBES: tuple[ProbeSpec[dict], ...] = (nat_binding.SPEC,)  # type: ignore[assignment]


def load(s: ProbeSpec) -> ProbeFunc:
    module = importlib.import_module(s.module_name)
    func: ProbeFunc = module.probe
    return func
