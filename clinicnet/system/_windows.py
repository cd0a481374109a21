"""Windows 10/11 implementation of the platform seams.

Documented APIs only, through ctypes (no pywin32: one less binary to bundle and
to explain to a clinic's antivirus):

- ``shell32.IsUserAnAdmin`` for "running as administrator";
- ``iphlpapi.GetAdaptersAddresses`` for every adapter's friendly name (what
  psutil and the user see: "Wi-Fi", "イーサネット"), its GUID (what netifaces
  uses), its ``IfType`` (71 is Wi-Fi whatever the adapter is called, which a
  name pattern cannot know on a Japanese or renamed adapter), link speed, DNS
  servers and gateways;
- netifaces for the default gateways, joined to the adapters by GUID;
- the Npcap driver's install folder and service key, because raw ESP and IP
  fragments cannot be sent or seen on Windows without it.

Everything that turns those answers into clinicnet's plain data is a pure
function over recorded, Windows-shaped dicts (``AdapterRecord``), unit-tested on
Linux; the ctypes walker itself is tested there too, on a linked list laid out
in memory exactly as Windows lays it out (tests/system/test_windows_seams.py).
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from clinicnet.system._common import (
    Arrival,
    IcmpError,
    PrefixRoute,
    RouteDict,
    default_routes_from,
    lang_from_locale_name,
)

if TYPE_CHECKING:
    import subprocess

#: friendly-name patterns of Wi-Fi adapters (English and Japanese Windows)
_WIFI = re.compile(r"(wi-?fi|wlan|wireless|ワイヤレス|無線)", re.IGNORECASE)
#: name/description patterns of VPN/tunnel adapters created by common clients (the IPsec ones
#: included: Windows' own IKEv2/L2TP miniports, strongSwan, SoftEther, YAMAHA, FENICS ...)
_TUNNEL = re.compile(
    r"(vpn|tap-windows|tap-win32|openvpn|wireguard|wintun|anyconnect|cisco secure client|forti|pangp|"
    r"globalprotect|juniper|pulse|sonicwall|netextender|check point|watchguard|sophos|nordlynx|tailscale|"
    r"zerotier|isatap|teredo|6to4|ppp|l2tp|ikev2|ipsec|strongswan|softether|sstp|wan miniport|"
    r"virtual miniport|secureminder|fenics)",
    re.IGNORECASE,
)
#: a friendly name that is a tunnel device name (``tun0``, ``wg0``, ``ppp0``): WireGuard names its
#: adapter after the tunnel, OpenVPN/Wintun users rename theirs so (and Wine shows a Linux TUN so)
_TUNNEL_DEVICE = re.compile(r"^(tun|tap|wg|ppp|ipsec|utun)\d+$", re.IGNORECASE)
_LOOPBACK = re.compile(r"loopback", re.IGNORECASE)
_VIRTUAL = re.compile(
    r"(vethernet|hyper-v|virtualbox|vmware|docker|wsl|bluetooth|personal area network|npcap loopback)",
    re.IGNORECASE,
)

# IANA ifType values (ipifcons.h) that GetAdaptersAddresses reports
IF_TYPE_OTHER = 1
IF_TYPE_ETHERNET_CSMACD = 6
IF_TYPE_PPP = 23
IF_TYPE_SOFTWARE_LOOPBACK = 24
IF_TYPE_PROP_VIRTUAL = 53
IF_TYPE_IEEE80211 = 71
IF_TYPE_TUNNEL = 131
IF_TYPE_IEEE1394 = 144
IF_TYPE_WWANPP = 243
IF_TYPE_WWANPP2 = 244
_TUNNEL_IFTYPES = {IF_TYPE_PPP, IF_TYPE_TUNNEL, IF_TYPE_PROP_VIRTUAL}

#: IfOperStatusUp
OPER_UP = 1
#: Windows' AF_INET6 (23), not Linux's (10): recorded sockaddrs carry Windows values
WIN_AF_INET = 2
WIN_AF_INET6 = 23
#: the placeholder DNS servers Windows shows on an IPv6 adapter with none configured
_UNCONFIGURED_V6_DNS = {"fec0:0:0:ffff::1", "fec0:0:0:ffff::2", "fec0:0:0:ffff::3"}


class _AdapterRecord(TypedDict):

    guid: str
    friendly_name: str
    description: str
    if_type: int
    oper_up: bool
    speed_bps: int
    mtu: int
    ipv4_metric: int
    ipv6_metric: int
    addresses: list[str]
    dns: list[str]
    gateways: list[str]


class AdapterRecord(_AdapterRecord, total=False):
    """One adapter as GetAdaptersAddresses describes it, in plain data."""

    #: IfIndex / Ipv6IfIndex: what the routing table names the adapter by
    if_index: int
    ipv6_if_index: int


# --------------------------------------------------------------------------------------
# pure helpers (recorded data in, clinicnet data out)
# --------------------------------------------------------------------------------------


def kind_from_name(name: str) -> str:
    """Interface kind from a Windows adapter friendly name (fallback when no IfType is known)."""
    if _LOOPBACK.search(name):
        return "loopback"
    if _TUNNEL.search(name) or _TUNNEL_DEVICE.match(name):
        return "tunnel"
    if _WIFI.search(name):
        return "wifi"
    if _VIRTUAL.search(name):
        return "virtual"
    return "wired"


def kind_from_adapter(rec: Mapping[str, Any]) -> str:
    """Interface kind from IfType first, then name and description.

    IfType is authoritative for Wi-Fi (71), loopback (24) and tunnels (PPP 23,
    tunnel 131, proprietary virtual 53 as used by Wintun/WireGuard). Many VPN
    clients (TAP-Windows, AnyConnect, FortiClient) and Hyper-V's switch present
    themselves as Ethernet (6), so for those the description decides.
    """
    t = int(rec.get("if_type", 0))
    text = f"{rec.get('friendly_name', '')} {rec.get('description', '')}"
    if t == IF_TYPE_SOFTWARE_LOOPBACK:
        return "loopback"
    if t == IF_TYPE_IEEE80211:
        return "wifi"
    if t in _TUNNEL_IFTYPES:
        return "tunnel"
    if t in (IF_TYPE_WWANPP, IF_TYPE_WWANPP2):
        return "unknown"  # mobile broadband: neither wired nor the clinic's Wi-Fi
    if _TUNNEL.search(text) or _TUNNEL_DEVICE.match(str(rec.get("friendly_name", ""))):
        return "tunnel"
    if _VIRTUAL.search(text) or t == IF_TYPE_IEEE1394:
        return "virtual"
    if t == IF_TYPE_ETHERNET_CSMACD:
        return "wired"
    return kind_from_name(str(rec.get("friendly_name", "")))


def find_adapter(records: Iterable[AdapterRecord], name: str) -> AdapterRecord | None:
    """The adapter psutil calls ``name`` (friendly name) or netifaces calls ``name`` (GUID)."""
    low = name.lower()
    for rec in records:
        if rec["friendly_name"] == name or rec["guid"].lower() == low:
            return rec
    return None


def resolvers_from(records: Iterable[AdapterRecord]) -> list[str]:
    """DNS servers of the adapters that are up, in adapter order, without Windows' placeholders."""
    out: list[str] = []
    for rec in records:
        if not rec["oper_up"]:
            continue
        for server in rec["dns"]:
            if server not in _UNCONFIGURED_V6_DNS and server not in out:
                out.append(server)
    return out


def routes_from(gateways: Mapping[Any, Any] | None, records: Sequence[AdapterRecord],
                af_inet: Any = socket.AF_INET, af_inet6: Any = socket.AF_INET6) -> list[RouteDict]:
    """Default routes from netifaces' ``gateways()`` joined with the adapters by GUID.

    netifaces names Windows adapters by GUID; the report and psutil use friendly
    names, so the join is what makes the routes line up with the interfaces.
    The interface metric stands in for the route metric (Windows adds them and
    the interface part decides between adapters). Without netifaces the
    adapters' own gateway lists are used.
    """
    out: list[RouteDict] = []
    if gateways:
        for fam, num in ((af_inet, 4), (af_inet6, 6)):
            for entry in gateways.get(fam, []):
                gw, iface = entry[0], entry[1]
                rec = find_adapter(records, str(iface))
                out.append({
                    "family": num,
                    "interface": rec["friendly_name"] if rec else str(iface),
                    "gateway": gw or None,
                    "metric": (rec["ipv4_metric"] if num == 4 else rec["ipv6_metric"]) if rec else 0,
                })
    else:
        for rec in records:
            if not rec["oper_up"]:
                continue
            for gw in rec["gateways"]:
                num = 6 if ":" in gw else 4
                out.append({"family": num, "interface": rec["friendly_name"], "gateway": gw,
                            "metric": rec["ipv4_metric"] if num == 4 else rec["ipv6_metric"]})
    return sorted(out, key=lambda r: (r["family"], r["metric"]))


def lang_from_langid(langid: int) -> str:
    """Primary language id 0x11 is Japanese (LANGID 0x0411)."""
    return "ja" if (langid & 0x3FF) == 0x11 else "en"


def npcap_installed(system_root: str) -> bool:
    """Npcap installs its DLLs under System32\\Npcap (WinPcap-compatible mode aside)."""
    return (Path(system_root) / "System32" / "Npcap").is_dir()


def npcap_state(system_root: str, service_present: bool | None) -> tuple[bool, str]:
    """Whether Npcap is usable, from its folder and its driver service key.

    The folder without the service is a half-uninstalled Npcap (the driver is
    gone), the service without the folder is WinPcap-compatible-only mode; both
    are reported so the technician knows what to repair.
    """
    folder = npcap_installed(system_root)
    if folder and service_present is not False:
        return True, "Npcap is installed"
    if folder:
        return False, "Npcap's files are present but its driver service is not: reinstall Npcap"
    if service_present:
        legacy = (Path(system_root) / "System32" / "wpcap.dll").is_file()
        if legacy:
            return True, "Npcap is installed (WinPcap-compatible mode)"
        return False, "the Npcap driver is registered but its DLLs are missing: reinstall Npcap"
    return False, "Npcap is not installed; ESP and fragment probes need it on Windows"


def raw_state(admin: bool, npcap: tuple[bool, str]) -> tuple[bool, str]:
    """Raw-packet probes on Windows need both administrator rights and Npcap.

    The reason names everything that is missing and how to fix it, because the
    report's ``privileges.limited`` finding shows it to the technician as is.
    """
    missing = []
    if not admin:
        missing.append("administrator privileges (right-click clinicnet, 'Run as administrator')")
    if not npcap[0]:
        missing.append(f"Npcap from https://npcap.com/ ({npcap[1]})")
    if missing:
        return False, "raw-packet probes need " + " and ".join(missing)
    return True, f"administrator; {npcap[1]}"


# --------------------------------------------------------------------------------------
# GetAdaptersAddresses through ctypes
# --------------------------------------------------------------------------------------

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_ptr = ctypes.c_void_p


class SOCKET_ADDRESS(ctypes.Structure):  # noqa: N801 - the Windows type name
    _fields_ = [("lpSockaddr", _ptr), ("iSockaddrLength", ctypes.c_int32)]


class ADDRESS_ENTRY(ctypes.Structure):  # noqa: N801
    """The common head of IP_ADAPTER_UNICAST/DNS_SERVER/GATEWAY_ADDRESS: Length, Flags, Next, Address."""

    _fields_ = [("Length", _u32), ("Flags", _u32), ("Next", _ptr), ("Address", SOCKET_ADDRESS)]


class IP_ADAPTER_ADDRESSES(ctypes.Structure):  # noqa: N801
    """IP_ADAPTER_ADDRESSES_LH (iptypes.h) up to Ipv6Metric: all we read.

    The list is walked through ``Next``, so the fields after the last one read
    do not need to be declared. Types are fixed-width on purpose (ULONG is 32
    bits on Windows, 64 on Linux) so that the layout is Windows' on any host.
    """

    _fields_ = [
        ("Length", _u32), ("IfIndex", _u32),
        ("Next", _ptr),
        ("AdapterName", _ptr),  # PCHAR, the GUID "{...}"
        ("FirstUnicastAddress", _ptr),
        ("FirstAnycastAddress", _ptr),
        ("FirstMulticastAddress", _ptr),
        ("FirstDnsServerAddress", _ptr),
        ("DnsSuffix", _ptr),  # PWCHAR
        ("Description", _ptr),  # PWCHAR
        ("FriendlyName", _ptr),  # PWCHAR
        ("PhysicalAddress", ctypes.c_ubyte * 8),
        ("PhysicalAddressLength", _u32),
        ("Flags", _u32),
        ("Mtu", _u32),
        ("IfType", _u32),
        ("OperStatus", _u32),
        ("Ipv6IfIndex", _u32),
        ("ZoneIndices", _u32 * 16),
        ("FirstPrefix", _ptr),
        ("TransmitLinkSpeed", _u64),
        ("ReceiveLinkSpeed", _u64),
        ("FirstWinsServerAddress", _ptr),
        ("FirstGatewayAddress", _ptr),
        ("Ipv4Metric", _u32),
        ("Ipv6Metric", _u32),
    ]


GAA_FLAG_SKIP_ANYCAST = 0x2
GAA_FLAG_SKIP_MULTICAST = 0x4
GAA_FLAG_INCLUDE_GATEWAYS = 0x80
ERROR_SUCCESS = 0
ERROR_BUFFER_OVERFLOW = 111
ERROR_NO_DATA = 232


def wide_string(address: int | None, limit: int = 512) -> str:
    """A NUL-terminated UTF-16LE string at ``address`` (Windows' WCHAR*, on any host)."""
    if not address:
        return ""
    raw = ctypes.string_at(address, limit * 2)
    end = 0
    while end < len(raw) and raw[end:end + 2] != b"\x00\x00":
        end += 2
    return raw[:end].decode("utf-16-le", "replace")


def sockaddr_text(sa: SOCKET_ADDRESS) -> str | None:
    """The address in a Windows SOCKADDR (AF_INET 2 / AF_INET6 23), as text."""
    if not sa.lpSockaddr or sa.iSockaddrLength < 8:
        return None
    raw = ctypes.string_at(sa.lpSockaddr, sa.iSockaddrLength)
    family = int.from_bytes(raw[:2], "little")
    if family == WIN_AF_INET and len(raw) >= 8:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if family == WIN_AF_INET6 and len(raw) >= 24:
        text = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        scope = int.from_bytes(raw[24:28], "little") if len(raw) >= 28 else 0
        return f"{text}%{scope}" if scope and text.startswith("fe80") else text
    return None


def _entries(first: int | None) -> list[str]:
    out: list[str] = []
    node = first
    seen = 0
    while node and seen < 256:  # a corrupt list must not loop forever
        entry = ADDRESS_ENTRY.from_address(node)
        text = sockaddr_text(entry.Address)
        if text:
            out.append(text)
        node = entry.Next
        seen += 1
    return out


def walk_adapters(first: int) -> list[AdapterRecord]:
    """Turn the linked list GetAdaptersAddresses wrote at ``first`` into records."""
    out: list[AdapterRecord] = []
    node: int | None = first
    while node and len(out) < 256:
        a = IP_ADAPTER_ADDRESSES.from_address(node)
        out.append({
            "guid": ctypes.string_at(a.AdapterName).decode("ascii", "replace") if a.AdapterName else "",
            "friendly_name": wide_string(a.FriendlyName),
            "description": wide_string(a.Description),
            "if_type": int(a.IfType),
            "oper_up": int(a.OperStatus) == OPER_UP,
            "speed_bps": int(a.TransmitLinkSpeed) if a.TransmitLinkSpeed != 2**64 - 1 else 0,
            "mtu": int(a.Mtu) if a.Mtu != 2**32 - 1 else 0,
            "ipv4_metric": int(a.Ipv4Metric),
            "ipv6_metric": int(a.Ipv6Metric),
            "addresses": _entries(a.FirstUnicastAddress),
            "dns": _entries(a.FirstDnsServerAddress),
            "gateways": _entries(a.FirstGatewayAddress),
            "if_index": int(a.IfIndex),
            "ipv6_if_index": int(a.Ipv6IfIndex),
        })
        node = a.Next
    return out


GetAdaptersAddresses = Callable[[int, int, Any, Any, Any], int]


def adapters(api: GetAdaptersAddresses | None = None) -> list[AdapterRecord]:
    """Every adapter, via GetAdaptersAddresses (MS: start with 15 KB, retry on overflow)."""
    if api is None:
        api = ctypes.WinDLL("iphlpapi").GetAdaptersAddresses  # type: ignore[attr-defined]
    flags = GAA_FLAG_INCLUDE_GATEWAYS | GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST
    size = _u32(15000)
    for _ in range(4):
        buf = ctypes.create_string_buffer(size.value)
        rc = api(0, flags, None, buf, ctypes.byref(size))  # AF_UNSPEC
        if rc == ERROR_SUCCESS:
            return walk_adapters(ctypes.addressof(buf))
        if rc == ERROR_NO_DATA:
            return []
        if rc != ERROR_BUFFER_OVERFLOW:
            raise OSError(rc, f"GetAdaptersAddresses failed with error {rc}")
    raise OSError(ERROR_BUFFER_OVERFLOW, "GetAdaptersAddresses: adapter list kept growing")


# --------------------------------------------------------------------------------------
# The routing table: GetIpForwardTable2 (netioapi.h; Vista and later, no administrator)
# --------------------------------------------------------------------------------------


class MIB_IPFORWARD_ROW2(ctypes.Structure):  # noqa: N801
    """netioapi.h, 104 bytes: the SOCKADDR_INET members are kept as raw bytes (Windows' AF values)."""

    _fields_ = [
        ("InterfaceLuid", _u64), ("InterfaceIndex", _u32),
        ("DestinationPrefix", ctypes.c_ubyte * 28), ("PrefixLength", ctypes.c_ubyte), ("_pad1", ctypes.c_ubyte * 3),
        ("NextHop", ctypes.c_ubyte * 28), ("SitePrefixLength", ctypes.c_ubyte), ("_pad2", ctypes.c_ubyte * 3),
        ("ValidLifetime", _u32), ("PreferredLifetime", _u32), ("Metric", _u32), ("Protocol", _u32),
        ("Loopback", ctypes.c_ubyte), ("AutoconfigureAddress", ctypes.c_ubyte), ("Publish", ctypes.c_ubyte),
        ("Immortal", ctypes.c_ubyte), ("Age", _u32), ("Origin", _u32),
    ]


#: MIB_IPFORWARD_TABLE2: ULONG NumEntries, then the rows at their 8-byte alignment
FORWARD_TABLE_HEADER = 8


class ForwardRow(TypedDict):
    if_index: int
    family: int
    prefix: str
    prefix_len: int
    next_hop: str | None
    metric: int


def sockaddr_inet(raw: bytes) -> tuple[int, str] | None:
    """(4 or 6, address) of a Windows SOCKADDR_INET, or None for another family."""
    family = int.from_bytes(raw[:2], "little")
    if family == WIN_AF_INET:
        return 4, socket.inet_ntop(socket.AF_INET, bytes(raw[4:8]))
    if family == WIN_AF_INET6:
        return 6, socket.inet_ntop(socket.AF_INET6, bytes(raw[8:24]))
    return None


def parse_forward_table(raw: bytes) -> list[ForwardRow]:
    """The rows of a MIB_IPFORWARD_TABLE2 copied out of Windows' memory (recorded bytes in tests)."""
    size = ctypes.sizeof(MIB_IPFORWARD_ROW2)
    count = int.from_bytes(raw[:4], "little") if len(raw) >= 4 else 0
    out: list[ForwardRow] = []
    for i in range(min(count, (len(raw) - FORWARD_TABLE_HEADER) // size)):
        row = MIB_IPFORWARD_ROW2.from_buffer_copy(raw, FORWARD_TABLE_HEADER + i * size)
        dest = sockaddr_inet(bytes(row.DestinationPrefix))
        hop = sockaddr_inet(bytes(row.NextHop))
        if dest is None:
            continue
        out.append({"if_index": int(row.InterfaceIndex), "family": dest[0], "prefix": dest[1],
                    "prefix_len": int(row.PrefixLength),
                    "next_hop": hop[1] if hop and hop[1] not in ("0.0.0.0", "::") else None,
                    "metric": int(row.Metric)})
    return out


def routes_from_table(rows: Iterable[ForwardRow], records: Sequence[AdapterRecord]) -> list[RouteDict]:
    """Default and split default routes of the adapters that are up, named as psutil names them.

    Windows adds the interface metric to the route metric (the "automatic metric" of the
    adapter); the sum is what it compares, so it is what is kept. A gateway-less (on-link)
    default route is how a VPN connection's PPP/IKEv2 interface carries everything.
    """
    by_index: dict[int, AdapterRecord] = {}
    for record in records:
        for index in (record.get("if_index"), record.get("ipv6_if_index")):
            if index:
                by_index.setdefault(int(index), record)
    candidates: list[PrefixRoute] = []
    for r in rows:
        rec = by_index.get(r["if_index"])
        if rec is not None and (not rec["oper_up"] or rec["if_type"] == IF_TYPE_SOFTWARE_LOOPBACK):
            continue
        if_metric = (rec["ipv4_metric"] if r["family"] == 4 else rec["ipv6_metric"]) if rec else 0
        candidates.append({"family": r["family"], "prefix": r["prefix"], "prefix_len": r["prefix_len"],
                           "interface": rec["friendly_name"] if rec else str(r["if_index"]),
                           "gateway": r["next_hop"], "metric": r["metric"] + if_metric})
    return default_routes_from(candidates)


def forward_rows(api: Any = None) -> list[ForwardRow]:
    """GetIpForwardTable2(AF_UNSPEC): every route; the table is freed with FreeMibTable."""
    lib = api if api is not None else ctypes.WinDLL("iphlpapi")  # type: ignore[attr-defined]
    table = ctypes.c_void_p()
    rc = int(lib.GetIpForwardTable2(0, ctypes.byref(table)))
    if rc != ERROR_SUCCESS:
        raise OSError(rc, f"GetIpForwardTable2 failed with error {rc}")
    try:
        if not table.value:
            return []
        count = int.from_bytes(ctypes.string_at(table.value, 4), "little")
        size = FORWARD_TABLE_HEADER + min(count, 4096) * ctypes.sizeof(MIB_IPFORWARD_ROW2)
        return parse_forward_table(ctypes.string_at(table.value, size))
    finally:
        lib.FreeMibTable(table)


_cache_lock = threading.Lock()
_cache: tuple[float, list[AdapterRecord]] | None = None
#: probes ask per interface, side by side; one table per diagnosis is enough
_CACHE_S = 5.0


def _adapters_cached() -> list[AdapterRecord]:
    global _cache
    with _cache_lock:
        now = time.monotonic()
        if _cache is None or now - _cache[0] > _CACHE_S:
            try:
                recs = adapters()
            except (OSError, AttributeError):
                recs = []
            _cache = (now, recs)
        return _cache[1]


# --------------------------------------------------------------------------------------
# the seam functions
# --------------------------------------------------------------------------------------


def is_admin() -> bool:
    try:
        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False


def interface_kind(name: str) -> str:
    rec = find_adapter(_adapters_cached(), name)
    return kind_from_adapter(rec) if rec else kind_from_name(name)


def default_routes() -> list[RouteDict]:
    """The routing table itself (GetIpForwardTable2): it has the gateway-less and split default
    routes of VPN connections and the IPv6 routes, which netifaces' gateway list misses; netifaces
    only where the table cannot be read."""
    try:
        return routes_from_table(forward_rows(), _adapters_cached())
    except (OSError, AttributeError, ValueError):
        pass
    gws: Mapping[Any, Any] | None = None
    af4: Any = socket.AF_INET
    af6: Any = socket.AF_INET6
    try:
        import netifaces  # type: ignore[import-untyped]

        gws = netifaces.gateways()
        af4, af6 = netifaces.AF_INET, netifaces.AF_INET6
    except (ImportError, OSError):
        gws = None
    return routes_from(gws, _adapters_cached(), af4, af6)


def resolvers() -> list[str]:
    return resolvers_from(_adapters_cached())


def ui_language() -> str:
    try:
        return lang_from_langid(int(ctypes.windll.kernel32.GetUserDefaultUILanguage()))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return lang_from_locale_name(os.environ.get("LANG"))


def console_is_ours(process_count: int) -> bool:
    """A console with one attached process (us) was created for us: Explorer started us."""
    return process_count == 1


def owns_console() -> bool:
    try:
        ids = (ctypes.c_uint32 * 4)()
        count = int(ctypes.windll.kernel32.GetConsoleProcessList(ids, 4))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False
    return console_is_ours(count)


# --------------------------------------------------------------------------------------
# Datagram sockets and ICMP errors (clinicnet.system.udp / .icmp). Windows tells an
# ordinary UDP socket nothing of an ICMP error but WSAECONNRESET for "port unreachable"
# (icmp_from_errno below maps it); the TTL trace and the DF echo go through IcmpSendEcho2
# (_windows_netpath). Don't-fragment and the path MTU are socket options (ws2ipdef.h).
# --------------------------------------------------------------------------------------

ICMP_ERRORS_ON_UDP_SOCKET = False

#: ws2ipdef.h, IPPROTO_IP level: IP_DONTFRAGMENT (every Windows), IP_MTU_DISCOVER and IP_MTU
#: (Windows 10 1703 and later); PMTUD_STATE values
IP_DONTFRAGMENT = 14
IP_MTU_DISCOVER = 71
IP_MTU = 73
IP_PMTUDISC_DO = 1
IP_PMTUDISC_DONT = 2
IP_PMTUDISC_PROBE = 3
#: winsock's codes for the ICMP errors a UDP socket can be told about
WSAECONNRESET = 10054
WSAENETRESET = 10052
WSAEMSGSIZE = 10040


def icmp_enable(sock: socket.socket) -> bool:
    return False


#: port unreachables that ``udp_receive`` saw as WSAECONNRESET, kept for ``icmp_read`` (by socket
#: object, weakly: a closed socket's record goes with it and a reused handle never inherits it)
_connreset: weakref.WeakKeyDictionary[socket.socket, list[IcmpError]] = weakref.WeakKeyDictionary()
_connreset_lock = threading.Lock()


def icmp_read(sock: socket.socket, limit: int) -> list[IcmpError]:
    """The port unreachables winsock reported on this socket's receives (its only ICMP news)."""
    with _connreset_lock:
        got = _connreset.get(sock, [])
        out, rest = got[:limit], got[limit:]
        if rest:
            _connreset[sock] = rest
        else:
            _connreset.pop(sock, None)
    return out


def icmp_from_errno(err: int | None) -> IcmpError | None:
    """What winsock's error on a UDP socket says about ICMP: WSAECONNRESET is a port unreachable.

    MS (recvfrom, SIO_UDP_CONNRESET): on a UDP socket WSAECONNRESET means "a previous send
    operation resulted in an ICMP Port Unreachable message"; WSAENETRESET that the TTL ran out
    (an ICMP time exceeded), which no caller should read as the peer's answer.
    """
    from clinicnet.system._common import OTHER, PORT

    if err == WSAECONNRESET:
        return IcmpError(PORT, err, icmp_type=3, icmp_code=3, source="errno")
    if err == WSAENETRESET:
        return IcmpError(OTHER, err, icmp_type=11, icmp_code=0, source="errno")
    return None


def udp_fragment_policy(sock: socket.socket, policy: str) -> bool:
    """:data:`PROBE`: DF set and the cached path MTU not enforced (IP_PMTUDISC_PROBE, Windows 10
    1703+), else plain DF (IP_DONTFRAGMENT: a size above the known path MTU then fails locally
    with WSAEMSGSIZE, which the ladder counts as not passing). :data:`FRAGMENT`: DF off."""
    probe = policy == "probe"
    state = IP_PMTUDISC_PROBE if probe else IP_PMTUDISC_DONT
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, state)
        if int(sock.getsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER)) == state:  # a stack that
            return True  # accepts the option without honouring it falls through to IP_DONTFRAGMENT
    except OSError:
        pass
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_DONTFRAGMENT, 1 if probe else 0)
        return True
    except OSError:
        return False


def udp_report_fragments(sock: socket.socket) -> bool:
    return False


def udp_path_mtu(sock: socket.socket) -> int | None:
    """IP_MTU on a connected socket (Windows 10 1703+); else the MTU of the adapter that routes
    to the peer (GetBestInterfaceEx + GetAdaptersAddresses), which is what IP_MTU says too
    until a router has reported a smaller path."""
    try:
        mtu = int(sock.getsockopt(socket.IPPROTO_IP, IP_MTU))
        if 68 <= mtu <= 65535:
            return mtu
    except OSError:
        pass
    try:
        peer = sock.getpeername()[0]
        from clinicnet.system import netpath

        best = netpath.best_interface(peer)
    except (OSError, AttributeError, ValueError):
        return None
    return best.mtu if best is not None and best.mtu else None


#: winsock2.h: SO_EXCLUSIVEADDRUSE is ((int)(~SO_REUSEADDR)), SO_REUSEADDR being 4
SO_EXCLUSIVEADDRUSE = getattr(socket, "SO_EXCLUSIVEADDRUSE", ~4)


def udp_bind_exclusive(sock: socket.socket, address: tuple[str, int]) -> None:
    """Bind so that no other socket can share the port (SO_EXCLUSIVEADDRUSE before bind).

    Without it Windows lets another process bind the same UDP port with SO_REUSEADDR and take
    datagrams meant for us; with it that bind fails, and ours fails with WSAEADDRINUSE where the
    port is held (an IKE service, a VPN client). MS: set the option before bind.
    """
    sock.setsockopt(socket.SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1)
    sock.bind(address)


def udp_receive(sock: socket.socket, bufsize: int) -> tuple[bytes, Arrival]:
    """One datagram (Windows sockets have no recvmsg: no ancillary data). WSAECONNRESET, the ICMP
    port unreachable an earlier send drew, is kept for ``icmp_read`` before it is raised."""
    try:
        return sock.recv(bufsize), Arrival()
    except OSError as exc:
        got = icmp_from_errno(getattr(exc, "winerror", None) or exc.errno)
        if got is not None:
            with _connreset_lock:
                _connreset.setdefault(sock, []).append(got)
        raise


def udp_report_arrival(sock: socket.socket, *, ttl: bool, fragments: bool) -> None:
    raise OSError("the reflector server needs Linux (IP_PKTINFO, IP_RECVFRAGSIZE)")


def udp_arrival(anc: Iterable[tuple[int, int, bytes]]) -> Arrival:
    return Arrival()


def udp_answer_from(family: int, local: str) -> list[tuple[int, int, bytes]]:
    return []


# --------------------------------------------------------------------------------------
# Packet capture for the support bundle (clinicnet.system.capture)
# --------------------------------------------------------------------------------------

#: Wireshark's dumpcap is the capture tool of a Windows PC (through Npcap); tcpdump is not
CAPTURE_TOOLS = ("dumpcap",)
#: capturing needs the Npcap driver, which raw_sockets_available() reports on
CAPTURE_NEEDS_RAW_SOCKETS = True


def capture_interfaces() -> list[str]:
    """Npcap device names of the adapters that carry a default route (Windows has no "any")."""
    names = {r["interface"] for r in default_routes()}
    recs = _adapters_cached()
    devs = [f"\\Device\\NPF_{r['guid']}" for r in recs if r["friendly_name"] in names and r["guid"]]
    return devs or [f"\\Device\\NPF_{r['guid']}" for r in recs if r["oper_up"] and r["gateways"]]


def capture_popen_options() -> dict[str, Any]:
    """A process group of its own, so that CTRL_BREAK reaches the tool and not us."""
    import subprocess

    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)}


def capture_interrupt(proc: subprocess.Popen[bytes]) -> None:
    """dumpcap flushes and closes its file on CTRL_BREAK (Windows has no SIGINT for another process)."""
    import signal

    proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT", 1))


def _npcap_service_present() -> bool | None:
    try:
        import winreg
    except ImportError:
        return None
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Services\npcap"):  # type: ignore[attr-defined]
            return True
    except OSError:
        return False


#: IP protocol number of ESP
IPPROTO_ESP = 50


def raw_esp_socket(factory: Callable[..., Any] = socket.socket) -> tuple[bool, str]:
    """Whether winsock gives this process a raw IPv4 socket for protocol 50, and if not why.

    MS "TCP/IP Raw Sockets": an administrator may open SOCK_RAW for any protocol; the limits
    Windows adds concern TCP data and UDP with a foreign source address, not ESP. Opening and
    closing the socket sends nothing.
    """
    try:
        sock = factory(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ESP)
    except OSError as exc:
        return False, f"winsock refused a raw ESP socket ({getattr(exc, 'winerror', None) or exc.errno})"
    try:
        sock.close()
    except OSError:
        pass
    return True, "winsock raw sockets for ESP (protocol 50)"


def raw_state_without_npcap(admin: bool, npcap: tuple[bool, str], raw_esp: tuple[bool, str]) -> tuple[bool, str]:
    """Npcap first; for an administrator without it, a winsock raw protocol-50 socket will do for
    ESP (the reason still names Npcap, which the bundle's capture needs)."""
    if admin and not npcap[0] and raw_esp[0]:
        return True, f"administrator; {raw_esp[1]}, without Npcap ({npcap[1]})"
    ok, why = raw_state(admin, npcap)
    if admin and not npcap[0] and not raw_esp[0]:
        why = f"{why}; {raw_esp[1]}"
    return ok, why


def raw_sockets_available() -> tuple[bool, str]:
    npcap = npcap_state(os.environ.get("SystemRoot", r"C:\Windows"), _npcap_service_present())
    admin = is_admin()
    raw_esp = raw_esp_socket() if admin and not npcap[0] else (False, "")
    return raw_state_without_npcap(admin, npcap, raw_esp)
