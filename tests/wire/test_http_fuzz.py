"""The HTTP response reader survives any input: no exception, bounded time, sane values.

Inputs are arbitrary bytes and mutations of real answers (the lab web server's, a
UPnP description, chunked ones): truncation, bit flips, insertions, and header
values drawn from the kinds that broke the old parser (non-ASCII digits, huge years).
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicnet.probes.internet import judge_response, parse_check
from clinicnet.wire import http

REAL = [
    b"HTTP/1.1 204 No Content\r\nServer: clinicnet-lab/1 Python/3.11\r\nDate: Wed, 02 Dec 2026 03:00:00 GMT\r\n"
    b"Connection: close\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nDate: Wed, 02 Dec 2026 03:00:00 GMT\r\n"
    b"\r\nMicrosoft Connect Test",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<?xml\r\n3;x=y\r\n ?>\r\n0\r\n\r\n",
    b"HTTP/1.0 302 Found\nLocation: http://portal.example/\n\n",
]
FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NASTY_VALUES = st.sampled_from([
    "\u00b2", "\u0662\u0660\u0664", "99999999999999999999", "-1", "Fri, 31 Dec 99999 23:59:59 GMT",
    "Sat, 01 Jan 10000 00:00:00 +9999", "Mon, 99 Foo 2024 99:99:99", "", " ", "0x10", "chunked", "1e9",
])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(REAL)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "header", "status"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[draw(st.integers(0, len(data))):]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(max_size=16))
        elif op == "header":
            name = draw(st.sampled_from(["Date", "Content-Length", "Transfer-Encoding", "X"]))
            line = f"{name}: {draw(NASTY_VALUES)}\r\n".encode()
            at = data.find(b"\r\n") + 2 if b"\r\n" in data else 0
            data[at:at] = line
        else:
            data[9:12] = draw(NASTY_VALUES).encode("utf-8")[:8]
    return bytes(data)


def _check(data: bytes) -> None:
    t0 = time.monotonic()
    parts = http.split(data)
    head = http.parse_head(parts[0] if parts else data)
    if head is not None:
        assert 100 <= head.status <= 999 and isinstance(head.status, int)
        http.body(head, parts[1] if parts else b"")
        when = http.date(head)
        assert when is None or isinstance(when, float)
        length = http.content_length(head)
        assert length is None or length >= 0
    http.status_line(data)
    http.complete(data)
    got = http.dechunk(data)
    assert got is None or len(got) <= len(data)
    for path in ("/generate_204", "/connecttest.txt", "/"):
        res = judge_response(data, parse_check(f"http://x{path}"), received_at=1.8e9)
        assert res.get("http_status") is None or 100 <= int(res["http_status"]) <= 999
    assert time.monotonic() - t0 < 1.0


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(mutated())
def test_mutated_real_answers(data: bytes) -> None:
    _check(data)


def test_real_answers_read_right() -> None:
    head = http.parse_head(http.split(REAL[1])[0])  # type: ignore[index]
    assert head is not None and head.status == 200 and http.content_length(head) == 22
    assert http.complete(REAL[1]) and not http.complete(REAL[1][:-1])
    chunked = http.split(REAL[2])
    assert chunked is not None and http.dechunk(chunked[1]) == b"<?xml ?>" and http.complete(REAL[2])
    assert not http.complete(REAL[2][:-7])
    assert http.status_line(REAL[3]) == (302, "Found")
    assert http.status_line(b"HTTP/1.1 \xc2\xb2 OK") is None
