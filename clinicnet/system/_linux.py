"""Linux (and other POSIX) implementation of the platform seams.

Reads /proc and /sys directly: they answer instantly, need no privileges and,
unlike netifaces, list device-only default routes (``default dev tun0``), which is
exactly how many VPN clients take over the default route.
"""

from __future__ import annotations

import contextlib
import dataclasses
import locale
import os
import socket
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

from clinicnet.system._common import (
    ANCILLARY_SPACE,
    LOCAL,
    TUNNEL_NAME,
    Arrival,
    IcmpError,
    PrefixRoute,
    RouteDict,
    classify_icmp,
    default_routes_from,
    lang_from_locale_name,
)

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


def _proc_route_rows(text: str) -> list[PrefixRoute]:
    """``/0`` and ``/1`` entries of /proc/net/route (IPv4): the candidates for default routes."""
    out: list[PrefixRoute] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        iface, dest, gw, flags, metric, mask = f[0], f[1], f[2], f[3], f[6], f[7]
        try:
            plen = bin(int(mask, 16)).count("1")
            if plen > 1 or not int(flags, 16) & 0x1:  # RTF_UP
                continue
            gw_addr = socket.inet_ntoa(int(gw, 16).to_bytes(4, "little"))
            out.append({
                "family": 4, "prefix": socket.inet_ntoa(int(dest, 16).to_bytes(4, "little")), "prefix_len": plen,
                "interface": iface, "gateway": None if gw_addr == "0.0.0.0" else gw_addr, "metric": int(metric),
            })
        except (ValueError, OverflowError):
            continue
    return out


def parse_proc_route(text: str) -> list[RouteDict]:
    """Default routes (split ``0.0.0.0/1`` + ``128.0.0.0/1`` pairs included) from /proc/net/route."""
    return default_routes_from(_proc_route_rows(text))


def _proc_ipv6_route_rows(text: str) -> list[PrefixRoute]:
    out: list[PrefixRoute] = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        dest, plen, gw, metric, flags, iface = f[0], f[1], f[4], f[5], f[8], f[9]
        try:
            length = int(plen, 16)
            if length > 1 or iface == "lo":
                continue
            if not int(flags, 16) & 0x1 or int(flags, 16) & 0x200:  # RTF_UP, not RTF_REJECT
                continue
            gw_addr = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(gw))
            out.append({
                "family": 6, "prefix": socket.inet_ntop(socket.AF_INET6, bytes.fromhex(dest)), "prefix_len": length,
                "interface": iface, "gateway": None if gw_addr == "::" else gw_addr, "metric": int(metric, 16),
            })
        except ValueError:
            continue
    return out


def parse_proc_ipv6_route(text: str) -> list[RouteDict]:
    """Default routes (split ``::/1`` + ``8000::/1`` pairs included) from /proc/net/ipv6_route."""
    return default_routes_from(_proc_ipv6_route_rows(text))


def default_routes() -> list[RouteDict]:
    routes: list[RouteDict] = []
    for path, parser in (("/proc/net/route", parse_proc_route), ("/proc/net/ipv6_route", parse_proc_ipv6_route)):
        try:
            routes.extend(parser(Path(path).read_text()))
        except OSError:
            continue
    if not routes:
        routes = _netifaces_default_routes()
    return sorted(routes, key=lambda r: (r["family"], not r.get("split", False), r["metric"]))


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


# --------------------------------------------------------------------------------------
# Datagram sockets: what Linux lets them measure (clinicnet.system.udp / .icmp)
#
# The socket option numbers Python's socket module does not export, once for the whole
# program (<linux/in.h>, <linux/in6.h>, <linux/errqueue.h>).
# --------------------------------------------------------------------------------------

SOL_IP = 0
SOL_IPV6 = 41
IP_TTL = 2
IP_PKTINFO = 8
IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_RECVTTL = 12
IP_MTU = 14
IP_RECVFRAGSIZE = 25
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_DO = 2
IP_PMTUDISC_PROBE = 3
IPV6_MTU_DISCOVER = 23
IPV6_MTU = 24
IPV6_RECVERR = 25
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
IPV6_RECVFRAGSIZE = 77
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
#: struct sock_extended_err: errno, origin, type, code, pad, info, data
EXTENDED_ERR = struct.Struct("=IBBBBII")
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0x40)

#: IP_RECVERR: the kernel queues each ICMP error with its type, code and sender on an
#: ordinary unprivileged UDP socket
ICMP_ERRORS_ON_UDP_SOCKET = True


def _v6(sock: socket.socket) -> bool:
    return sock.family == socket.AF_INET6


def _set(sock: socket.socket, v4_option: int, v6_option: int, value: int) -> bool:
    """Set the IPv4 or IPv6 flavour of an option, whichever the socket is; False if refused."""
    try:
        if _v6(sock):
            sock.setsockopt(SOL_IPV6, v6_option, value)
        else:
            sock.setsockopt(SOL_IP, v4_option, value)
    except OSError:
        return False
    return True


def icmp_enable(sock: socket.socket) -> bool:
    return _set(sock, IP_RECVERR, IPV6_RECVERR, 1)


def parse_extended_err(data: bytes, offender: bytes) -> IcmpError | None:
    """Decode ``struct sock_extended_err`` plus the offender sockaddr that follows it; None if unusable."""
    if len(data) < EXTENDED_ERR.size:
        return None
    ee_errno, origin, ee_type, ee_code, _pad, info, _data = EXTENDED_ERR.unpack_from(data, 0)
    if origin == SO_EE_ORIGIN_LOCAL:
        return IcmpError(LOCAL, ee_errno, source="errqueue", info=info)
    if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
        return None
    v6 = origin == SO_EE_ORIGIN_ICMP6
    return IcmpError(classify_icmp(v6, ee_type, ee_code), ee_errno, ee_type, ee_code, _sockaddr_host(offender),
                     "errqueue", v6, info)


def _sockaddr_host(raw: bytes) -> str | None:
    """The address in a ``sockaddr_in`` / ``sockaddr_in6``, or None."""
    if len(raw) >= 8 and struct.unpack_from("=H", raw)[0] == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if len(raw) >= 24 and struct.unpack_from("=H", raw)[0] == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return None


def icmp_from_errno(err: int | None) -> IcmpError | None:
    """Nothing beyond the portable mapping: Linux's error queue holds the ICMP itself."""
    return None


def icmp_read(sock: socket.socket, limit: int) -> list[IcmpError]:
    """Pop up to ``limit`` entries of the error queue, without blocking, oldest first."""
    out: list[IcmpError] = []
    for _ in range(limit):
        try:
            _data, anc, _flags, addr = sock.recvmsg(512, 512, MSG_ERRQUEUE | _DONTWAIT)
        except OSError:  # BlockingIOError: the queue is empty
            break
        dest = (str(addr[0]), int(addr[1])) if isinstance(addr, tuple) and len(addr) >= 2 else None
        for level, ctype, cdata in anc:
            if (level, ctype) in ((SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
                err = parse_extended_err(cdata, cdata[EXTENDED_ERR.size:])
                if err is not None:
                    out.append(err if dest is None else _with_dest(err, dest))
    return out


def _with_dest(err: IcmpError, dest: tuple[str, int]) -> IcmpError:
    return dataclasses.replace(err, dest=dest)


def udp_fragment_policy(sock: socket.socket, policy: str) -> bool:
    """``fragment``: DF off, large datagrams leave in pieces; ``probe``: DF on, the cached path MTU ignored."""
    mode = {"fragment": IP_PMTUDISC_DONT, "probe": IP_PMTUDISC_PROBE}[policy]
    return _set(sock, IP_MTU_DISCOVER, IPV6_MTU_DISCOVER, mode)


def udp_report_fragments(sock: socket.socket) -> bool:
    """IP_RECVFRAGSIZE (Linux >= 4.10): each datagram that came in pieces tells its largest fragment."""
    return _set(sock, IP_RECVFRAGSIZE, IPV6_RECVFRAGSIZE, 1)


def udp_path_mtu(sock: socket.socket) -> int | None:
    """The kernel's path MTU toward a connected socket's peer."""
    try:
        if _v6(sock):
            return int(sock.getsockopt(SOL_IPV6, IPV6_MTU))
        return int(sock.getsockopt(SOL_IP, IP_MTU))
    except OSError:
        return None


def udp_bind_exclusive(sock: socket.socket, address: tuple[str, int]) -> None:
    """Linux: a UDP bind is exclusive unless both sockets set SO_REUSEPORT (we never do)."""
    sock.bind(address)


def udp_receive(sock: socket.socket, bufsize: int) -> tuple[bytes, Arrival]:
    data, anc, _flags, _addr = sock.recvmsg(bufsize, ANCILLARY_SPACE, _DONTWAIT)
    return data, udp_arrival(anc) if anc else Arrival()


def udp_report_arrival(sock: socket.socket, *, ttl: bool, fragments: bool) -> None:
    """Ask for the local address (and TTL, fragment size) of every datagram; raises OSError."""
    if _v6(sock):
        sock.setsockopt(SOL_IPV6, IPV6_RECVPKTINFO, 1)
        sock.setsockopt(SOL_IPV6, IPV6_RECVHOPLIMIT, 1)
        if fragments:
            with contextlib.suppress(OSError):
                sock.setsockopt(SOL_IPV6, IPV6_RECVFRAGSIZE, 1)
        return
    sock.setsockopt(SOL_IP, IP_PKTINFO, 1)
    if ttl:
        sock.setsockopt(SOL_IP, IP_RECVTTL, 1)
    if fragments:
        sock.setsockopt(SOL_IP, IP_RECVFRAGSIZE, 1)


def udp_arrival(anc: Iterable[tuple[int, int, bytes]]) -> Arrival:
    """Decode the ancillary data :func:`udp_report_arrival` asked for (hostile lengths ignored)."""
    local: str | None = None
    ttl = 0
    frag = 0
    for level, ctype, data in anc:
        if level == SOL_IP:
            if ctype == IP_PKTINFO and len(data) >= 12:
                local = socket.inet_ntop(socket.AF_INET, data[8:12])
            elif ctype == IP_TTL and len(data) >= 4:
                ttl = struct.unpack("=i", data[:4])[0]
            elif ctype == IP_RECVFRAGSIZE and len(data) >= 4:
                frag = struct.unpack("=i", data[:4])[0]
        elif level == SOL_IPV6:
            if ctype == IPV6_PKTINFO and len(data) >= 16:
                local = socket.inet_ntop(socket.AF_INET6, data[:16])
            elif ctype == IPV6_HOPLIMIT and len(data) >= 4:
                ttl = struct.unpack("=i", data[:4])[0]
            elif ctype == IPV6_RECVFRAGSIZE and len(data) >= 4:
                frag = struct.unpack("=i", data[:4])[0]
    return Arrival(local, ttl, frag)


def udp_answer_from(family: int, local: str) -> list[tuple[int, int, bytes]]:
    """Ancillary data for ``sendmsg`` that makes a wildcard socket answer from ``local``."""
    if family == socket.AF_INET:
        return [(SOL_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, socket.inet_aton(local), bytes(4)))]
    return [(SOL_IPV6, IPV6_PKTINFO, socket.inet_pton(socket.AF_INET6, local) + bytes(4))]


# --------------------------------------------------------------------------------------
# Packet capture for the support bundle (clinicnet.system.capture)
# --------------------------------------------------------------------------------------

CAPTURE_TOOLS = ("tcpdump", "dumpcap")
#: root (or CAP_NET_RAW) is enough: libpcap needs no extra driver here
CAPTURE_NEEDS_RAW_SOCKETS = False


def capture_interfaces() -> list[str]:
    return ["any"]  # the Linux "cooked" pseudo-interface: every interface at once


def capture_popen_options() -> dict[str, Any]:
    return {}


def capture_interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Both tcpdump and dumpcap flush and close their file on SIGINT."""
    import signal

    proc.send_signal(signal.SIGINT)
