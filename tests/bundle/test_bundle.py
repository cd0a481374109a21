"""Support bundle and pcap redaction, without a network (the lab test is tests/bundle/test_bundle_lab.py)."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import struct
import zipfile

import pytest

from clinicnet.bundle import bundle, capture, pcap_redact
from clinicnet.bundle.capture import CaptureResult
from clinicnet.reports.redact import Redactor
from clinicnet.reports.redact import redact as redact_report
from clinicnet.wire import ike as ike_wire
from clinicnet.wire import reflector as w
from tests.reports import factories as fx

try:  # scapy crafts and checks the test packets (an independent implementation of the formats)
    import scapy.all  # noqa: F401
except ImportError:
    if os.environ.get("CLINICNET_LAB_REQUIRED") == "1":  # CI: a missing install step must show
        raise
    pytest.skip("scapy is not installed (pip install scapy)", allow_module_level=True)
from scapy.all import (  # noqa: E402
    ICMP,
    IP,
    TCP,
    UDP,
    CookedLinux,
    Ether,
    ICMPv6EchoRequest,
    IPerror,
    IPv6,
    Raw,
    UDPerror,
    fragment,
    raw,
    wrpcap,
)

PC_MAC = "3c:52:82:1a:2b:3c"
ROUTER_MAC = "a4:12:42:9f:00:11"


def ike_sa_init(natd_src: bytes, natd_dst: bytes) -> bytes:
    """IKEv2 IKE_SA_INIT header + N(NAT_DETECTION_SOURCE_IP) + N(NAT_DETECTION_DESTINATION_IP)."""
    n1 = struct.pack("!BBHBBH", 41, 0, 8 + 20, 0, 0, 16388) + natd_src
    n2 = struct.pack("!BBHBBH", 0, 0, 8 + 20, 0, 0, 16389) + natd_dst
    body = n1 + n2
    hdr = b"\x11" * 8 + b"\x00" * 8 + struct.pack("!BBBBII", 41, 0x20, 34, 0x08, 0, 28 + len(body))
    return hdr + body


NATD_SRC, NATD_DST = b"\xaa" * 20, b"\xbb" * 20


def sample_packets() -> list:
    ike = ike_sa_init(NATD_SRC, NATD_DST)
    pkts = [
        Ether(src=PC_MAC, dst=ROUTER_MAC) / IP(src=fx.V4_PC, dst=fx.V4_TARGET) / UDP(sport=500, dport=500) / Raw(ike),
        Ether(src=ROUTER_MAC, dst=PC_MAC) / IP(src=fx.V4_ROUTER, dst=fx.V4_PC)
        / ICMP(type=3, code=4, nexthopmtu=1400) / IPerror(src=fx.V4_PC, dst=fx.V4_TARGET) / UDPerror(sport=500, dport=500),
        Ether(src=PC_MAC, dst=ROUTER_MAC) / IP(src=fx.V4_PC, dst=fx.V4_TARGET) / TCP(sport=40000, dport=80, flags="PA")
        / Raw(f"GET / HTTP/1.1\r\nHost: {fx.TARGET_NAME}\r\n\r\n".encode()),
        Ether(src=PC_MAC, dst=ROUTER_MAC) / IPv6(src=fx.V6_GLOBAL, dst="2001:db8:99::53") / UDP(sport=5353, dport=53)
        / Raw(b"\x12\x34" + fx.TARGET_NAME.encode()),
        Ether(src=PC_MAC, dst=ROUTER_MAC) / IPv6(src=fx.V6_LL, dst="fe80::1") / ICMPv6EchoRequest(data=b"ping"),
        Ether(src=ROUTER_MAC, dst=PC_MAC) / IP(src=fx.V4_TARGET, dst=fx.V4_PC) / UDP(sport=4500, dport=4500)
        / Raw(b"\x00\x00\x00\x00" + ike),
        Ether(src=ROUTER_MAC, dst=PC_MAC) / IP(src=fx.V4_PUBLIC, dst=fx.V4_PC) / UDP(sport=4500, dport=4500)
        / Raw(b"\x01\x02\x03\x04\x00\x00\x00\x01" + fx.V4_PUBLIC.encode()),  # ESP-in-UDP
    ]
    big = IP(src=fx.V4_PC, dst=fx.V4_TARGET, flags=0) / UDP(sport=500, dport=500) / Raw(b"\x00" * 28 + b"x" * 2000)
    pkts += [Ether(src=PC_MAC, dst=ROUTER_MAC) / f for f in fragment(big, fragsize=1000)]
    return pkts


def to_pcap(pkts, tmp_path, name="in.pcap") -> bytes:
    path = tmp_path / name
    wrpcap(str(path), pkts)
    return path.read_bytes()


def checksums_ok(pkt) -> list[str]:
    """Names of layers whose checksum differs from scapy's own fresh computation."""
    fragment_ = IP in pkt and (pkt[IP].flags.MF or pkt[IP].frag)
    if fragment_:
        layers = [IP]
    elif ICMP in pkt:
        layers = [IP, ICMP, IPerror]  # the quoted UDP header keeps the sender's checksum
    else:
        layers = [IP, UDP, TCP]
    bad = []
    for layer in layers:
        if layer not in pkt:
            continue
        fresh = pkt.copy()
        del fresh[layer].chksum
        if type(pkt)(raw(fresh))[layer].chksum != pkt[layer].chksum:
            bad.append(layer.__name__)
    return bad


def all_originals() -> list[str]:
    return [fx.V4_PC, fx.V4_ROUTER, fx.V4_TARGET, fx.V4_PUBLIC, fx.V6_GLOBAL, fx.V6_LL, "2001:db8:99::53"]


def test_pcap_redaction_rewrites_every_address_and_mac(tmp_path):
    from scapy.utils import rdpcap

    data = to_pcap(sample_packets(), tmp_path)
    red = Redactor()
    out, legend = pcap_redact.redact_pcap(data, red)
    for addr in all_originals():
        packed = ipaddress.ip_address(addr).packed
        assert packed not in out, addr
        assert addr.encode() not in out, addr
    for mac in (PC_MAC, ROUTER_MAC):
        assert bytes.fromhex(mac.replace(":", "")) not in out
    assert fx.TARGET_NAME.encode() not in out
    # the legend maps masks (never originals) to the stand-ins found in the pcap
    assert legend and all(k.startswith("<") for k in legend)
    assert set(legend) == {m for m in red.mapping.values()}
    for mask, stand_in in legend.items():
        if ":" in stand_in and "-v" not in mask:
            continue
        if "mac" not in mask:
            assert ipaddress.ip_address(stand_in).packed in out

    (tmp_path / "out.pcap").write_bytes(out)
    pkts = rdpcap(str(tmp_path / "out.pcap"))
    assert len(pkts) == len(sample_packets())
    for p in pkts:
        assert checksums_ok(p) == [], p.summary()
    # the checker itself notices a wrong checksum
    broken = pkts[0].copy()
    broken[UDP].chksum ^= 0x0101
    assert checksums_ok(broken) == ["UDP"]


def test_stand_ins_follow_the_report_masks(tmp_path):
    """The address the report calls <private-v4#1> is one fixed stand-in in the pcap."""
    report = fx.sample_report()
    red = Redactor.for_report(report)
    shown = redact_report(report, red)
    pc_mask = red.mapping[fx.V4_PC]
    assert pc_mask in shown.dumps()
    data = to_pcap(sample_packets()[:1], tmp_path)
    out, legend = pcap_redact.redact_pcap(data, red)
    assert legend[pc_mask] == str(pcap_redact.stand_in_v4("private-v4", int(pc_mask.split("#")[1][:-1])))
    assert ipaddress.IPv4Address(legend[pc_mask]).packed in out
    assert ipaddress.IPv4Address(legend[pc_mask]) in ipaddress.IPv4Network("198.18.0.0/15")


def test_ike_keeps_spis_and_drops_nat_detection_hashes(tmp_path):
    data = to_pcap(sample_packets()[:1], tmp_path)
    out, _ = pcap_redact.redact_pcap(data, Redactor())
    assert b"\x11" * 8 in out  # initiator SPI kept: the technician matches it with the gateway's log
    assert NATD_SRC not in out and NATD_DST not in out


def test_fragments_and_esp(tmp_path):
    from scapy.utils import rdpcap

    data = to_pcap(sample_packets(), tmp_path)
    out, _ = pcap_redact.redact_pcap(data, Redactor())
    (tmp_path / "o.pcap").write_bytes(out)
    pkts = rdpcap(str(tmp_path / "o.pcap"))
    frags = [p for p in pkts if IP in p and (p[IP].flags.MF or p[IP].frag)]
    assert len(frags) >= 2
    assert frags[0][IP].flags.MF and frags[0][UDP].chksum == 0  # cannot be recomputed from one fragment
    assert set(bytes(frags[-1][IP].payload)) == {0}  # later fragments: no transport header, all blanked
    esp = [p for p in pkts if UDP in p and p[UDP].sport == 4500 and bytes(p[UDP].payload)[:4] == b"\x01\x02\x03\x04"]
    assert esp and bytes(esp[0][UDP].payload)[:8] == b"\x01\x02\x03\x04\x00\x00\x00\x01"
    assert set(bytes(esp[0][UDP].payload)[8:]) == {0}


REFLECTOR_V4 = "192.0.2.20"


def _reflector_packets() -> list:
    """What a diagnosis with --reflector captures: requests, and replies naming the clinic's public address."""
    token = b"tokentok"
    req = w.build_request(token, size=200, reply_size=200)
    parsed = w.parse_request(req)
    assert parsed is not None
    obs4 = w.Observation(fx.V4_PUBLIC, 40123, 200, 57, 1480, 500)
    obs6 = w.Observation(fx.V6_GLOBAL, 40124, 200, 57, 0, 500)
    natt_req = w.build_request(token, port4500=True)
    natt = w.parse_request(natt_req, port4500=True)
    esp = w.build_esp_request(4242, 1, size=120)
    esp_req = w.parse_esp_request(esp)
    esp_udp_req = w.parse_esp_request(esp, in_udp=True)
    assert natt is not None and esp_req is not None and esp_udp_req is not None
    to_pc = IP(src=REFLECTOR_V4, dst=fx.V4_PC)
    return [
        IP(src=fx.V4_PC, dst=REFLECTOR_V4) / UDP(sport=40000, dport=500) / Raw(req),
        to_pc / UDP(sport=500, dport=40000) / Raw(w.build_reply(parsed, obs4)),
        to_pc / UDP(sport=500, dport=40000) / Raw(w.build_reply(parsed, obs6)),
        to_pc / UDP(sport=4500, dport=40000) / Raw(w.build_reply(natt, obs4)),
        to_pc / UDP(sport=4500, dport=40000) / Raw(w.build_esp_reply(esp_udp_req, obs4)),
        IP(src=REFLECTOR_V4, dst=fx.V4_PC, proto=50) / Raw(w.build_esp_reply(esp_req, obs4)),
        # the PC's port unreachable for a late reply quotes the reply, address and all
        IP(src=fx.V4_PC, dst=REFLECTOR_V4) / ICMP(type=3, code=3)
        / Raw(raw(to_pc / UDP(sport=500, dport=40000) / Raw(w.build_reply(parsed, obs4)))),
    ]


def test_reflector_replies_keep_their_evidence_and_lose_the_observed_address(tmp_path):
    from scapy.utils import rdpcap

    pkts = _reflector_packets()
    data = to_pcap(pkts, tmp_path)
    assert data.count(ipaddress.ip_address(fx.V4_PUBLIC).packed) == 5  # the leak this guards against
    red = Redactor()
    out, legend = pcap_redact.redact_pcap(data, red)
    for addr in (fx.V4_PUBLIC, fx.V6_GLOBAL, fx.V4_PC, REFLECTOR_V4):
        assert ipaddress.ip_address(addr).packed not in out, addr
        assert addr.encode() not in out, addr
    public = legend[red.mapping[fx.V4_PUBLIC]]
    v6 = legend[red.mapping[fx.V6_GLOBAL]]
    (tmp_path / "o.pcap").write_bytes(out)
    got = rdpcap(str(tmp_path / "o.pcap"))
    r4 = w.parse_reply(bytes(got[1][UDP].payload))
    assert r4 is not None and r4.observation.address == public  # the report's mask, as its stand-in
    assert (r4.observation.port, r4.observation.received_len, r4.observation.ttl, r4.observation.max_fragment) == (
        40123, 200, 57, 1480)  # the evidence stays
    r6 = w.parse_reply(bytes(got[2][UDP].payload))
    assert r6 is not None and r6.observation.address == v6
    assert w.parse_request(bytes(got[0][UDP].payload)) is not None  # a request names nobody: kept whole
    rn = w.parse_reply(bytes(got[3][UDP].payload), port4500=True)
    assert rn is not None and rn.observation.address == public
    e_udp = w.parse_esp_reply(bytes(got[4][UDP].payload), in_udp=True)
    e_raw = w.parse_esp_reply(bytes(got[5][IP].payload))
    assert e_udp is not None and e_raw is not None and e_udp.observation.address == e_raw.observation.address == public
    for p in got[:6]:
        assert checksums_ok(p) == [], p.summary()


def _ike(major: int, flags: int, exchange: int, payloads: list[tuple[int, bytes]]) -> bytes:
    body = ike_wire.chain(payloads)
    return b"\x22" * 8 + b"\x33" * 8 + struct.pack("!BBBBII", payloads[0][0], major << 4, exchange, flags, 0,
                                                  28 + len(body)) + body


def test_every_address_bearing_ike_field_is_redacted(tmp_path):
    v4 = ipaddress.ip_address(fx.V4_TARGET).packed
    v6 = ipaddress.ip_address(fx.V6_GLOBAL).packed
    pub = ipaddress.ip_address(fx.V4_PUBLIC).packed
    sa = b"\x00\x00\x00\x08\x01\x01\x00\x00"  # kept: evidence, names nobody
    v2 = _ike(2, 0x20, 34, [
        (33, sa),
        (41, struct.pack("!BBH", 0, 0, 16407) + bytes([1, 4]) + v4 + b"nonce-nonce"),  # REDIRECT to an IPv4 gateway
        (41, struct.pack("!BBH", 0, 0, 16408) + bytes([2, 16]) + v6),  # REDIRECTED_FROM an IPv6 one
        (41, struct.pack("!BBH", 0, 0, 16407) + bytes([3, len(fx.TARGET_NAME)]) + fx.TARGET_NAME.encode()),
        (41, struct.pack("!BBH", 0, 0, 16397) + pub),  # MOBIKE ADDITIONAL_IP4_ADDRESS: unknown here, blanked
        (41, struct.pack("!BBH", 0, 0, 39) + raw(IP(src=fx.V4_PC, dst=fx.V4_TARGET))),  # INVALID_SELECTORS
        (41, struct.pack("!BBH", 0, 0, 16390) + b"C" * 16),  # COOKIE: kept
        (35, b"\x01\x00\x00\x00" + pub),  # IDi (ID_IPV4_ADDR)
        (47, b"\x01\x00\x00\x00" + struct.pack("!HH", 1, 4) + pub),  # CP with INTERNAL_IP4_ADDRESS
        (44, b"\x01\x00\x00\x00" + pub + pub),  # TSi
    ])
    v1 = _ike(1, 0, 2, [
        (1, sa), (5, b"\x01\x11\x01\xf4" + pub),  # ID
        (20, b"N" * 20), (21, b"\x01\x00\x00\x00" + pub),  # NAT-D, NAT-OA
        (11, struct.pack("!IBBH", 1, 1, 0, 26) + pub),  # ADDRESS-NOTIFICATION
        (11, struct.pack("!IBBH", 1, 1, 0, 36136) + b"\x00\x00\x00\x07"),  # R-U-THERE: kept
    ])
    v1_encrypted = _ike(1, 0x01, 2, [(5, b"\x01\x11\x01\xf4" + pub)])
    pkts = [IP(src=fx.V4_TARGET, dst=fx.V4_PC) / UDP(sport=500, dport=500) / Raw(m) for m in (v2, v1, v1_encrypted)]
    pkts.append(IP(src=fx.V4_TARGET, dst=fx.V4_PC) / UDP(sport=4500, dport=4500) / Raw(b"\x00" * 4 + v2))
    data = to_pcap(pkts, tmp_path)
    out, _ = pcap_redact.redact_pcap(data, Redactor())
    for packed in (v4, v6, pub):
        assert packed not in out
    assert fx.TARGET_NAME.encode() not in out and b"nonce-nonce" in out  # REDIRECT's nonce is no address
    assert sa in out and b"C" * 16 in out and b"\x22" * 8 in out and b"\x00\x00\x00\x07" in out
    assert b"N" * 20 not in out
    # the stand-in addresses are where the gateway addresses were, and the messages still parse
    for got in (bytes(p[UDP].payload) for p in IP_packets(out)):
        msg = got[4:] if got[:4] == b"\x00" * 4 else got
        if msg[19] & 0x01:  # IKEv1 encrypted: all of it blanked, payload headers included
            assert set(msg[28:]) == {0}
            continue
        walked = ike_wire.walk_payloads(msg, msg[16], 28, len(msg))
        assert walked.error is None and walked.trailing == 0


def IP_packets(pcap: bytes) -> list:  # noqa: N802 - reads like the scapy layer it returns
    return [IP(frame) for _s, _f, _o, frame in pcap_redact.parse(pcap).records]


def test_linux_cooked_capture(tmp_path):
    pkts = [CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6, src=bytes.fromhex(PC_MAC.replace(":", "")) + b"\0\0",
                        proto=0x0800) / IP(src=fx.V4_PC, dst=fx.V4_TARGET) / UDP(sport=500, dport=500) / Raw(b"x" * 40)]
    data = to_pcap(pkts, tmp_path)
    assert struct.unpack("<I", data[20:24])[0] == pcap_redact.LINKTYPE_LINUX_SLL
    out, _ = pcap_redact.redact_pcap(data, Redactor())
    assert ipaddress.ip_address(fx.V4_PC).packed not in out
    assert bytes.fromhex(PC_MAC.replace(":", "")) not in out


def test_unsupported_captures_are_refused():
    with pytest.raises(pcap_redact.PcapError, match="pcapng"):
        pcap_redact.redact_pcap(b"\x0a\x0d\x0d\x0a" + b"\0" * 40, Redactor())
    with pytest.raises(pcap_redact.PcapError):
        pcap_redact.redact_pcap(b"junk", Redactor())
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147)  # a user link type
    with pytest.raises(pcap_redact.PcapError, match="link type"):
        pcap_redact.redact_pcap(header, Redactor())


# --- capture filter ------------------------------------------------------------------------

def test_bpf_filter_names_destinations_resolvers_and_quoted_icmp():
    f = capture.bpf_filter(["192.0.2.10", "2001:db8:dc::10"], ["203.0.113.53", "192.0.2.10"])
    assert "host 192.0.2.10" in f and "host 2001:db8:dc::10" in f
    assert "(host 203.0.113.53 and port 53)" in f
    assert f.count("port 53") == 1  # a resolver that is also a destination is already covered
    assert "icmp[24:4] = 0xc000020a" in f
    assert "ip6[72:4] = 0x20010db8" in f
    assert capture.bpf_filter([], []) == "less 0"
    readable = capture.bpf_filter(["192.0.2.10", "2001:db8:dc::10"], [], readable=True)
    assert "0x" not in readable and "icmp[24:4] = 192.0.2.10" in readable and "ip6[72:16] = 2001:db8:dc::10" in readable


def test_bpf_filter_compiles_with_tcpdump(tmp_path):
    import shutil
    import struct
    import subprocess

    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump not installed")
    f = capture.bpf_filter(["192.0.2.10", "2001:db8:dc::10"], ["203.0.113.53"])
    # -d only compiles and prints the program; reading an empty Ethernet pcap opens no interface
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    p = subprocess.run(["tcpdump", "-d", "-r", str(empty), f], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    bad = subprocess.run(["tcpdump", "-d", "-r", str(empty), "host and and"], capture_output=True, text=True)
    assert bad.returncode != 0 and "syntax error" in bad.stderr


def test_hosts_of_settings():
    assert capture.hosts_of(["gw.example.jp"], ["192.0.2.20"], ["http://web.test/x", "tcp://[2001:db8::1]:443"]) == [
        "gw.example.jp", "192.0.2.20", "web.test", "2001:db8::1"]


def test_choose_tool_order():
    from clinicnet.system import _linux, _windows

    linux, windows = _linux.CAPTURE_TOOLS, _windows.CAPTURE_TOOLS
    assert capture.choose_tool(lambda t: "/usr/bin/" + t, linux) == "tcpdump"
    assert capture.choose_tool(lambda t: "/x/dumpcap" if t == "dumpcap" else None, linux) == "dumpcap"
    assert capture.choose_tool(lambda t: "C:/dumpcap.exe", windows) == "dumpcap"
    assert capture.choose_tool(lambda t: "/usr/bin/" + t) == "tcpdump"  # this OS's order: Linux here


def test_the_os_answers_the_capture_questions(monkeypatch):
    from clinicnet.system import _linux, _windows
    from clinicnet.system import capture as os_capture

    assert os_capture.interfaces() == ["any"] and os_capture.popen_options() == {}  # Linux, the test bed
    assert not os_capture.needs_raw_sockets() and os_capture.tools() == _linux.CAPTURE_TOOLS
    assert _windows.CAPTURE_NEEDS_RAW_SOCKETS and "creationflags" in _windows.capture_popen_options()
    recs = [{"friendly_name": "イーサネット", "guid": "{AB-12}", "oper_up": True, "gateways": ["192.168.10.1"]},
            {"friendly_name": "Wi-Fi", "guid": "{CD-34}", "oper_up": True, "gateways": []}]
    monkeypatch.setattr(_windows, "_adapters_cached", lambda: recs)
    monkeypatch.setattr(_windows, "default_routes", lambda: [
        {"family": 4, "interface": "イーサネット", "gateway": "192.168.10.1", "metric": 0}])
    assert _windows.capture_interfaces() == ["\\Device\\NPF_{AB-12}"]


def test_capture_without_privileges_says_why():
    c = capture.Capture(["192.0.2.10"], [], privileged=False, raw_reason="raw sockets need root or CAP_NET_RAW")
    c.start()
    r = c.stop()
    assert r.pcap is None and "administrator/root" in r.note and "CAP_NET_RAW" in r.note


# --- the bundle ------------------------------------------------------------------------------

def _files(redact: bool, pcap: bytes | None = None):
    cap = CaptureResult(pcap, "tcpdump", capture.bpf_filter([fx.V4_TARGET], [fx.V4_ROUTER]), "", [fx.V4_TARGET]) \
        if pcap is not None else None
    log = f"  0.001s start  ike\n  1.002s end    ike: ok after 1.001 s - answered from {fx.V4_TARGET}\n"
    return bundle.build_files(fx.sample_report(), "ja", redact=redact, log_text=log, capture=cap)


def test_bundle_layout_is_fixed_and_deterministic(tmp_path):
    pcap = to_pcap(sample_packets(), tmp_path)
    a = bundle.zip_bytes(_files(True, pcap))
    b = bundle.zip_bytes(_files(True, pcap))
    assert a == b
    zf = zipfile.ZipFile(io.BytesIO(a))
    names = zf.namelist()
    assert names == sorted(names) == sorted(bundle.NAMES)
    for info in zf.infolist():
        assert info.date_time == bundle.ZIP_DATE
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED
    manifest = json.loads(zf.read(bundle.MANIFEST))
    assert manifest["redacted"] is True and manifest["capture"]["packets"] == len(sample_packets())
    assert [f["name"] for f in manifest["files"]] == sorted(n for n in bundle.NAMES if n != bundle.MANIFEST)
    summary = zf.read(bundle.SUMMARY_JA).decode("utf-8")
    assert summary.startswith("\ufeff") and "\r\n" in summary and "判定" in summary
    result = json.loads(zf.read(bundle.RESULT_JSON))
    assert result["redacted"] is True


def test_without_capture_there_is_no_pcap():
    files = _files(False)
    assert bundle.CAPTURE_PCAP not in files
    assert json.loads(files[bundle.MANIFEST])["capture"] == {"requested": False}


def test_redacted_bundle_leaks_nothing_planted(tmp_path):
    files = _files(True, to_pcap(sample_packets(), tmp_path))
    blob = b"\n".join(files.values())
    for planted in fx.PLANTED:
        assert planted.encode() not in blob, planted
        assert planted.lower().encode() not in blob.lower(), planted
    for addr in all_originals():
        assert ipaddress.ip_address(addr).packed not in files[bundle.CAPTURE_PCAP]


def test_unredacted_bundle_keeps_the_report_as_is(tmp_path):
    pcap = to_pcap(sample_packets(), tmp_path)
    files = _files(False, pcap)
    assert fx.V4_PC.encode() in files[bundle.RESULT_JSON]
    assert files[bundle.CAPTURE_PCAP] == pcap


def test_bundle_path_checks(tmp_path):
    from clinicnet.agent import output
    from clinicnet.agent.config import UsageError

    with pytest.raises(UsageError, match="directory"):
        output.check_path(str(tmp_path))
    with pytest.raises(UsageError, match="does not exist"):
        output.check_path(str(tmp_path / "nope" / "b.zip"))
    output.write_bytes(str(tmp_path / "b.zip"), bundle.zip_bytes(_files(False)))
    assert zipfile.ZipFile(tmp_path / "b.zip").testzip() is None


def test_capture_needs_bundle_on_the_command_line():
    import subprocess
    import sys

    # loopback-only settings, so that even a broken check could not reach outside the machine
    p = subprocess.run([sys.executable, "-m", "clinicnet", "diagnose", "--capture", "--quiet", "--timeout", "1",
                        "--internet-check", "tcp://127.0.0.1:9", "--dns-name", "localhost"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--capture needs --bundle" in p.stderr
