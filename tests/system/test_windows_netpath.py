"""The Windows path-measurement seam (clinicnet/system/netpath.py) on recorded, Windows-shaped data.

The same code runs for real under Wine in a lab namespace (tests/windows/test_netpath_wine.py);
here the byte layouts and the decisions are pinned on Linux, where CI's unit tests run.
"""

from __future__ import annotations

import ctypes
import socket
import struct

import pytest

from clinicnet.system import _linux_netpath, _windows, netpath
from clinicnet.system import _windows_netpath as W
from tests.system.test_windows_seams import _wstr

X64 = ctypes.sizeof(ctypes.c_void_p) == 8


def reply_bytes(address: str, status: int, rtt: int = 3, ttl: int = 64, data_size: int = 0) -> bytes:
    """ICMP_ECHO_REPLY as ipexport.h lays it out for a 64-bit process, built by hand (not by ctypes)."""
    addr = int.from_bytes(socket.inet_aton(address), "little")
    return struct.pack("<IIIHHQBBBBxxxxQ", addr, status, rtt, data_size, 0, 0xDEAD0000, ttl, 0, 0, 0, 0)


#: IcmpSendEcho2's reply buffers as Wine 8 filled them in lab namespaces (first 40 bytes)
RECORDED = {
    # double NAT, TTL 2: the cable modem's LAN address, IP_TTL_EXPIRED_TRANSIT
    "ttl2": "c0a80001052b00000100000000000000f8327001000000003fc0000002000000f832700100000000",
    # the gateway's echo reply, 36 bytes of data, reply TTL 61
    "reply": "c000020a000000000000000024000000f814c301000000003d00000002000000f814c30100000000",
    # DS-Lite, 1500 bytes with DF: the clinic router (B4, softwire MTU 1460), IP_PACKET_TOO_BIG
    "too_big": "c0a80a01012b00000000000000000000282afb000000000040c0000002000000282afb0000000000",
}


@pytest.mark.skipif(not X64, reason="x64 layouts")
def test_structures_have_the_x64_layout():
    assert ctypes.sizeof(W.ICMP_ECHO_REPLY) == 40 and W.ICMP_ECHO_REPLY.Options.offset == 24
    assert ctypes.sizeof(W.IP_OPTION_INFORMATION) == 16
    A = W.IP_ADAPTER_ADDRESSES_LH
    # iptypes.h on x64: Luid follows Ipv6Metric at 224; TunnelType after the GUID and ConnectionType
    assert (A.Luid.offset, A.Dhcpv4Server.offset, A.CompartmentId.offset) == (224, 232, 248)
    assert (A.NetworkGuid.offset, A.ConnectionType.offset, A.TunnelType.offset) == (252, 268, 272)


def test_ipaddr_is_network_order_bytes_as_a_little_endian_dword():
    assert W.ipaddr("192.168.10.1") == 0x010AA8C0
    assert W.ipaddr_text(0x010AA8C0) == "192.168.10.1"


def test_request_options_set_ttl_and_df():
    o = W.request_options(3, True)
    assert (o.Ttl, o.Flags, o.OptionsSize, o.OptionsData) == (3, W.IP_FLAG_DF, 0, 0)
    assert W.request_options(64, False).Flags == 0
    with pytest.raises(ValueError):
        W.request_options(0, False)


def test_reply_buffer_has_room_for_the_reply_the_data_and_an_icmp_error():
    assert W.reply_buffer_size(1472) >= ctypes.sizeof(W.ICMP_ECHO_REPLY) + 1472 + 8


@pytest.mark.parametrize("status,kind", [
    (W.IP_SUCCESS, "reply"), (W.IP_TTL_EXPIRED_TRANSIT, "ttl_expired"), (W.IP_PACKET_TOO_BIG, "too_big"),
    (W.IP_DEST_HOST_UNREACHABLE, "unreachable"), (W.IP_REQ_TIMED_OUT, "timeout"),
    (W.IP_GENERAL_FAILURE, "error"), (W.IP_NO_RESOURCES, "error"),
])
def test_status_kinds(status, kind):
    assert W.status_kind(status) == kind


def test_parse_ttl_expired_names_the_router():
    ans = W.parse_echo(reply_bytes("192.168.10.1", W.IP_TTL_EXPIRED_TRANSIT, rtt=1), 1, 0)
    assert ans == {"kind": "ttl_expired", "ip_status": 11013, "responder": "192.168.10.1", "rtt_ms": 1, "reply_ttl": None}


@pytest.mark.parametrize("name,kind,status,responder,reply_ttl", [
    ("ttl2", "ttl_expired", 11013, "192.168.0.1", None),
    ("reply", "reply", 0, "192.0.2.10", 61),
    ("too_big", "too_big", 11009, "192.168.10.1", None),
])
def test_parse_recorded_wine_replies(name, kind, status, responder, reply_ttl):
    ans = W.parse_echo(bytes.fromhex(RECORDED[name]), 1, 0)
    assert (ans["kind"], ans["ip_status"], ans["responder"], ans["reply_ttl"]) == (kind, status, responder, reply_ttl)


def test_parse_echo_reply_from_the_target():
    ans = W.parse_echo(reply_bytes("192.0.2.10", W.IP_SUCCESS, rtt=2, ttl=61, data_size=36), 1, 0)
    assert ans == {"kind": "reply", "ip_status": 0, "responder": "192.0.2.10", "rtt_ms": 2, "reply_ttl": 61}


def test_no_reply_is_the_last_error():
    assert W.parse_echo(b"\0" * 40, 0, W.IP_REQ_TIMED_OUT)["kind"] == "timeout"
    # a Win32 error (e.g. ERROR_INVALID_PARAMETER) is this PC's, never the network's
    assert W.parse_echo(b"\0" * 40, 0, 87) == {"kind": "error", "ip_status": 87, "responder": None,
                                               "rtt_ms": None, "reply_ttl": None}
    assert W.parse_echo(b"", 1, 0)["kind"] == "error"  # a truncated buffer is not a reply


def test_windows_sockaddrs():
    v4 = W.windows_sockaddr("192.0.2.10")
    assert len(v4) == 16 and v4[:2] == b"\x02\x00" and v4[4:8] == socket.inet_aton("192.0.2.10")
    v6 = W.windows_sockaddr("fe80::1%7")
    assert len(v6) == 28 and v6[:2] == b"\x17\x00" and v6[24:] == (7).to_bytes(4, "little")


def test_best_interface_index_calls_getbestinterfaceex_with_a_windows_sockaddr():
    seen = []

    def api(sa, index_ref):
        seen.append(bytes(sa.raw))
        index_ref._obj.value = 12
        return 0

    assert W.best_interface_index("192.0.2.10", api) == 12
    assert seen == [W.windows_sockaddr("192.0.2.10")]
    with pytest.raises(OSError):
        W.best_interface_index("192.0.2.10", lambda sa, ref: 1168)  # ERROR_NOT_FOUND


def _link(keep, *, index, name, desc, if_type, tunnel_type=0, mtu=1500, oper=1, nxt=None):
    a = W.IP_ADAPTER_ADDRESSES_LH()
    n, d = _wstr(name), _wstr(desc)
    keep += [a, n, d]
    a.Length, a.IfIndex, a.Ipv6IfIndex, a.Next = ctypes.sizeof(a), index, index + 100, nxt
    a.FriendlyName, a.Description = ctypes.addressof(n), ctypes.addressof(d)
    a.IfType, a.TunnelType, a.Mtu, a.OperStatus = if_type, tunnel_type, mtu, oper
    return a


def _recorded_links(keep):
    teredo = _link(keep, index=14, name="Teredo Tunneling Pseudo-Interface", desc="Microsoft Teredo", if_type=131,
                   tunnel_type=14, mtu=1280, oper=2)
    fenics = _link(keep, index=9, name="イーサネット 2", desc="FENICS IPsec Virtual Adapter", if_type=6, mtu=1400,
                   nxt=ctypes.addressof(teredo))
    eth = _link(keep, index=4, name="イーサネット", desc="Realtek PCIe GbE Family Controller", if_type=6,
                nxt=ctypes.addressof(fenics))
    return eth


def test_adapter_links_read_index_mtu_and_tunnel_type_through_the_shared_call():
    keep: list = []
    first = _recorded_links(keep)

    def fake_api(family, flags, reserved, buf, size_ref):
        ctypes.memmove(buf, ctypes.addressof(first), ctypes.sizeof(first))
        return _windows.ERROR_SUCCESS

    links = W.adapter_links(fake_api)
    assert [(x["if_index"], x["friendly_name"], x["mtu"], x["tunnel_type"]) for x in links] == [
        (4, "イーサネット", 1500, 0), (9, "イーサネット 2", 1400, 0),
        (14, "Teredo Tunneling Pseudo-Interface", 1280, 14)]
    assert [W.tunnel_reason(x) for x in links] == [None, "name", "if_type"]
    assert W.find_link(links, 109)["friendly_name"] == "イーサネット 2"  # by its IPv6 index
    assert W.find_link(links, 99) is None


@pytest.mark.parametrize("link,reason", [
    ({"if_type": 23, "friendly_name": "オンライン請求", "description": "WAN Miniport (IKEv2)"}, "if_type"),
    ({"if_type": 6, "tunnel_type": 11, "friendly_name": "6TO4 Adapter"}, "tunnel_type"),
    ({"if_type": 6, "friendly_name": "Ethernet 3", "description": "Cisco AnyConnect Secure Mobility Client"}, "name"),
    ({"if_type": 6, "friendly_name": "ローカル エリア接続", "description": "strongSwan IPsec adapter"}, "name"),
    ({"if_type": 6, "friendly_name": "Ethernet", "description": "Intel(R) Ethernet Connection I219-V"}, None),
    ({"if_type": 71, "friendly_name": "Wi-Fi", "description": "Intel(R) Wi-Fi 6 AX201"}, None),
])
def test_tunnel_reason(link, reason):
    assert W.tunnel_reason(link) == reason


# --- the public seam on this (Linux) host ------------------------------------------------------

def test_trace_and_df_echo_are_the_probes_job_on_linux():
    with pytest.raises(netpath.NotOnThisPlatform):
        netpath.trace_hop("192.0.2.10", 1)
    with pytest.raises(netpath.NotOnThisPlatform):
        netpath.echo_dont_fragment("192.0.2.10", 1500)


def test_set_dont_fragment_on_linux_forbids_local_fragmentation():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        netpath.set_dont_fragment(s)
        assert s.getsockopt(socket.IPPROTO_IP, _linux_netpath.IP_MTU_DISCOVER) == _linux_netpath.IP_PMTUDISC_DO


def test_linux_adapters_and_loopback_route(monkeypatch):
    lo = {a.name: a for a in netpath.adapters()}["lo"]
    assert lo.mtu >= 1280 and lo.tunnel is None and netpath.local_mtu("lo") == lo.mtu
    # loopback only: the route lookup must not touch this host's real routes
    best = netpath.best_interface("127.0.0.1")
    assert best is not None and best.name == "lo"


def test_linux_tunnel_reasons():
    assert _linux_netpath.tunnel_reason("tun0", 65534) == "if_type"
    assert _linux_netpath.tunnel_reason("wg0", 65534) == "if_type"
    assert _linux_netpath.tunnel_reason("ipsec0", 1) == "name"
    assert _linux_netpath.tunnel_reason("eth0", 1) is None
