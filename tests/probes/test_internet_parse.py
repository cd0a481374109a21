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


def _judge(head: bytes, now: float = 1_800_000_000.0, path: str = "/generate_204") -> dict:
    from clinicnet.probes.internet import judge_response

    return dict(judge_response(head + b"\r\n", parse_check(f"http://x{path}"), received_at=now))


def test_clock_skew_from_date_header():
    from email.utils import formatdate

    from clinicnet.probes.internet import _clock

    now = 1_800_000_000.0
    head = b"HTTP/1.1 204 No Content\r\nDate: " + formatdate(now - 3600, usegmt=True).encode() + b"\r\n"
    assert _judge(head, now)["clock_skew_s"] == 3600.0
    assert "clock_skew_s" not in _judge(b"HTTP/1.1 200 OK\r\nServer: x\r\n", now)
    assert "clock_skew_s" not in _judge(b"HTTP/1.1 200 OK\r\nDate: yesterday-ish\r\n", now)
    checks = [{"url": u, "ipv4": {"clock_skew_s": s}, "ipv6": {}} for u, s in (("a", 1.0), ("b", 5000.0), ("c", 2.0))]
    assert _clock(checks) == {"clock_skew_s": 2.0, "clock_references": ["a", "b", "c"]}


@pytest.mark.parametrize("line", ["HTTP/1.1 \u00b2", "HTTP/1.1 \xb2\xb2\xb2", "HTTP/1.1 2\u00b204 x", "HTTP/1.1 \u0662\u0660\u0664",
                                  "HTTP/1.1 99999999999999999999", "HTTP/1.1 -204", "HTTP/1.1 +204",
                                  "HTTP/1.1 20", "HTTP/1.1 004", "HTTPS/1.1 204", "HTTP/x 204", ""])
def test_a_status_line_that_is_not_three_ascii_digits_is_not_http(line):
    # "²" passes str.isdigit() and fails int(): it crashed the whole probe
    got = _judge(line.encode("utf-8" if "\xb2\xb2" not in line else "latin-1") + b"\r\n")
    assert got["http_status"] is None and got["detail"].startswith("not an HTTP response")


@pytest.mark.parametrize("date", ["Fri, 31 Dec 99999 23:59:59 GMT", "Fri, 31 Dec 9999999999999999999 23:59:59 GMT",
                                  "Sat, 01 Jan 10000 00:00:00 GMT", "Mon, 99 Foo 2024 99:99:99 +9999",
                                  "Thu, 01 Jan 1970 00:00:00 -2400", "\x00" * 10, "1" * 500])
def test_a_date_header_out_of_range_is_no_clock_reference(date):
    # a huge year raised OverflowError out of the probe
    got = _judge(b"HTTP/1.1 204 No Content\r\nDate: " + date.encode("latin-1") + b"\r\n")
    assert got["http_status"] == 204 and "clock_skew_s" not in got


def test_one_malformed_answer_does_not_take_down_the_probe(monkeypatch):
    """Two checks, one answering garbage, one fine: the probe is OK (reachable), not crashed."""
    import socket
    import threading
    import time

    from clinicnet.model import Status
    from clinicnet.probes import internet
    from clinicnet.probes.interface import ProbeContext

    # "\xb2" is "²" in Latin-1 (isdigit, not int); the year overflowed datetime
    answers = [b"HTTP/1.1 \xb2\r\n\r\n",
               b"HTTP/1.1 204 No Content\r\nDate: Fri, 31 Dec 9999999999999999999 23:59:59 GMT\r\n\r\n",
               b"HTTP/1.1 204 No Content\r\n\r\n"]
    servers = []
    for answer in answers:
        srv = socket.create_server(("127.0.0.1", 0))
        servers.append(srv)

        def serve(srv=srv, answer=answer):
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(4096)
                    conn.sendall(answer)

        threading.Thread(target=serve, daemon=True).start()
    checks = tuple(f"http://127.0.0.1:{s.getsockname()[1]}/generate_204" for s in servers)
    try:
        ctx = ProbeContext(internet_checks=checks, deadline=time.monotonic() + 2.0)
        result = internet.probe(ctx)
    finally:
        for s in servers:
            s.close()
    assert result.status is Status.OK, result
    states = [c["ipv4"]["state"] for c in result.values["checks"]]
    assert states == ["bad_response", "reachable", "reachable"]
