"""UPnP/SSDP/NAT-PMP parsers on hostile LAN input: refusals, never exceptions or hangs."""

from __future__ import annotations

import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicnet.wire import upnp

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GW = "192.168.10.1"

DESC = b"""<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>http://192.168.10.1:5000/</URLBase>
<device><friendlyName>R</friendlyName><modelName>M</modelName><serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl</controlURL>
</service></serviceList></device></root>"""
SOAP = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        b'<u:GetExternalIPAddressResponse xmlns:u="x"><NewExternalIPAddress>192.168.0.2</NewExternalIPAddress>'
        b"</u:GetExternalIPAddressResponse></s:Body></s:Envelope>")
SSDP = b"HTTP/1.1 200 OK\r\nST: x\r\nLOCATION: http://192.168.10.1:5000/d.xml\r\nSERVER: s\r\n\r\n"


def test_good_documents():
    d = upnp.parse_description(DESC, "http://192.168.10.1:5000/d.xml")
    assert d.error is None and d.control_url == "http://192.168.10.1:5000/ctl" and d.model_name == "M"
    assert upnp.parse_external_ip(SOAP).address == "192.168.0.2"
    r = upnp.parse_ssdp(SSDP)
    assert r is not None and r.location.endswith("/d.xml")
    pmp = upnp.parse_natpmp(struct.pack("!BBHI4s", 0, 128, 0, 5, bytes([100, 64, 0, 2])))
    assert pmp is not None and pmp.address == "100.64.0.2"


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 100 + b'">]><r>&a;</r>',
    b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://203.0.113.1/x.dtd"> %p;]><r/>',
    b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;"><!ENTITY l4 "&l3;&l3;&l3;&l3;&l3;&l3;">]><r>&l4;</r>',
    b"<r>" + b"<a>" * 100 + b"</a>" * 100 + b"</r>",
    b"<r>" + b"<a/>" * 5000 + b"</r>",
    b"x" * (upnp.MAX_XML + 1),
])
def test_hostile_documents_are_refused_quickly(doc):
    t0 = time.monotonic()
    d = upnp.parse_description(doc, "http://192.168.10.1/")
    assert d.error is not None and d.error.startswith(("refused", "not XML")), d
    assert upnp.parse_external_ip(doc).address is None
    assert time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("url,ok", [
    ("http://192.168.10.1:5000/x", True),
    ("http://192.168.10.1/x", True),
    ("https://192.168.10.1/x", False),
    ("http://192.168.10.2/x", False),
    ("http://evil.example/x", False),
    ("http://192.168.10.1@203.0.113.1/x", False),
    ("http://192.168.10.1:99999/x", False),
    ("file:///etc/passwd", False),
    ("http://[::1]/", False),
])
def test_urls_must_stay_on_the_gateway(url, ok):
    assert (upnp.url_on_host(url, GW) is not None) is ok


def test_bad_external_addresses():
    for text in (b"", b"not-an-ip", b"2001:db8::1", b"999.1.1.1"):
        doc = SOAP.replace(b"192.168.0.2", text)
        assert upnp.parse_external_ip(doc).address is None


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        b[pos % len(b)] = val
    return bytes(b[: max(0, len(b) - cut)])


mutations = st.tuples(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=8), st.integers(0, 50))


@FUZZ
@given(data=st.binary(max_size=800), m=mutations)
def test_parsers_never_raise(data, m):
    for doc in (data, _mutate(DESC, *m), _mutate(SOAP, *m)):
        upnp.parse_description(doc, "http://192.168.10.1/")
        upnp.parse_external_ip(doc)
    for pkt in (data, _mutate(SSDP, *m)):
        upnp.parse_ssdp(pkt)
    upnp.parse_natpmp(data)


@FUZZ
@given(url=st.text(max_size=80))
def test_url_check_never_raises(url):
    upnp.url_on_host(url, GW)
    upnp.url_on_host("http://" + url, GW)
