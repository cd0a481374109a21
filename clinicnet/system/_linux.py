"""Linux (and other POSIX) implementation of the platform seams.

Reads /proc and /sys directly: they answer instantly, need no privileges and,
unlike netifaces, list device-only default routes (``default dev tun0``), which is
exactly how many VPN clients take over the default route.
"""

from __future__ import annotations

import locale
import os
import socket
from pathlib import Path
from typing import Any

from clinicnet.system._common import TUNNEL_NAME, RouteDict, lang_from_locale_name

_SYS = Path("/sys/class/net")

# ARPHRD_* values from <linux/if_arp.h> that mean "tunnel"
_TUNNEL_ARPHRD = {65534, 768, 769, 776, 778, 823, 512, 513}  # none(tun), ipip, ip6ip6, sit, gre, ip6gre, ppp
_LOOPBACK_ARPHRD = 772


def is_admin() -> bool:
    """CAP_NET_RAW in the effective set: what raw sockets really need.

    Root normally has it; a root process in a container or under systemd without it
    is no better off than a user, and a user given the capability is as good as root.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 13))
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def interface_kind(name: str) -> str:
    base = _SYS / name
    arphrd = _read(base / "type")
    if arphrd is not None and arphrd.isdigit() and int(arphrd) == _LOOPBACK_ARPHRD:
        return "loopback"
    if (base / "wireless").exists() or (base / "phy80211").exists():
        return "wifi"
    if (base / "tun_flags").exists() or (arphrd is not None and arphrd.isdigit() and int(arphrd) in _TUNNEL_ARPHRD):
        return "tunnel"
    if TUNNEL_NAME.match(name):
        return "tunnel"
    if name == "lo":
        return "loopback"
    if (base / "device").exists():
        return "wired"
    if base.exists():
        # veth, bridge, bond, macvlan... : software interfaces. A veth is how a
        # container or a lab namespace is wired, so count it as wired.
        if (base / "bridge").exists() or (base / "bonding").exists():
            return "virtual"
        return "wired"
    return "unknown"


def parse_proc_route(text: str) -> list[RouteDict]:
    """Default routes from the text of /proc/net/route (IPv4)."""
    out: list[RouteDict] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        iface, dest, gw, flags, metric, mask = f[0], f[1], f[2], f[3], f[6], f[7]
        try:
            if int(dest, 16) != 0 or int(mask, 16) != 0 or not int(flags, 16) & 0x1:  # RTF_UP
                continue
            gw_addr = socket.inet_ntoa(int(gw, 16).to_bytes(4, "little"))
            out.append(
                {
                    "family": 4,
                    "interface": iface,
                    "gateway": None if gw_addr == "0.0.0.0" else gw_addr,
                    "metric": int(metric),
                }
            )
        except ValueError:
            continue
    return out


def parse_proc_ipv6_route(text: str) -> list[RouteDict]:
    """Default routes from the text of /proc/net/ipv6_route."""
    out: list[RouteDict] = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        dest, plen, gw, metric, flags, iface = f[0], f[1], f[4], f[5], f[8], f[9]
        try:
            if int(dest, 16) != 0 or int(plen, 16) != 0 or iface == "lo":
                continue
            if not int(flags, 16) & 0x1 or int(flags, 16) & 0x200:  # RTF_UP, not RTF_REJECT
                continue
            gw_addr = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(gw))
            out.append(
                {
                    "family": 6,
                    "interface": iface,
                    "gateway": None if gw_addr == "::" else gw_addr,
                    "metric": int(metric, 16),
                }
            )
        except ValueError:
            continue
    return out


def default_routes() -> list[RouteDict]:
    routes: list[RouteDict] = []
    for path, parser in (("/proc/net/route", parse_proc_route), ("/proc/net/ipv6_route", parse_proc_ipv6_route)):
        try:
            routes.extend(parser(Path(path).read_text()))
        except OSError:
            continue
    if not routes:
        routes = _netifaces_default_routes()
    return sorted(routes, key=lambda r: (r["family"], r["metric"]))


def _netifaces_default_routes() -> list[RouteDict]:
    """Fallback where /proc is missing (macOS, BSD)."""
    try:
        import netifaces  # type: ignore[import-untyped]
    except ImportError:
        return []
    out: list[RouteDict] = []
    gws: dict[Any, Any] = netifaces.gateways()
    for fam, num in ((netifaces.AF_INET, 4), (netifaces.AF_INET6, 6)):
        for gw, iface, *_ in gws.get(fam, []):
            out.append({"family": num, "interface": iface, "gateway": gw, "metric": 0})
    return out


def parse_resolv_conf(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] == "nameserver":
            out.append(f[1])
    return out


def resolvers() -> list[str]:
    try:
        return parse_resolv_conf(Path("/etc/resolv.conf").read_text())
    except OSError:
        return []


def ui_language() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return lang_from_locale_name(value)
    try:
        return lang_from_locale_name(locale.getlocale()[0])
    except ValueError:
        return "en"


def raw_sockets_available() -> tuple[bool, str]:
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)  # IPPROTO_ESP
    except PermissionError:
        return False, "raw sockets need root or CAP_NET_RAW"
    except OSError as exc:
        return False, f"raw sockets unavailable: {exc.strerror or exc}"
    s.close()
    return True, "raw sockets available"


def owns_console() -> bool:
    return False  # a terminal outlives the program here
