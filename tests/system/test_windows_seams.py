"""Windows seams on recorded Windows-shaped data (adapter names, LANGIDs, Npcap layout)."""

from __future__ import annotations

import ctypes
import socket

import pytest

from clinicnet.system import _common, _windows


@pytest.mark.parametrize("name,kind", [
    ("Wi-Fi", "wifi"), ("Wi-Fi 2", "wifi"), ("ワイヤレス ネットワーク接続", "wifi"), ("WLAN", "wifi"),
    ("イーサネット", "wired"), ("Ethernet 3", "wired"), ("ローカル エリア接続", "wired"),
    ("Loopback Pseudo-Interface 1", "loopback"),
    ("OpenVPN TAP-Windows6", "tunnel"), ("WireGuard Tunnel", "tunnel"), ("FENICS VPN", "tunnel"),
    ("vEthernet (WSL)", "virtual"), ("Bluetooth ネットワーク接続", "virtual"),
])
def test_kind_from_windows_adapter_names(name, kind):
    assert _windows.kind_from_name(name) == kind


def test_langid():
    assert _windows.lang_from_langid(0x0411) == "ja"
    assert _windows.lang_from_langid(0x0409) == "en"


def test_locale_names():
    assert _common.lang_from_locale_name("ja_JP.UTF-8") == "ja"
    assert _common.lang_from_locale_name("Japanese_Japan.932") == "ja"
    assert _common.lang_from_locale_name("C.UTF-8") == "en"
    assert _common.lang_from_locale_name(None) == "en"


def test_npcap_detection(tmp_path):
    assert not _windows.npcap_installed(str(tmp_path))
    (tmp_path / "System32" / "Npcap").mkdir(parents=True)
    assert _windows.npcap_installed(str(tmp_path))


# --- GetAdaptersAddresses: recorded adapters of a Japanese Windows 11 clinic PC ------------

def rec(name, desc, if_type, *, up=True, speed=1_000_000_000, guid=None, dns=(), gws=(), m4=25, m6=25):
    return {
        "guid": guid or "{" + f"{abs(hash(name)) % 10**8:08d}-0000-0000-0000-000000000000" + "}",
        "friendly_name": name, "description": desc, "if_type": if_type, "oper_up": up,
        "speed_bps": speed, "mtu": 1500, "ipv4_metric": m4, "ipv6_metric": m6,
        "addresses": [], "dns": list(dns), "gateways": list(gws),
    }


RECORDED = [
    rec("イーサネット", "Realtek PCIe GbE Family Controller", 6, guid="{4F0E0C1A-1111-4A53-9A0B-5A1C0D2E3F40}",
        dns=("192.168.1.1", "fec0:0:0:ffff::1"), gws=("192.168.1.1",), m4=25),
    rec("Wi-Fi", "Intel(R) Wi-Fi 6 AX201 160MHz", 71, guid="{9B2A7C3D-2222-4C1E-8F3A-0B1C2D3E4F50}",
        dns=("192.168.1.1", "8.8.8.8"), gws=("192.168.1.1",), m4=35, speed=72_000_000),
    rec("受付", "Intel(R) Dual Band Wireless-AC 8265", 71),  # a renamed Wi-Fi adapter
    rec("ローカル エリア接続* 1", "Microsoft Wi-Fi Direct Virtual Adapter", 71, up=False, dns=("10.9.9.9",)),
    rec("Bluetooth ネットワーク接続", "Bluetooth Device (Personal Area Network)", 6, up=False),
    rec("Loopback Pseudo-Interface 1", "Software Loopback Interface 1", 24),
    rec("vEthernet (WSL)", "Hyper-V Virtual Ethernet Adapter", 6),
    rec("イーサネット 2", "TAP-Windows Adapter V9", 6),
    rec("イーサネット 3", "Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter for Windows x64", 6),
    rec("clinic-wg", "WireGuard Tunnel", 53),
    rec("FENICS", "WAN Miniport (IKEv2)", 131),
    rec("ダイヤルアップ", "WAN Miniport (PPPOE)", 23),
    rec("携帯", "Generic Mobile Broadband Adapter", 243),
]


@pytest.mark.parametrize("name,kind", [
    ("イーサネット", "wired"), ("Wi-Fi", "wifi"), ("受付", "wifi"), ("ローカル エリア接続* 1", "wifi"),
    ("Bluetooth ネットワーク接続", "virtual"), ("Loopback Pseudo-Interface 1", "loopback"),
    ("vEthernet (WSL)", "virtual"), ("イーサネット 2", "tunnel"), ("イーサネット 3", "tunnel"),
    ("clinic-wg", "tunnel"), ("FENICS", "tunnel"), ("ダイヤルアップ", "tunnel"), ("携帯", "unknown"),
])
def test_kind_from_iftype_and_description(name, kind):
    adapter = _windows.find_adapter(RECORDED, name)
    assert adapter is not None
    assert _windows.kind_from_adapter(adapter) == kind


def test_iftype_beats_name_patterns():
    # a name pattern alone would call the renamed Wi-Fi adapter "wired"
    assert _windows.kind_from_name("受付") == "wired"
    assert _windows.kind_from_adapter(_windows.find_adapter(RECORDED, "受付")) == "wifi"


def test_find_adapter_by_guid_case_insensitively():
    a = _windows.find_adapter(RECORDED, "{4f0e0c1a-1111-4a53-9a0b-5a1c0d2e3f40}")
    assert a is not None and a["friendly_name"] == "イーサネット"
    assert _windows.find_adapter(RECORDED, "nope") is None


def test_resolvers_skip_down_adapters_and_windows_placeholders():
    assert _windows.resolvers_from(RECORDED) == ["192.168.1.1", "8.8.8.8"]


def test_routes_join_netifaces_guids_to_friendly_names():
    import socket

    gws = {
        "default": {socket.AF_INET: ("192.168.1.1", "{4F0E0C1A-1111-4A53-9A0B-5A1C0D2E3F40}")},
        socket.AF_INET: [("192.168.1.1", "{9B2A7C3D-2222-4C1E-8F3A-0B1C2D3E4F50}", True),
                         ("192.168.1.1", "{4F0E0C1A-1111-4A53-9A0B-5A1C0D2E3F40}", True)],
        socket.AF_INET6: [("fe80::1", "{unknown-guid}", True)],
    }
    routes = _windows.routes_from(gws, RECORDED)
    assert routes == [
        {"family": 4, "interface": "イーサネット", "gateway": "192.168.1.1", "metric": 25},
        {"family": 4, "interface": "Wi-Fi", "gateway": "192.168.1.1", "metric": 35},
        {"family": 6, "interface": "{unknown-guid}", "gateway": "fe80::1", "metric": 0},
    ]


def test_routes_without_netifaces_use_adapter_gateways():
    routes = _windows.routes_from(None, RECORDED)
    assert [(r["interface"], r["metric"]) for r in routes] == [("イーサネット", 25), ("Wi-Fi", 35)]


def test_system_route_type_accepts_windows_routes():
    from clinicnet.system import DefaultRoute

    for r in _windows.routes_from(None, RECORDED):
        DefaultRoute(**r)


# --- the ctypes walker, on a list laid out in memory as Windows lays it out ---------------

def _sockaddr_v4(addr):
    import socket

    b = (2).to_bytes(2, "little") + b"\x00\x00" + socket.inet_aton(addr) + b"\x00" * 8
    return ctypes.create_string_buffer(b, len(b))


def _sockaddr_v6(addr, scope=0):
    import socket

    b = (23).to_bytes(2, "little") + b"\x00" * 6 + socket.inet_pton(socket.AF_INET6, addr) + scope.to_bytes(4, "little")
    return ctypes.create_string_buffer(b, len(b))


def _wstr(text):
    raw = text.encode("utf-16-le") + b"\x00\x00"
    return ctypes.create_string_buffer(raw, len(raw))


def _chain(keep, sockaddrs):
    first = None
    for sa in reversed(sockaddrs):
        e = _windows.ADDRESS_ENTRY()
        e.Length = ctypes.sizeof(e)
        e.Next = ctypes.addressof(first) if first is not None else None
        e.Address.lpSockaddr = ctypes.addressof(sa)
        e.Address.iSockaddrLength = len(sa.raw)
        keep += [sa, e]
        first = e
    return ctypes.addressof(first) if first is not None else None


def _adapter(keep, *, guid, name, desc, if_type, oper, speed, dns=(), gws=(), unicast=(), m4=0, nxt=None):
    a = _windows.IP_ADAPTER_ADDRESSES()
    g = ctypes.create_string_buffer(guid.encode())
    n, d = _wstr(name), _wstr(desc)
    keep += [a, g, n, d]
    a.Length, a.Next, a.AdapterName = ctypes.sizeof(a), nxt, ctypes.addressof(g)
    a.FriendlyName, a.Description = ctypes.addressof(n), ctypes.addressof(d)
    a.IfType, a.OperStatus, a.TransmitLinkSpeed, a.Mtu, a.Ipv4Metric = if_type, oper, speed, 1500, m4
    a.FirstDnsServerAddress = _chain(keep, list(dns))
    a.FirstGatewayAddress = _chain(keep, list(gws))
    a.FirstUnicastAddress = _chain(keep, list(unicast))
    return a


def _recorded_list(keep):
    wifi = _adapter(keep, guid="{B}", name="Wi-Fi", desc="Intel(R) Wi-Fi 6 AX201", if_type=71, oper=1,
                    speed=144_400_000, dns=[_sockaddr_v4("192.168.1.1")], gws=[_sockaddr_v4("192.168.1.1")],
                    unicast=[_sockaddr_v6("fe80::1234", 12), _sockaddr_v4("192.168.1.23")], m4=35)
    eth = _adapter(keep, guid="{A}", name="イーサネット", desc="Realtek PCIe GbE Family Controller", if_type=6,
                   oper=2, speed=2**64 - 1, dns=[_sockaddr_v6("fec0:0:0:ffff::1", 1)], nxt=ctypes.addressof(wifi))
    return eth


def test_struct_layout_is_windows_x64():
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        pytest.skip("offsets below are the x64 ones")
    A = _windows.IP_ADAPTER_ADDRESSES
    # offsets of IP_ADAPTER_ADDRESSES_LH on x64 (iptypes.h; same in Wine and mingw-w64)
    assert (A.FriendlyName.offset, A.IfType.offset, A.OperStatus.offset) == (72, 100, 104)
    assert (A.TransmitLinkSpeed.offset, A.FirstGatewayAddress.offset, A.Ipv4Metric.offset) == (184, 208, 216)
    assert _windows.ADDRESS_ENTRY.Address.offset == 16


def test_walk_adapters_reads_a_windows_shaped_list():
    keep: list = []
    first = _recorded_list(keep)
    recs = _windows.walk_adapters(ctypes.addressof(first))
    assert [r["friendly_name"] for r in recs] == ["イーサネット", "Wi-Fi"]
    eth, wifi = recs
    assert eth == {
        "guid": "{A}", "friendly_name": "イーサネット", "description": "Realtek PCIe GbE Family Controller",
        "if_type": 6, "oper_up": False, "speed_bps": 0, "mtu": 1500, "ipv4_metric": 0, "ipv6_metric": 0,
        "addresses": [], "dns": ["fec0:0:0:ffff::1"], "gateways": [], "if_index": 0, "ipv6_if_index": 0,
    }
    assert wifi["oper_up"] and wifi["speed_bps"] == 144_400_000 and wifi["if_type"] == 71
    assert wifi["addresses"] == ["fe80::1234%12", "192.168.1.23"]
    assert wifi["dns"] == ["192.168.1.1"] and wifi["gateways"] == ["192.168.1.1"]
    assert _windows.kind_from_adapter(wifi) == "wifi"
    assert _windows.resolvers_from(recs) == ["192.168.1.1"]


def test_adapters_retries_on_buffer_overflow():
    keep: list = []
    first = _recorded_list(keep)
    calls = []

    def fake_api(family, flags, reserved, buf, size_ref):
        calls.append((family, flags, ctypes.sizeof(buf)))
        if len(calls) == 1:
            size_ref._obj.value = 20000  # byref(size): ask for more, as Windows does
            return _windows.ERROR_BUFFER_OVERFLOW
        # Windows writes the list into the caller's buffer; copy the head node there
        ctypes.memmove(buf, ctypes.addressof(first), ctypes.sizeof(first))
        return _windows.ERROR_SUCCESS

    recs = _windows.adapters(fake_api)
    assert [r["friendly_name"] for r in recs] == ["イーサネット", "Wi-Fi"]
    assert calls[0][1] & _windows.GAA_FLAG_INCLUDE_GATEWAYS
    assert calls[0][2] == 15000 and calls[1][2] == 20000


def test_adapters_no_data_and_errors():
    assert _windows.adapters(lambda *a: _windows.ERROR_NO_DATA) == []
    with pytest.raises(OSError):
        _windows.adapters(lambda *a: 87)  # ERROR_INVALID_PARAMETER


# --- Npcap and raw-socket availability -------------------------------------------------------

def test_npcap_state(tmp_path):
    ok, why = _windows.npcap_state(str(tmp_path), False)
    assert not ok and "not installed" in why
    (tmp_path / "System32").mkdir()
    (tmp_path / "System32" / "wpcap.dll").write_bytes(b"")
    assert _windows.npcap_state(str(tmp_path), True)[0]  # WinPcap-compatible mode
    (tmp_path / "System32" / "Npcap").mkdir()
    assert _windows.npcap_state(str(tmp_path), True) == (True, "Npcap is installed")
    ok, why = _windows.npcap_state(str(tmp_path), False)
    assert not ok and "reinstall" in why


@pytest.mark.parametrize("admin,npcap,ok,words", [
    (False, (True, "Npcap is installed"), False, ["privileges", "Run as administrator"]),
    (True, (False, "Npcap is not installed"), False, ["Npcap", "npcap.com"]),
    (False, (False, "Npcap is not installed"), False, ["privileges", "npcap.com"]),
    (True, (True, "Npcap is installed"), True, ["administrator"]),
])
def test_raw_state_says_what_is_missing_and_how_to_enable_it(admin, npcap, ok, words):
    got, why = _windows.raw_state(admin, npcap)
    assert got is ok
    for w in words:
        assert w in why


def test_windows_module_imports_and_degrades_on_linux():
    # no windll here: the seams answer "no" instead of raising
    assert _windows.is_admin() is False
    assert _windows.interface_kind("Wi-Fi") == "wifi"  # name fallback without the adapter table
    assert _windows.resolvers() == []


def test_privileges_limited_lists_probes_skipped_for_rights_or_npcap():
    from clinicnet.model import ProbeResult, Status
    from clinicnet.reports import findings as rules

    def run(admin, npcap_ok):
        raw, why = _windows.raw_state(admin, (npcap_ok, "Npcap is installed" if npcap_ok else "Npcap is not installed"))
        results = [
            ProbeResult("privileges", Status.OK, "", {"admin": admin, "raw_sockets": raw,
                                                       "raw_sockets_reason": why, "platform": "Windows"}),
            ProbeResult("esp", Status.SKIPPED, why if not raw else ""),
            ProbeResult("fragments", Status.SKIPPED, why if not raw else ""),
            ProbeResult("ike", Status.SKIPPED, "no --target given"),
        ]
        found = {f.id: f for f in rules.evaluate(results)[0]}
        return found.get("privileges.limited")

    for admin, npcap_ok in ((False, True), (True, False), (False, False)):
        f = run(admin, npcap_ok)
        assert f is not None, (admin, npcap_ok)
        assert f.evidence["skipped_probes"] == ["esp", "fragments"]
        assert ("Run as administrator" in f.evidence["raw_sockets"]) is (not admin)
        assert ("npcap.com" in f.evidence["raw_sockets"]) is (not npcap_ok)
    assert run(True, True) is None


def test_double_clicked_console_is_held_open():
    assert _windows.console_is_ours(1)  # Explorer made the window for us alone
    assert not _windows.console_is_ours(2)  # started from cmd.exe / PowerShell
    assert not _windows.owns_console()  # no kernel32 here
    from clinicnet import system

    assert system.owns_console() is False  # Linux: the terminal outlives us


# --------------------------------------------------------------------------------------
# GetIpForwardTable2: MIB_IPFORWARD_TABLE2 laid out by hand as Windows x64 writes it
# --------------------------------------------------------------------------------------


def _sockaddr_inet(address: str | None) -> bytes:
    if address is None:
        return bytes(28)
    if ":" in address:
        return (23).to_bytes(2, "little") + bytes(6) + socket.inet_pton(socket.AF_INET6, address) + bytes(4)
    return (2).to_bytes(2, "little") + bytes(2) + socket.inet_aton(address) + bytes(20)


def _row(if_index: int, prefix: str, plen: int, hop: str | None, metric: int) -> bytes:
    raw = ((0x1234).to_bytes(8, "little") + if_index.to_bytes(4, "little") + _sockaddr_inet(prefix)
           + bytes([plen, 0, 0, 0]) + _sockaddr_inet(hop or ("::" if ":" in prefix else "0.0.0.0"))
           + bytes([0, 0, 0, 0]) + (2**32 - 1).to_bytes(4, "little") * 2 + metric.to_bytes(4, "little")
           + (3).to_bytes(4, "little") + bytes(4) + bytes(4) + bytes(4))
    assert len(raw) == 104
    return raw


def _table(*rows: bytes) -> bytes:
    return len(rows).to_bytes(4, "little") + bytes(4) + b"".join(rows)


def _rec(name: str, index: int, *, if_type: int = 6, up: bool = True, m4: int = 25, m6: int = 25):
    return {"guid": f"{{{index}}}", "friendly_name": name, "description": "", "if_type": if_type, "oper_up": up,
            "speed_bps": 0, "mtu": 1500, "ipv4_metric": m4, "ipv6_metric": m6, "addresses": [], "dns": [],
            "gateways": [], "if_index": index, "ipv6_if_index": index}


def test_forward_row_layout_is_netioapi_x64():
    R = _windows.MIB_IPFORWARD_ROW2
    assert ctypes.sizeof(R) == 104
    assert (R.InterfaceIndex.offset, R.DestinationPrefix.offset, R.PrefixLength.offset) == (8, 12, 40)
    assert (R.NextHop.offset, R.Metric.offset, R.Origin.offset) == (44, 84, 100)


def test_forward_table_gives_device_split_and_ipv6_default_routes():
    """The vpn-up shape: the LAN default via a gateway, a VPN's on-link default, a split pair,
    an IPv6 default; loopback and down adapters are not routes for the report."""
    raw = _table(
        _row(7, "0.0.0.0", 0, "192.168.10.1", 0),
        _row(7, "192.168.10.0", 24, None, 256),
        _row(9, "0.0.0.0", 0, None, 0),
        _row(12, "0.0.0.0", 1, "10.8.0.1", 0),
        _row(12, "128.0.0.0", 1, "10.8.0.1", 0),
        _row(7, "::", 0, "fe80::1", 256),
        _row(1, "0.0.0.0", 0, None, 0),
        _row(5, "0.0.0.0", 0, "192.168.20.1", 0),
        b"\x00" * 50,  # a truncated trailing row is not read
    )
    rows = _windows.parse_forward_table(raw[:8] + raw[8:])
    assert len(rows) == 8 and rows[0] == {"if_index": 7, "family": 4, "prefix": "0.0.0.0", "prefix_len": 0,
                                          "next_hop": "192.168.10.1", "metric": 0}
    assert rows[2]["next_hop"] is None and rows[5]["family"] == 6
    recs = [_rec("イーサネット", 7), _rec("FENICS VPN", 9, if_type=23, m4=1), _rec("tun0", 12, if_type=1),
            _rec("Loopback Pseudo-Interface 1", 1, if_type=24), _rec("Wi-Fi", 5, if_type=71, up=False)]
    routes = _windows.routes_from_table(rows, recs)
    assert routes == [
        {"family": 4, "interface": "tun0", "gateway": "10.8.0.1", "metric": 25, "split": True},
        {"family": 4, "interface": "FENICS VPN", "gateway": None, "metric": 1},
        {"family": 4, "interface": "イーサネット", "gateway": "192.168.10.1", "metric": 25},
        {"family": 6, "interface": "イーサネット", "gateway": "fe80::1", "metric": 281},
    ]
    assert _windows.kind_from_adapter(recs[2]) == "tunnel"  # named like a tunnel device


def test_forward_rows_calls_and_frees_the_table():
    raw = _table(_row(3, "::", 0, "fe80::1", 0))
    buf = ctypes.create_string_buffer(raw, len(raw))
    freed = []

    class Api:
        def GetIpForwardTable2(self, family, out):  # noqa: N802
            assert family == 0  # AF_UNSPEC: both families in one table
            ctypes.cast(out, ctypes.POINTER(ctypes.c_void_p))[0] = ctypes.addressof(buf)
            return 0

        def FreeMibTable(self, table):  # noqa: N802
            freed.append(table.value)

    rows = _windows.forward_rows(Api())
    assert [r["next_hop"] for r in rows] == ["fe80::1"] and freed == [ctypes.addressof(buf)]

    class Failing(Api):
        def GetIpForwardTable2(self, family, out):  # noqa: N802
            return 50  # ERROR_NOT_SUPPORTED

    with pytest.raises(OSError):
        _windows.forward_rows(Failing())
