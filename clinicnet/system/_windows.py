"""Windows 10/11 implementation of the platform seams.

Uses documented APIs only (shell32.IsUserAnAdmin, kernel32.GetUserDefaultUILanguage,
netifaces for gateways, psutil's adapter names). The pure helpers at the bottom take
recorded Windows-shaped data, so they are unit-tested on Linux.
"""

from __future__ import annotations

import ctypes
import os
import re
from pathlib import Path
from typing import Any

from clinicnet.system._common import RouteDict, lang_from_locale_name

#: friendly-name patterns of Wi-Fi adapters (English and Japanese Windows)
_WIFI = re.compile(r"(wi-?fi|wlan|wireless|ワイヤレス|無線)", re.IGNORECASE)
#: friendly-name patterns of VPN/tunnel adapters created by common clients
_TUNNEL = re.compile(
    r"(vpn|tap-windows|openvpn|wireguard|wintun|anyconnect|forti|pangp|juniper|pulse|"
    r"sonicwall|nordlynx|tailscale|zerotier|isatap|teredo|6to4|ppp|l2tp|ikev2|sstp)",
    re.IGNORECASE,
)
_LOOPBACK = re.compile(r"loopback", re.IGNORECASE)
_VIRTUAL = re.compile(r"(vethernet|hyper-v|virtualbox|vmware|docker|wsl|bluetooth)", re.IGNORECASE)


def kind_from_name(name: str) -> str:
    """Interface kind from a Windows adapter friendly name."""
    if _LOOPBACK.search(name):
        return "loopback"
    if _TUNNEL.search(name):
        return "tunnel"
    if _WIFI.search(name):
        return "wifi"
    if _VIRTUAL.search(name):
        return "virtual"
    return "wired"


def lang_from_langid(langid: int) -> str:
    """Primary language id 0x11 is Japanese (LANGID 0x0411)."""
    return "ja" if (langid & 0x3FF) == 0x11 else "en"


def npcap_installed(system_root: str) -> bool:
    """Npcap installs its DLLs under System32\\Npcap (WinPcap-compatible mode aside)."""
    return (Path(system_root) / "System32" / "Npcap").is_dir()


def is_admin() -> bool:
    try:
        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False


def interface_kind(name: str) -> str:
    return kind_from_name(name)


def default_routes() -> list[RouteDict]:
    try:
        import netifaces  # type: ignore[import-untyped]
    except ImportError:
        return []
    out: list[RouteDict] = []
    gws: dict[Any, Any] = netifaces.gateways()
    for fam, num in ((netifaces.AF_INET, 4), (netifaces.AF_INET6, 6)):
        for gw, iface, *_ in gws.get(fam, []):
            out.append({"family": num, "interface": _friendly_name(iface), "gateway": gw, "metric": 0})
    return out


def _friendly_name(guid: str) -> str:
    """netifaces names adapters by GUID on Windows; psutil by friendly name."""
    try:
        import psutil

        for name in psutil.net_if_addrs():
            if guid.lower() in name.lower():
                return name
    except ImportError:
        pass
    return guid


def resolvers() -> list[str]:
    # No light documented API without extra packages; the DNS probe reports the
    # answers, which is what matters.
    return []


def ui_language() -> str:
    try:
        return lang_from_langid(int(ctypes.windll.kernel32.GetUserDefaultUILanguage()))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return lang_from_locale_name(os.environ.get("LANG"))


def raw_sockets_available() -> tuple[bool, str]:
    if not is_admin():
        return False, "raw sockets need administrator rights (run as administrator)"
    if not npcap_installed(os.environ.get("SystemRoot", r"C:\Windows")):
        return False, "Npcap is not installed (needed for ESP and fragment probes on Windows)"
    return True, "administrator with Npcap"
