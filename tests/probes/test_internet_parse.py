import pytest

from clinicnet.probes.internet import parse_check


def test_parse_variants():
    c = parse_check("http://[2001:db8:203::80]/generate_204")
    assert (c.host, c.port, c.path, c.literal_family) == ("2001:db8:203::80", 80, "/generate_204", 6)
    c = parse_check("https://web.lab.test")
    assert (c.port, c.path, c.literal_family) == (443, "/", None)
    c = parse_check("tcp://203.0.113.80:443")
    assert (c.scheme, c.port, c.literal_family) == ("tcp", 443, 4)


@pytest.mark.parametrize("bad", ["", "web.lab.test", "ftp://x/", "http://", "tcp://x", "http://a..b/",
                                 "http://x:70000/"])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        parse_check(bad)


def test_clock_skew_from_date_header():
    from email.utils import formatdate

    from clinicnet.probes.internet import _clock, _clock_skew

    now = 1_800_000_000.0
    head = b"HTTP/1.1 204 No Content\r\nDate: " + formatdate(now - 3600, usegmt=True).encode() + b"\r\n"
    assert _clock_skew(head, received_at=now) == 3600.0
    assert _clock_skew(b"HTTP/1.1 200 OK\r\nServer: x\r\n", received_at=now) is None
    assert _clock_skew(b"HTTP/1.1 200 OK\r\nDate: yesterday-ish\r\n", received_at=now) is None
    checks = [{"url": u, "ipv4": {"clock_skew_s": s}, "ipv6": {}} for u, s in (("a", 1.0), ("b", 5000.0), ("c", 2.0))]
    assert _clock(checks) == {"clock_skew_s": 2.0, "clock_references": ["a", "b", "c"]}
