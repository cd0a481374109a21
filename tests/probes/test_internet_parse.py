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
