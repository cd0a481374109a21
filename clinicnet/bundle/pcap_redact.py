"""Redaction of a packet capture, consistent with the report's masks.

A support bundle made with ``--redact`` must not leak the clinic's addresses
through its pcap any more than through its report. Every IPv4/IPv6 address and
MAC address in the capture is rewritten to a stand-in chosen by the *same*
:class:`~clinicnet.reports.redact.Redactor` that masked the report, so the
address the report calls ``<public-v4#1>`` is one fixed stand-in in the pcap,
and the bundle's manifest gives that legend (mask -> stand-in, never the
original). Stand-ins come from benchmarking ranges that no clinic or lab uses
(198.18.0.0/15, 2001:2::/48; RFC 2544/5180) with the category in the address,
so private, CGN and public stay distinguishable in Wireshark.

Headers are kept (ports, flags, lengths, TTLs, fragment offsets: that is what a
technician reads for IKE/ESP/fragment problems), checksums are recomputed, and
payloads are blanked (zeroed, same length) except what is evidence and carries
nothing identifying. Every address-bearing field of every protocol clinicnet
itself speaks is handled, by an allowlist:

* IKEv1/IKEv2, walked with the IKE codec's own walker: SA, KE, nonce, vendor
  IDs, CERTREQ, delete and a list of harmless notifies are kept; identities,
  certificates, AUTH, traffic selectors, configuration, NAT-D hashes (a hash over
  a known SPI can be brute-forced back to the public address), NAT-OA, encrypted
  bodies and anything unknown are blanked; REDIRECT / REDIRECTED_FROM gateway
  addresses get their stand-ins;
* the clinicnet reflector's messages (in their IKE notify and in ESP echoes):
  the observed address, which is the clinic's public address, gets its
  stand-in, the rest of the observation stays;
* ESP: SPI and sequence; IPv4 options and IPv6 option/routing headers blanked;
* ICMP errors keep their quoted packet, rewritten the same way.

DNS, HTTP, UPnP, NAT-PMP and anything else are blanked whole. Anything this
module cannot parse is refused rather than shipped raw.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field

from clinicnet.reports.redact import Redactor
from clinicnet.wire import ike, ikev1, ikev2
from clinicnet.wire import reflector as rwire


class PcapError(ValueError):
    """Not a classic pcap this module can rewrite (pcapng, unknown link type...)."""


# --------------------------------------------------------------------------------------
# stand-in addresses keyed by mask
# --------------------------------------------------------------------------------------

_V4_CATS = ("private-v4", "cgn-v4", "public-v4", "link-local-v4", "special-v4", "reserved-v4")
_V6_CATS = ("v6-global", "v6-ula", "v6-link-local", "v6-multicast", "v6-other")
_V4_BASE = int(ipaddress.IPv4Address("198.18.0.0"))
_V6_BASE = int(ipaddress.IPv6Address("2001:2::"))
_MASK = re.compile(r"<(?P<cat>[a-z0-9-]+)#(?P<n>\d+)>")


def stand_in_v4(category: str, n: int) -> ipaddress.IPv4Address:
    """198.18.0.0/15, 4096 stand-ins per category: 198.18.0.n private, .16.n CGN, .32.n public..."""
    idx = _V4_CATS.index(category) if category in _V4_CATS else 15
    return ipaddress.IPv4Address(_V4_BASE + (idx << 12) + (n % 4096))


def stand_in_v6(category: str, n: int) -> ipaddress.IPv6Address:
    """2001:2:0:<category>::<n>."""
    idx = _V6_CATS.index(category) if category in _V6_CATS else 15
    return ipaddress.IPv6Address(_V6_BASE + (idx << 64) + (n & 0xFFFFFFFF))


def stand_in_mac(n: int) -> bytes:
    """A locally administered unicast MAC: 02:00:00:00:hh:ll."""
    return bytes((0x02, 0, 0, 0, (n >> 8) & 0xFF, n & 0xFF))


@dataclass
class AddressMap:
    """Original packed address -> stand-in, through one Redactor; remembers the legend."""

    redactor: Redactor
    legend: dict[str, str] = field(default_factory=dict)
    _cache: dict[bytes, bytes] = field(default_factory=dict)

    def ip(self, packed: bytes) -> bytes:
        got = self._cache.get(packed)
        if got is not None:
            return got
        addr = ipaddress.ip_address(packed)
        mask = self.redactor.mask_ip(addr)
        m = _MASK.search(mask)
        if m is None:  # an address the redactor keeps visible (loopback, public resolvers)
            out = packed
        else:
            inner = m.group(0)
            cat, n = m.group("cat"), int(m.group("n"))
            if cat.endswith("-v4"):
                v4 = stand_in_v4(cat, n)
                self.legend[inner] = str(v4)
                if addr.version == 4:
                    out = v4.packed
                else:  # ::ffff:<v4> or 64:ff9b::<v4>: keep the prefix, swap the embedded v4
                    out = packed[:12] + v4.packed
            else:
                v6 = stand_in_v6(cat, n)
                self.legend[inner] = str(v6)
                out = v6.packed
        self._cache[packed] = out
        return out

    def mac(self, raw: bytes) -> bytes:
        if len(raw) != 6 or raw in (b"\xff" * 6, b"\x00" * 6) or raw[0] & 0x01:
            return raw  # broadcast, empty and multicast MACs identify nobody
        text = ":".join(f"{b:02x}" for b in raw)
        mask = self.redactor.mask_mac(text)
        m = _MASK.search(mask)
        if m is None:
            return raw
        out = stand_in_mac(int(m.group("n")))
        self.legend[m.group(0)] = ":".join(f"{b:02x}" for b in out)
        return out


# --------------------------------------------------------------------------------------
# checksums
# --------------------------------------------------------------------------------------


def inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def _with_checksum(seg: bytearray, offset: int, pseudo: bytes | None, *, udp: bool = False) -> bytes:
    seg[offset:offset + 2] = b"\x00\x00"
    c = inet_checksum((pseudo or b"") + bytes(seg))
    if udp and c == 0:
        c = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    seg[offset:offset + 2] = struct.pack("!H", c)
    return bytes(seg)


# --------------------------------------------------------------------------------------
# payloads
# --------------------------------------------------------------------------------------

IKE_PORTS = (500, 4500)

# Payloads kept as they are: negotiation evidence that names no address, host or person.
# Everything else (IDi/IDr/ID, CERT, AUTH/SIG, TS, CP/ATTR, EAP, NAT-D, NAT-OA, the
# encrypted SK/SKF and IKEv1-encrypted bodies, unknown types) is blanked: an allowlist,
# so a payload type nobody thought of cannot leak.
_V2_KEEP = frozenset({ikev2.PL_SA, ikev2.PL_KE, ikev2.PL_CERTREQ, ikev2.PL_NONCE, ikev2.PL_D, ikev2.PL_V})
_V1_KEEP = frozenset({ikev1.PL_SA, ikev1.PL_P, ikev1.PL_T, ikev1.PL_KE, ikev1.PL_CR, ikev1.PL_HASH, ikev1.PL_NONCE,
                      ikev1.PL_D, ikev1.PL_VID})
#: RFC 5685 notifies whose data is a gateway identity (an address or a name)
N_REDIRECT = 16407
N_REDIRECTED_FROM = 16408
#: IKEv2 notifies whose data is kept: numbers, SPIs, cookies (a keyed hash), algorithm lists.
#: Any other notify keeps its type and loses its data (NAT-D hashes over a known SPI can be
#: brute-forced back to the public address; INVALID_SELECTORS quotes a packet; MOBIKE lists addresses).
_V2_NOTIFY_KEEP = frozenset({4, 9, 11, ikev2.N_INVALID_KE_PAYLOAD, 16385, 16387, ikev2.N_COOKIE, 16393, 16401,
                             ikev2.N_IKEV2_FRAGMENTATION_SUPPORTED, ikev2.N_SIGNATURE_HASH_ALGORITHMS, 16434, 16441})
#: IKEv1 notifies whose data is kept (lifetimes, replay status, DPD sequence numbers)
_V1_NOTIFY_KEEP = frozenset({24576, 24577, 24578, 36136, 36137})


def _blank(data: bytes | bytearray) -> bytes:
    return bytes(len(data))


def redact_reflector_body(body: bytes, amap: AddressMap) -> bytes:
    """A clinicnet reflector message body (docs/reflector.md) with its observed address swapped
    for the stand-in; padding and anything that is not such a body is blanked.

    The reply's observed address is the clinic's public address: the report masks it, so the
    pcap gets the same stand-in, and the rest of the observation (port, sizes, TTL, fragments)
    stays as evidence.
    """
    if len(body) < rwire.REQUEST_BODY_LEN or body[:4] != rwire.MAGIC:
        return _blank(body)
    mtype = body[5]
    if mtype in (rwire.T_REQUEST, rwire.T_ESP_REQUEST):
        keep = rwire.REQUEST_BODY_LEN
        return body[:keep] + _blank(body[keep:])
    if mtype not in (rwire.T_REPLY, rwire.T_ESP_REPLY) or len(body) < rwire.REPLY_BODY_LEN:
        return _blank(body)
    out = bytearray(body[:rwire.REPLY_BODY_LEN]) + _blank(body[rwire.REPLY_BODY_LEN:])
    family, addr = body[8], slice(12, 28)
    if family == 4:
        out[addr] = amap.ip(body[12:16]) + bytes(12)
    elif family == 6:
        out[addr] = amap.ip(body[12:28])
    else:
        out[addr] = bytes(16)
    return bytes(out)


def _gateway_identity(data: bytes, amap: AddressMap, *, nonce: bool) -> bytes:
    """REDIRECT / REDIRECTED_FROM data: GW identity type, length, identity [, nonce] (RFC 5685 §8)."""
    if len(data) < 2:
        return _blank(data)
    gtype, glen = data[0], data[1]
    ident = data[2:2 + glen]
    if (gtype, glen) in ((1, 4), (2, 16)) and len(ident) == glen:
        ident_out = amap.ip(ident)
    else:
        ident_out = _blank(ident)  # a name (type 3) or something malformed
    rest = data[2 + len(ident):]
    return data[:2] + ident_out + (rest if nonce else _blank(rest))


def _v2_notify(body: bytes, amap: AddressMap) -> bytes:
    if len(body) < 4:
        return _blank(body)
    spi_size, ntype = body[1], struct.unpack_from("!H", body, 2)[0]
    head = 4 + spi_size
    if head > len(body):
        return body[:4] + _blank(body[4:])
    data = body[head:]
    if ntype == rwire.NOTIFY_TYPE:
        data = redact_reflector_body(data, amap)
    elif ntype in (N_REDIRECT, N_REDIRECTED_FROM):
        data = _gateway_identity(data, amap, nonce=ntype == N_REDIRECT)
    elif ntype not in _V2_NOTIFY_KEEP:
        data = _blank(data)
    return body[:head] + data


def _v1_notify(body: bytes) -> bytes:
    if len(body) < 8:
        return _blank(body)
    spi_size, ntype = body[5], struct.unpack_from("!H", body, 6)[0]
    head = 8 + spi_size
    if head > len(body):
        return body[:8] + _blank(body[8:])
    return body if ntype in _V1_NOTIFY_KEEP else body[:head] + _blank(body[head:])


def _ike_payload(major: int, ptype: int, body: bytes, amap: AddressMap) -> bytes:
    if major == 2:
        if ptype == ikev2.PL_N:
            return _v2_notify(body, amap)
        return body if ptype in _V2_KEEP else _blank(body)
    if ptype == ikev1.PL_N:
        return _v1_notify(body)
    return body if ptype in _V1_KEEP else _blank(body)


def redact_ike(msg: bytes, amap: AddressMap) -> bytes:
    """An IKE message with every payload that names an address, host or person blanked or swapped.

    The payloads are found with the IKE codec's own walker (``wire.ike.walk_payloads``),
    which stops on a malformed chain; whatever it did not walk is blanked.
    """
    if len(msg) < ike.HEADER_LEN:
        return _blank(msg)
    header = ike.parse_header(msg)
    out = bytearray(msg[:ike.HEADER_LEN])
    if header.major == 1 and header.flags & ike.FLAG_V1_ENCRYPTED:
        return bytes(out) + _blank(msg[ike.HEADER_LEN:])  # encrypted: nothing in it to keep
    end = min(len(msg), header.length)
    walked = ike.walk_payloads(msg, header.next_payload, ike.HEADER_LEN, end)
    for p in walked.payloads:
        out += msg[len(out):len(out) + 4] + _ike_payload(header.major, p.ptype, p.body, amap)
    return bytes(out) + _blank(msg[len(out):])


def redact_udp_payload(sport: int, dport: int, payload: bytes, amap: AddressMap) -> bytes:
    if sport in IKE_PORTS or dport in IKE_PORTS:
        if 4500 in (sport, dport):
            if payload == b"\xff":
                return payload  # NAT-T keepalive
            if payload[:4] == b"\x00\x00\x00\x00":
                return payload[:4] + redact_ike(payload[4:], amap)
            return redact_esp(payload, amap)  # ESP in UDP
        return redact_ike(payload, amap)
    return _blank(payload)


def redact_esp(packet: bytes, amap: AddressMap) -> bytes:
    """SPI and sequence kept; the payload blanked unless it is a reflector echo (address swapped)."""
    return packet[:8] + redact_reflector_body(packet[8:], amap)


# --------------------------------------------------------------------------------------
# IP
# --------------------------------------------------------------------------------------

_ICMP4_ERRORS = (3, 4, 5, 11, 12)
_ICMP6_ERRORS = (1, 2, 3, 4)


def _transport(proto: int, seg: bytes, src: bytes, dst: bytes, amap: AddressMap, *,
               whole: bool, inner: bool) -> bytes:
    """Rewrite one transport segment; ``whole`` = not a fragment, so checksums can be fixed."""
    pseudo = _pseudo(src, dst, proto, len(seg))
    if proto == 17 and len(seg) >= 8:
        sport, dport = struct.unpack("!HH", seg[:4])
        out = bytearray(seg[:8] + redact_udp_payload(sport, dport, seg[8:], amap))
        if not whole:
            if len(src) == 4 and not inner:
                out[6:8] = b"\x00\x00"  # IPv4 allows "no checksum"; a fragment's cannot be recomputed
            return bytes(out)
        if len(src) == 4 and seg[6:8] == b"\x00\x00":
            return bytes(out)  # sent without checksum: keep it so
        return _with_checksum(out, 6, pseudo, udp=True)
    if proto == 6 and len(seg) >= 20:
        hl = min(len(seg), (seg[12] >> 4) * 4)
        out = bytearray(seg[:hl] + _blank(seg[hl:]))
        return bytes(out) if not whole else _with_checksum(out, 16, pseudo)
    if proto == 50:
        return redact_esp(seg, amap)
    if proto == 1 and len(seg) >= 8:
        t = seg[0]
        out = bytearray(seg[:8])
        if t in _ICMP4_ERRORS and not inner:
            if t == 5:
                out[4:8] = amap.ip(bytes(seg[4:8]))  # redirect: the new gateway
            out += _ip(seg[8:], amap, inner=True)
        else:
            out += _blank(seg[8:])
        return bytes(out) if not whole else _with_checksum(out, 2, None)
    if proto == 58 and len(seg) >= 8:
        t = seg[0]
        out = bytearray(seg[:8])
        if t in _ICMP6_ERRORS and not inner:
            out += _ip(seg[8:], amap, inner=True)
        elif t in (135, 136, 137) and len(seg) >= 24:  # NS/NA/redirect: target address
            out += amap.ip(bytes(seg[8:24])) + _blank(seg[24:])
        else:
            out += _blank(seg[8:])
        return bytes(out) if not whole else _with_checksum(out, 2, pseudo)
    return _blank(seg)


def _ip(pkt: bytes, amap: AddressMap, *, inner: bool = False) -> bytes:
    if not pkt:
        return pkt
    version = pkt[0] >> 4
    if version == 4 and len(pkt) >= 20:
        ihl = (pkt[0] & 0x0F) * 4
        if ihl < 20 or len(pkt) < ihl:
            return _blank(pkt)
        hdr = bytearray(pkt[:ihl])
        src, dst = amap.ip(bytes(pkt[12:16])), amap.ip(bytes(pkt[16:20]))
        hdr[12:16], hdr[16:20] = src, dst
        if ihl > 20:
            hdr[20:ihl] = bytes(ihl - 20)  # options (record route...) may hold addresses
            hdr[20] = 0  # end of options list
        total = struct.unpack("!H", pkt[2:4])[0]
        frag = struct.unpack("!H", pkt[6:8])[0]
        more, offset = bool(frag & 0x2000), frag & 0x1FFF
        body = pkt[ihl:total] if ihl <= total <= len(pkt) else pkt[ihl:]
        trailer = pkt[ihl + len(body):]  # Ethernet padding
        # a checksum can be recomputed only over a whole datagram (a quoted one may be cut short)
        whole = not more and ihl <= total <= len(pkt)
        if offset:
            seg = _blank(body)
        else:
            seg = _transport(pkt[9], body, src, dst, amap, whole=whole, inner=inner)
        hdr = bytearray(_with_checksum(hdr, 10, None))  # quoted headers too: Wireshark checks them
        return bytes(hdr) + seg + _blank(trailer)
    if version == 6 and len(pkt) >= 40:
        hdr = bytearray(pkt[:40])
        src, dst = amap.ip(bytes(pkt[8:24])), amap.ip(bytes(pkt[24:40]))
        hdr[8:24], hdr[24:40] = src, dst
        plen = struct.unpack("!H", pkt[4:6])[0]
        rest = pkt[40:40 + plen] if 40 + plen <= len(pkt) else pkt[40:]
        trailer = pkt[40 + len(rest):]
        nh, pos, whole, first = pkt[6], 0, True, True
        ext = bytearray()
        while nh in (0, 43, 44, 60) and pos + 8 <= len(rest):
            if nh == 44:
                off_m = struct.unpack("!H", rest[pos + 2:pos + 4])[0]
                first = (off_m >> 3) == 0
                whole = whole and first and not (off_m & 1)
                ext += rest[pos:pos + 8]
                nh, pos = rest[pos], pos + 8
                continue
            hl = (rest[pos + 1] + 1) * 8
            chunk = bytearray(rest[pos:pos + hl])
            if nh == 43:
                chunk[4:] = bytes(len(chunk) - 4)  # routing header: addresses
            else:
                chunk[2:] = bytes(len(chunk) - 2)  # options (a home address...): all Pad1 now
            ext += chunk
            nh, pos = rest[pos], pos + hl
        seg = rest[pos:]
        if not first:
            seg_out = _blank(seg)
        else:
            # the pseudo-header uses the final destination; routing headers are blanked
            seg_out = _transport(nh, seg, src, dst, amap, whole=whole and 40 + plen <= len(pkt), inner=inner)
        return bytes(hdr) + bytes(ext) + seg_out + _blank(trailer)
    return _blank(pkt)


def _arp(pkt: bytes, amap: AddressMap) -> bytes:
    if len(pkt) < 28 or pkt[4] != 6 or pkt[5] != 4:
        return _blank(pkt)
    out = bytearray(pkt)
    out[8:14] = amap.mac(pkt[8:14])
    out[14:18] = amap.ip(pkt[14:18])
    out[18:24] = amap.mac(pkt[18:24])
    out[24:28] = amap.ip(pkt[24:28])
    return bytes(out)


def _by_ethertype(etype: int, payload: bytes, amap: AddressMap) -> bytes:
    if etype in (0x0800, 0x86DD):
        return _ip(payload, amap)
    if etype == 0x0806:
        return _arp(payload, amap)
    return _blank(payload)


# --------------------------------------------------------------------------------------
# link layers and the file
# --------------------------------------------------------------------------------------

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
SUPPORTED_LINKTYPES = (LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP,
                       LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2)


def redact_frame(linktype: int, frame: bytes, amap: AddressMap) -> bytes:
    if linktype == LINKTYPE_ETHERNET and len(frame) >= 14:
        head = bytearray(amap.mac(frame[0:6]) + amap.mac(frame[6:12]))
        pos = 12
        etype = struct.unpack("!H", frame[pos:pos + 2])[0]
        while etype in (0x8100, 0x88A8) and pos + 6 <= len(frame):
            head += frame[pos:pos + 4]
            pos += 4
            etype = struct.unpack("!H", frame[pos:pos + 2])[0]
        head += frame[pos:pos + 2]
        return bytes(head) + _by_ethertype(etype, frame[pos + 2:], amap)
    if linktype == LINKTYPE_LINUX_SLL and len(frame) >= 16:
        head = bytearray(frame[:16])
        halen = min(8, struct.unpack("!H", frame[4:6])[0])
        if halen == 6:
            head[6:12] = amap.mac(frame[6:12])
        else:
            head[6:14] = bytes(8)
        return bytes(head) + _by_ethertype(struct.unpack("!H", frame[14:16])[0], frame[16:], amap)
    if linktype == LINKTYPE_LINUX_SLL2 and len(frame) >= 20:
        head = bytearray(frame[:20])
        if frame[11] == 6:
            head[12:18] = amap.mac(frame[12:18])
        else:
            head[12:20] = bytes(8)
        return bytes(head) + _by_ethertype(struct.unpack("!H", frame[0:2])[0], frame[20:], amap)
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return _ip(frame, amap)
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP) and len(frame) >= 4:
        return frame[:4] + _ip(frame[4:], amap)
    return _blank(frame)


@dataclass(frozen=True)
class Pcap:
    endian: str  # "<" or ">"
    magic: int
    linktype: int
    snaplen: int
    #: (seconds, fraction, original length, captured bytes)
    records: tuple[tuple[int, int, int, bytes], ...]


def parse(data: bytes) -> Pcap:
    if len(data) < 24:
        raise PcapError("not a pcap file (too short)")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", data[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        if data[:4] == b"\x0a\x0d\x0d\x0a":
            raise PcapError("pcapng is not supported; write classic pcap (dumpcap -P)")
        raise PcapError("not a pcap file (bad magic)")
    _vmaj, _vmin, _tz, _sig, snaplen, linktype = struct.unpack(endian + "HHiIII", data[4:24])
    linktype &= 0x0FFFFFFF  # the top bits carry FCS information
    records = []
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        if pos + incl > len(data):
            break  # a capture cut short: keep what is complete
        records.append((sec, frac, orig, data[pos:pos + incl]))
        pos += incl
    return Pcap(endian, magic, linktype, snaplen, tuple(records))


def serialize(p: Pcap) -> bytes:
    e = p.endian
    out = bytearray(struct.pack(e + "IHHiIII", p.magic, 2, 4, 0, 0, p.snaplen, p.linktype))
    for sec, frac, orig, frame in p.records:
        out += struct.pack(e + "IIII", sec, frac, len(frame), max(orig, len(frame)))
        out += frame
    return bytes(out)


def redact_pcap(data: bytes, redactor: Redactor) -> tuple[bytes, dict[str, str]]:
    """The redacted pcap and its legend (mask -> stand-in). Raises PcapError if it cannot."""
    p = parse(data)
    if p.linktype not in SUPPORTED_LINKTYPES:
        raise PcapError(f"link type {p.linktype} is not supported for redaction")
    amap = AddressMap(redactor)
    records = tuple((s, f, o, redact_frame(p.linktype, frame, amap)) for s, f, o, frame in p.records)
    return serialize(Pcap(p.endian, p.magic, p.linktype, p.snaplen, records)), dict(sorted(amap.legend.items()))
