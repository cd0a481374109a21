"""Parsers for what the LAN gateway says about its own WAN side: SSDP (UPnP
discovery), the UPnP device description and GetExternalIPAddress SOAP answer,
and NAT-PMP (RFC 6886).

The gateway's WAN address is the cheapest evidence of double NAT: if the clinic
router reports a private WAN address, another NAT (typically the Wi-Fi cable
modem, G9) sits in front of it. But anything on the LAN can answer SSDP, so
everything here is hostile input: sizes are capped, the XML parser refuses DTDs
and entities (no billion laughs, no external entities; the same policy as
defusedxml, built on the stdlib's expat so there is no extra dependency), and
every function returns ``None`` or a result saying what was wrong instead of raising.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

MAX_SSDP = 8192
MAX_XML = 65536
MAX_ELEMENTS = 4000
MAX_DEPTH = 40
MAX_TEXT = 1024

SSDP_ADDR = "239.255.255.250"
SSDP_PORT = 1900
IGD_ST = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
WAN_SERVICES = (
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
)

NATPMP_PORT = 5351
NATPMP_REQUEST = b"\x00\x00"  # version 0, opcode 0: external address request
NATPMP_RESPONSE = struct.Struct("!BBHI4s")


def msearch(host: str, st: str = IGD_ST) -> bytes:
    """An SSDP M-SEARCH; ``host`` is the multicast group or, unicast, the gateway."""
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {host}:{SSDP_PORT}\r\n"
        'MAN: "ssdp:discover"\r\n'
        "MX: 1\r\n"
        f"ST: {st}\r\n"
        "USER-AGENT: clinicnet UPnP/1.1\r\n\r\n"
    ).encode("ascii")


@dataclass(frozen=True)
class SsdpResponse:
    location: str
    st: str
    server: str


def parse_ssdp(data: bytes) -> SsdpResponse | None:
    """A 200 answer to M-SEARCH with a LOCATION header, or None."""
    if not data or len(data) > MAX_SSDP:
        return None
    text = data.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    status = lines[0].split()
    if len(status) < 2 or not status[0].upper().startswith("HTTP/") or status[1] != "200":
        return None
    headers: dict[str, str] = {}
    for line in lines[1:60]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), v.strip()[:512])
    loc = headers.get("location", "")
    if not loc:
        return None
    return SsdpResponse(loc, headers.get("st", ""), headers.get("server", ""))


def url_on_host(url: str, host: str) -> str | None:
    """``url`` if it is plain http to exactly ``host`` (the default gateway), else None.

    A LAN device must not make the probe fetch from anywhere else (SSRF, or
    traffic leaving the LAN), so every URL it hands out is checked here.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or not parts.hostname:
        return None
    try:
        if ipaddress.ip_address(parts.hostname) != ipaddress.ip_address(host):
            return None
    except ValueError:
        return None
    if port is not None and not 0 < port < 65536:
        return None
    return url


# ---------------------------------------------------------------------------
# Hardened XML
# ---------------------------------------------------------------------------


class XmlRefused(ValueError):
    """The document uses a feature we refuse (DTD, entities) or exceeds a limit."""


@dataclass
class Node:
    """A minimal element: local name (namespace prefix dropped), text, children."""

    tag: str
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def iter(self, tag: str) -> list[Node]:
        out: list[Node] = []
        stack = [self]
        while stack:
            n = stack.pop()
            if n.tag == tag:
                out.append(n)
            stack.extend(reversed(n.children))
        return out

    def child_text(self, tag: str) -> str:
        for c in self.children:
            if c.tag == tag:
                return c.text.strip()
        return ""


def parse_xml(data: bytes) -> Node:
    """Parse ``data`` with expat, refusing DTDs, entity declarations and external entities.

    Raises :class:`XmlRefused` or ``expat.ExpatError``; callers catch both.
    """
    if len(data) > MAX_XML:
        raise XmlRefused("document too large")
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    root: list[Node] = []
    stack: list[Node] = []
    count = [0]

    def refuse(*_: object) -> None:
        raise XmlRefused("DTDs and entities are not accepted")

    def start(name: str, _attrs: dict[str, str]) -> None:
        count[0] += 1
        if count[0] > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise XmlRefused("document too large or too deep")
        node = Node(name.rsplit(":", 1)[-1])
        if stack:
            stack[-1].children.append(node)
        elif root:
            raise XmlRefused("more than one root element")
        else:
            root.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack and len(stack[-1].text) < MAX_TEXT:
            stack[-1].text += text[: MAX_TEXT - len(stack[-1].text)]

    for hook in ("StartDoctypeDeclHandler", "EntityDeclHandler", "UnparsedEntityDeclHandler",
                 "ExternalEntityRefHandler"):
        setattr(p, hook, refuse)
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.Parse(data, True)
    if not root:
        raise XmlRefused("no root element")
    return root[0]


# ---------------------------------------------------------------------------
# Device description and SOAP
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Description:
    friendly_name: str = ""
    manufacturer: str = ""
    model_name: str = ""
    model_description: str = ""
    service_type: str = ""
    control_url: str = ""  # absolute
    error: str | None = None

    def device(self) -> dict[str, str]:
        return {
            "friendly_name": self.friendly_name[:128],
            "manufacturer": self.manufacturer[:128],
            "model_name": self.model_name[:128],
            "model_description": self.model_description[:128],
        }


def parse_description(data: bytes, location: str) -> Description:
    """The root device's names and the WAN connection service's absolute control URL."""
    try:
        root = parse_xml(data)
    except XmlRefused as exc:
        return Description(error=f"refused: {exc}")
    except expat.ExpatError as exc:
        return Description(error=f"not XML: {expat.ErrorString(exc.code)}")
    devices = root.iter("device")
    top = devices[0] if devices else root
    base = root.child_text("URLBase") or location
    names = {
        "friendly_name": top.child_text("friendlyName"),
        "manufacturer": top.child_text("manufacturer"),
        "model_name": top.child_text("modelName"),
        "model_description": top.child_text("modelDescription"),
    }
    services = root.iter("service")
    for wanted in WAN_SERVICES:
        for svc in services:
            if svc.child_text("serviceType") == wanted:
                ctrl = svc.child_text("controlURL")
                if not ctrl:
                    continue
                try:
                    absolute = urljoin(base, ctrl)
                except ValueError:
                    continue
                return Description(**names, service_type=wanted, control_url=absolute)
    return Description(**names, error="no WANIPConnection or WANPPPConnection service")


def soap_request(service_type: str) -> bytes:
    return (
        '<?xml version="1.0"?>\r\n'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f'<s:Body><u:GetExternalIPAddress xmlns:u="{service_type}"></u:GetExternalIPAddress>'
        "</s:Body></s:Envelope>\r\n"
    ).encode("ascii")


@dataclass(frozen=True)
class ExternalIp:
    address: str | None
    error: str | None = None


def parse_external_ip(data: bytes) -> ExternalIp:
    """``NewExternalIPAddress`` from the SOAP answer, validated as an IPv4 address."""
    try:
        root = parse_xml(data)
    except XmlRefused as exc:
        return ExternalIp(None, f"refused: {exc}")
    except expat.ExpatError as exc:
        return ExternalIp(None, f"not XML: {expat.ErrorString(exc.code)}")
    hits = root.iter("NewExternalIPAddress")
    if not hits:
        fault = root.iter("errorDescription")
        return ExternalIp(None, f"fault: {fault[0].text.strip()[:100]}" if fault else "no NewExternalIPAddress")
    text = hits[0].text.strip()
    if not text:
        return ExternalIp(None, "empty address (WAN not connected)")
    try:
        ip = ipaddress.IPv4Address(text)
    except ValueError:
        return ExternalIp(None, "not an IPv4 address")
    return ExternalIp(str(ip))


@dataclass(frozen=True)
class NatPmp:
    result: int
    epoch: int
    address: str | None


def parse_natpmp(data: bytes) -> NatPmp | None:
    """RFC 6886 §3.2 external address response, or None when it is not one."""
    if len(data) < NATPMP_RESPONSE.size or len(data) > 1100:
        return None
    version, opcode, result, epoch, packed = NATPMP_RESPONSE.unpack_from(data)
    if version != 0 or opcode != 128:
        return None
    address = str(ipaddress.IPv4Address(packed)) if result == 0 else None
    return NatPmp(result, epoch, address)
