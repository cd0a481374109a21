"""The clinicnet reflector protocol, versions 1 and 2 (docs/reflector.md is the prose spec).

The probe asks a reflector "what did you see?" and the answer must cross the
same middleboxes the real VPN crosses. NAT devices with IPsec ALGs and
firewalls that whitelist "IKE" look at UDP 500/4500 and at the IKE header, so
the request travels as an IKEv2 IKE_SA_INIT-shaped datagram and the reply as
an IKE_SA_INIT response; the reflector message itself rides in a private-use
Notify payload (RFC 7296 §3.10, status types 40960-65535 are private use).
ESP probes are ESP-shaped (SPI, sequence number, opaque payload) so that
protocol-50 filters and ESP-in-UDP handling (RFC 3948) are what gets tested.

Pure functions over ``bytes``: no sockets, nothing that raises on hostile
input. ``parse_*`` return ``None`` for anything that is not a well-formed
message of the expected kind; the caller counts and drops it.

The one anti-amplification rule lives in :func:`reply_budget`: a reply is never
larger than the datagram that caused it. Both the reflector and the tests use
that function, so there is exactly one place to audit.

Version 2 appends one field to the request (a *delay*: "answer this after T
seconds", for the NAT binding lifetime) and three to the reply (the delay
applied, how long the reflector really held it, and its longest delay). A
request without a delay is still sent as version 1, so every probe but the
binding one works with a version-1 reflector, and a version-2 reflector answers
a version-1 request with a version-1 reply, so version-1 clients keep working.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from clinicnet.wire import ike

MAGIC = b"CNRF"
#: the newest version this codec speaks; requests without a delay are still sent as version 1
VERSION = 2
VERSION_1 = 1
VERSIONS = (1, 2)
#: the longest delay a version-2 request may ask for; a reflector caps larger ones (and may cap lower)
MAX_DELAY_MS = 180_000

#: private-use IKEv2 status notify type carrying the reflector message ("CN" 0xC14E)
NOTIFY_TYPE = 0xC14E

# message types inside the reflector body
T_REQUEST = 1
T_REPLY = 2
T_ESP_REQUEST = 3
T_ESP_REPLY = 4

# reply flags
F_FRAGMENTED = 0x0001  #: the request arrived as IP fragments (reassembled by the reflector's kernel)
F_CLAMPED = 0x0002  #: the requested reply size was cut down to the request's size
F_ESP_IN_UDP = 0x0004  #: an ESP echo that arrived (and is answered) inside UDP 4500
F_DELAYED = 0x0008  #: (v2) a delayed answer: held for ``delay_ms`` before it was sent
F_DELAY_CAPPED = 0x0010  #: (v2) the requested delay was cut down to the reflector's longest delay

# IKE header constants (RFC 7296 §3.1), shared with the IKE codec
IKE_HEADER = ike.HEADER
IKE_HEADER_LEN = ike.HEADER_LEN  # 28
IKE_VERSION_2 = 0x20
EXCHANGE_IKE_SA_INIT = 34
FLAG_INITIATOR = ike.FLAG_V2_INITIATOR
FLAG_RESPONSE = ike.FLAG_V2_RESPONSE
PAYLOAD_NOTIFY = 41
PAYLOAD_NONE = 0
#: generic payload header (4) + protocol id, SPI size, notify type (4)
NOTIFY_HEADER = struct.Struct("!BBHBBH")
NOTIFY_HEADER_LEN = NOTIFY_HEADER.size  # 8
#: RFC 3948: IKE on UDP 4500 starts with four zero octets; ESP starts with a non-zero SPI
NON_ESP_MARKER = ike.NON_ESP_MARKER
#: RFC 3948 §2.3: a NAT keepalive is the single octet 0xFF
NAT_KEEPALIVE = b"\xff"
#: IANA protocol number of ESP (Python's socket module does not export it everywhere)
IPPROTO_ESP = 50
ESP_HEADER = struct.Struct("!II")
ESP_HEADER_LEN = ESP_HEADER.size  # 8
#: SPIs 1-255 are reserved by IANA; probes use 256 and above
MIN_SPI = 256

#: magic, version, type, flags, reply_size, reserved
REQUEST_BODY = struct.Struct("!4sBBHHH")
REQUEST_BODY_LEN = REQUEST_BODY.size  # 12
#: (v2) appended to the request body: delay in milliseconds (0 = answer at once)
REQUEST_V2_TAIL = struct.Struct("!I")
REQUEST_BODY_V2_LEN = REQUEST_BODY_LEN + REQUEST_V2_TAIL.size  # 16
#: magic, version, type, flags, family, ttl, observed port, observed address (16),
#: received length, largest fragment, local port, reserved
REPLY_BODY = struct.Struct("!4sBBHBBH16sHHHH")
REPLY_BODY_LEN = REPLY_BODY.size  # 36
#: (v2) appended to the reply body: delay applied, time really held, the reflector's longest delay (ms)
REPLY_V2_TAIL = struct.Struct("!III")
REPLY_BODY_V2_LEN = REPLY_BODY_LEN + REPLY_V2_TAIL.size  # 48

#: smallest possible replies; a request must be at least this large to be answered
MIN_IKE_REPLY = IKE_HEADER_LEN + NOTIFY_HEADER_LEN + REPLY_BODY_LEN  # 72
MIN_IKE_REPLY_V2 = IKE_HEADER_LEN + NOTIFY_HEADER_LEN + REPLY_BODY_V2_LEN  # 84
MIN_ESP_REPLY = ESP_HEADER_LEN + REPLY_BODY_LEN  # 44
#: largest UDP payload over IPv4 (65535 - 20 - 8)
MAX_DATAGRAM = 65507

TRANSPORTS = ("ike500", "ike4500", "esp", "esp_udp")


def reply_budget(request_len: int, wanted: int, minimum: int) -> int | None:
    """Size of the reply to a request of ``request_len`` bytes asking for ``wanted``.

    This is the single anti-amplification rule: never more bytes out than came
    in. ``None`` means "do not answer" (the request is smaller than the smallest
    possible reply). Sizes are whole messages at the layer the reflector writes
    (UDP payload, or the ESP packet for raw ESP), the same layer as ``request_len``.
    """
    if request_len < minimum or request_len <= 0:
        return None
    return max(minimum, min(wanted, request_len, MAX_DATAGRAM))


@dataclass(frozen=True)
class Request:
    """A reflector request as the reflector parsed it."""

    transport: str  # one of TRANSPORTS
    token: bytes  # IKE SPIi (8 bytes) or ESP SPI+sequence (8 bytes)
    reply_size: int
    flags: int
    size: int  # length of the whole message as received
    version: int = VERSION_1
    #: (v2) answer after this many milliseconds, from the port the request came to (0 = at once)
    delay_ms: int = 0


@dataclass(frozen=True)
class Observation:
    """What the reflector saw of one request: the measurement it sends back."""

    address: str
    port: int
    received_len: int
    ttl: int = 0
    max_fragment: int = 0  # largest fragment size when the request came in pieces, else 0
    local_port: int = 0

    @property
    def fragmented(self) -> bool:
        return self.max_fragment > 0


@dataclass(frozen=True)
class Reply:
    """A reflector reply as the prober parsed it."""

    transport: str
    token: bytes
    flags: int
    observation: Observation
    size: int
    version: int = VERSION_1
    #: (v2) the delay the reflector applied (after its cap), the time it really held the
    #: request, and the longest delay it grants; all 0 in a version-1 reply
    delay_ms: int = 0
    waited_ms: int = 0
    max_delay_ms: int = 0

    @property
    def delayed(self) -> bool:
        return bool(self.flags & F_DELAYED)

    @property
    def delay_capped(self) -> bool:
        return bool(self.flags & F_DELAY_CAPPED)

    @property
    def fragmented_request(self) -> bool:
        return bool(self.flags & F_FRAGMENTED)

    @property
    def clamped(self) -> bool:
        return bool(self.flags & F_CLAMPED)


def _pad(body: bytes, total: int, head: int) -> bytes:
    return body + b"\x00" * max(0, total - head - len(body))


# ---------------------------------------------------------------------------
# IKE-shaped request/reply (UDP 500, and UDP 4500 behind the non-ESP marker)
# ---------------------------------------------------------------------------


def _ike(token: bytes, spi_r: bytes, flags: int, body: bytes, total: int) -> bytes:
    """IKEv2 header + one Notify payload whose data is ``body`` padded to ``total``."""
    notify_data = _pad(body, total, IKE_HEADER_LEN + NOTIFY_HEADER_LEN)
    notify_len = NOTIFY_HEADER_LEN + len(notify_data)
    length = IKE_HEADER_LEN + notify_len
    header = IKE_HEADER.pack(token, spi_r, PAYLOAD_NOTIFY, IKE_VERSION_2, EXCHANGE_IKE_SA_INIT, flags, 0, length)
    notify = NOTIFY_HEADER.pack(PAYLOAD_NONE, 0, notify_len, 0, 0, NOTIFY_TYPE)
    return header + notify + notify_data


def min_ike_reply(version: int) -> int:
    """The smallest reply (UDP payload, without the NAT-T marker) of a protocol version."""
    return MIN_IKE_REPLY_V2 if version >= 2 else MIN_IKE_REPLY


def build_request(token: bytes, *, size: int = 0, reply_size: int = 0, port4500: bool = False,
                  delay_ms: int | None = None) -> bytes:
    """An IKE_SA_INIT-shaped request of ``size`` bytes (UDP payload), at least the minimum.

    ``reply_size`` asks for an equally large reply (the fragment test); the
    reflector never sends more than ``size``. ``port4500`` prefixes the non-ESP marker.
    ``delay_ms`` (0 included) makes it a version-2 request: answered after that many
    milliseconds, and 12 bytes larger (the reply is). Without it the request is
    version 1, which every reflector understands.
    """
    if len(token) != 8 or token == bytes(8):
        raise ValueError("token must be 8 non-zero bytes")
    marker = NON_ESP_MARKER if port4500 else b""
    if delay_ms is None:
        size = max(size, MIN_IKE_REPLY + len(marker))
        body = REQUEST_BODY.pack(MAGIC, VERSION_1, T_REQUEST, 0, min(reply_size, 0xFFFF), 0)
    else:
        if not 0 <= delay_ms <= 0xFFFFFFFF:
            raise ValueError("delay_ms must fit 32 bits")
        size = max(size, MIN_IKE_REPLY_V2 + len(marker))
        body = REQUEST_BODY.pack(MAGIC, 2, T_REQUEST, 0, min(reply_size, 0xFFFF), 0) + REQUEST_V2_TAIL.pack(delay_ms)
    return marker + _ike(token, bytes(8), FLAG_INITIATOR, body, size - len(marker))


def _ike_body(data: bytes, want_flags: int) -> tuple[bytes, bytes, bytes] | None:
    """(token, spi_r, notify data) of a reflector IKE message, or None."""
    if len(data) < IKE_HEADER_LEN + NOTIFY_HEADER_LEN:
        return None
    spi_i, spi_r, np, ver, exch, flags, msgid, length = IKE_HEADER.unpack_from(data)
    if np != PAYLOAD_NOTIFY or ver != IKE_VERSION_2 or exch != EXCHANGE_IKE_SA_INIT or msgid != 0:
        return None
    if flags & (FLAG_INITIATOR | FLAG_RESPONSE) != want_flags or length != len(data):
        return None
    if spi_i == bytes(8):
        return None
    nnp, _crit, nlen, proto, spi_size, ntype = NOTIFY_HEADER.unpack_from(data, IKE_HEADER_LEN)
    if nnp != PAYLOAD_NONE or proto != 0 or spi_size != 0 or ntype != NOTIFY_TYPE:
        return None
    if nlen != len(data) - IKE_HEADER_LEN:
        return None
    return spi_i, spi_r, data[IKE_HEADER_LEN + NOTIFY_HEADER_LEN :]


def _strip_marker(data: bytes, port4500: bool) -> bytes | None:
    if not port4500:
        return data
    if data[:4] != NON_ESP_MARKER:
        return None
    return data[4:]


def parse_request(data: bytes, *, port4500: bool = False) -> Request | None:
    """The reflector's parser for UDP 500/4500 requests; None means malformed/foreign."""
    inner = _strip_marker(data, port4500)
    if inner is None:
        return None
    parts = _ike_body(inner, FLAG_INITIATOR)
    if parts is None:
        return None
    token, spi_r, body = parts
    if spi_r != bytes(8) or len(body) < REQUEST_BODY_LEN:
        return None
    magic, version, mtype, flags, reply_size, _ = REQUEST_BODY.unpack_from(body)
    if magic != MAGIC or version not in VERSIONS or mtype != T_REQUEST:
        return None
    delay_ms = 0
    if version >= 2:
        if len(body) < REQUEST_BODY_V2_LEN:
            return None
        (delay_ms,) = REQUEST_V2_TAIL.unpack_from(body, REQUEST_BODY_LEN)
    return Request("ike4500" if port4500 else "ike500", token, reply_size, flags, len(data), version, delay_ms)


def _addr_bytes(address: str) -> tuple[int, bytes]:
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return 4, ip.packed + bytes(12)
    return 6, ip.packed


def _reply_body(mtype: int, flags: int, obs: Observation, version: int = VERSION_1,
                tail: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    family, packed = _addr_bytes(obs.address)
    body = REPLY_BODY.pack(
        MAGIC, version, mtype, flags, family, min(obs.ttl, 255), obs.port & 0xFFFF, packed,
        min(obs.received_len, 0xFFFF), min(obs.max_fragment, 0xFFFF), obs.local_port & 0xFFFF, 0,
    )
    if version >= 2:
        body += REPLY_V2_TAIL.pack(*(min(max(0, v), 0xFFFFFFFF) for v in tail))
    return body


def _parse_reply_body(body: bytes, want_type: int) -> tuple[int, Observation, int, tuple[int, int, int]] | None:
    if len(body) < REPLY_BODY_LEN:
        return None
    (magic, version, mtype, flags, family, ttl, port, packed, received, frag, local_port, _) = (
        REPLY_BODY.unpack_from(body)
    )
    if magic != MAGIC or version not in VERSIONS or mtype != want_type:
        return None
    tail = (0, 0, 0)
    if version >= 2:
        if len(body) < REPLY_BODY_V2_LEN:
            return None
        tail = REPLY_V2_TAIL.unpack_from(body, REPLY_BODY_LEN)
    if family == 4:
        if packed[4:] != bytes(12):
            return None
        address = str(ipaddress.IPv4Address(packed[:4]))
    elif family == 6:
        address = str(ipaddress.IPv6Address(packed))
    else:
        return None
    return flags, Observation(address, port, received, ttl, frag, local_port), version, tail


def build_reply(req: Request, obs: Observation, spi_r: bytes = b"CNRFREPL", *, delay_ms: int = 0,
                waited_ms: int = 0, max_delay_ms: int = MAX_DELAY_MS) -> bytes | None:
    """The IKE_SA_INIT-response-shaped answer to ``req``; None when it must not be answered.

    The size comes from :func:`reply_budget` only. A version-2 request gets a
    version-2 reply carrying ``delay_ms`` (the delay applied: flagged as capped
    when below the request's), ``waited_ms`` and ``max_delay_ms``; a version-1
    request a version-1 reply, whatever the other arguments say.
    """
    port4500 = req.transport == "ike4500"
    marker = NON_ESP_MARKER if port4500 else b""
    size = reply_budget(req.size, req.reply_size, min_ike_reply(req.version) + len(marker))
    if size is None:
        return None
    flags = F_FRAGMENTED if obs.fragmented else 0
    if req.reply_size > size:
        flags |= F_CLAMPED
    version = VERSION if req.version >= 2 else VERSION_1
    if version >= 2 and req.delay_ms > 0:
        flags |= F_DELAYED
        if delay_ms < req.delay_ms:
            flags |= F_DELAY_CAPPED
    body = _reply_body(T_REPLY, flags, obs, version, (delay_ms, waited_ms, max_delay_ms))
    out = marker + _ike(req.token, spi_r, FLAG_RESPONSE, body, size - len(marker))
    assert len(out) <= req.size  # the invariant, checked where the bytes are made
    return out


def parse_reply(data: bytes, *, port4500: bool = False) -> Reply | None:
    """The prober's parser for reflector replies on UDP 500/4500."""
    inner = _strip_marker(data, port4500)
    if inner is None:
        return None
    parts = _ike_body(inner, FLAG_RESPONSE)
    if parts is None:
        return None
    token, _spi_r, body = parts
    parsed = _parse_reply_body(body, T_REPLY)
    if parsed is None:
        return None
    flags, obs, version, (delay_ms, waited_ms, max_delay_ms) = parsed
    return Reply("ike4500" if port4500 else "ike500", token, flags, obs, len(data), version, delay_ms, waited_ms,
                 max_delay_ms)


# ---------------------------------------------------------------------------
# ESP-shaped echo (IP protocol 50, and ESP-in-UDP on 4500)
# ---------------------------------------------------------------------------


def build_esp_request(spi: int, seq: int, *, size: int = 0) -> bytes:
    """An ESP packet (SPI, sequence, opaque payload) asking for an ESP echo."""
    if not MIN_SPI <= spi <= 0xFFFFFFFF or not 0 < seq <= 0xFFFFFFFF:
        raise ValueError("SPI must be >= 256 and the sequence number non-zero")
    size = max(size, MIN_ESP_REPLY)
    body = REQUEST_BODY.pack(MAGIC, VERSION_1, T_ESP_REQUEST, 0, 0, 0)
    return ESP_HEADER.pack(spi, seq) + _pad(body, size, ESP_HEADER_LEN)


def parse_esp_request(data: bytes, *, in_udp: bool = False) -> Request | None:
    """The reflector's parser for ESP probes (``data`` starts at the SPI)."""
    if len(data) < ESP_HEADER_LEN + REQUEST_BODY_LEN:
        return None
    spi, seq = ESP_HEADER.unpack_from(data)
    if spi < MIN_SPI or seq == 0:
        return None
    magic, version, mtype, flags, _reply_size, _ = REQUEST_BODY.unpack_from(data, ESP_HEADER_LEN)
    if magic != MAGIC or version != VERSION_1 or mtype != T_ESP_REQUEST:  # ESP echoes are version 1 only
        return None
    return Request("esp_udp" if in_udp else "esp", data[:ESP_HEADER_LEN], 0, flags, len(data))


def build_esp_reply(req: Request, obs: Observation) -> bytes | None:
    """The ESP echo: same SPI and sequence, the observation as payload, never larger."""
    size = reply_budget(req.size, req.size, MIN_ESP_REPLY)
    if size is None:
        return None
    flags = F_ESP_IN_UDP if req.transport == "esp_udp" else 0
    if obs.fragmented:
        flags |= F_FRAGMENTED
    out = req.token + _pad(_reply_body(T_ESP_REPLY, flags, obs), size, ESP_HEADER_LEN)
    assert len(out) <= req.size
    return out


def parse_esp_reply(data: bytes, *, in_udp: bool = False) -> Reply | None:
    """The prober's parser for ESP echoes (``data`` starts at the SPI)."""
    if len(data) < MIN_ESP_REPLY:
        return None
    spi, seq = ESP_HEADER.unpack_from(data)
    if spi < MIN_SPI or seq == 0:
        return None
    parsed = _parse_reply_body(data[ESP_HEADER_LEN:], T_ESP_REPLY)
    if parsed is None or parsed[2] != VERSION_1:
        return None
    flags, obs = parsed[0], parsed[1]
    return Reply("esp_udp" if in_udp else "esp", data[:ESP_HEADER_LEN], flags, obs, len(data))


def classify_4500(data: bytes) -> str:
    """What a datagram on UDP 4500 is by RFC 3948: ``ike``, ``keepalive`` or ``esp``."""
    if data == NAT_KEEPALIVE:
        return "keepalive"
    if len(data) >= 4 and data[:4] == NON_ESP_MARKER:
        return "ike"
    return "esp"


def ipv4_payload(packet: bytes) -> tuple[str, int, bytes] | None:
    """(source, TTL, payload) of a raw IPv4 packet as a raw socket returns it, or None."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl:
        return None
    return str(ipaddress.IPv4Address(packet[12:16])), packet[8], packet[ihl:]
