"""HTTP/1.x responses from hosts clinicnet does not trust: connectivity-check servers
(whatever a captive portal or a proxy puts in their place) and the LAN gateway's UPnP
description and SOAP answers.

Every function is total: any bytes give a result or ``None``, never an exception, so one
malformed answer is a measurement of that answer and not a crashed probe (a status
``HTTP/1.1 ²`` passes ``str.isdigit`` and fails ``int``; a Date in the year 99999
overflows ``datetime``). Only ASCII digits count as digits here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: a head larger than this is not an answer worth reading
MAX_HEAD = 16384
_STATUS = re.compile(rb"HTTP/([0-9])\.([0-9])[ \t]+([1-9][0-9]{2})(?:[ \t]+(.*))?")
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?")


@dataclass(frozen=True)
class Head:
    status: int
    reason: str
    #: names lower-cased, values stripped, in the order received
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        want = name.lower()
        return next((v for k, v in self.headers if k == want), None)


def split(data: bytes) -> tuple[bytes, bytes] | None:
    """``(head, body)`` once the head is complete (blank line seen), else None."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")  # bare-LF servers exist
    return (head, body) if sep else None


def status_line(data: bytes) -> tuple[int, str] | None:
    """Status code and reason of the first line, or None if it is not an HTTP status line."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    m = _STATUS.fullmatch(line[:1024])
    if m is None:
        return None
    return int(m.group(3)), (m.group(4) or b"").decode("latin-1").strip()[:120]


def parse_head(head: bytes) -> Head | None:
    """The status line and header fields of ``head`` (as ``split`` gives it), or None."""
    first = status_line(head)
    if first is None:
        return None
    fields: list[tuple[str, str]] = []
    for raw in head[:MAX_HEAD].split(b"\n")[1:]:
        name, colon, value = raw.rstrip(b"\r").partition(b":")
        if not colon or not name or name != name.strip():
            continue  # obsolete line folding and junk lines are ignored, not fatal
        fields.append((name.decode("latin-1").lower(), value.decode("latin-1").strip()))
    return Head(first[0], first[1], tuple(fields))


def content_length(head: Head) -> int | None:
    value = head.get("content-length")
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def chunked(head: Head) -> bool:
    return "chunked" in (head.get("transfer-encoding") or "").lower()


def complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole response by its own framing (Content-Length or the
    last chunk): the reader can stop without waiting for the server to close."""
    parts = split(data)
    if parts is None:
        return False
    head = parse_head(parts[0])
    if head is None:
        return True  # not HTTP: reading more will not make it so
    if head.status in (204, 304) or 100 <= head.status < 200:
        return True
    if chunked(head):
        return dechunk(parts[1]) is not None
    length = content_length(head)
    return length is not None and len(parts[1]) >= length


def dechunk(body: bytes) -> bytes | None:
    """The payload of a chunked body, or None while it is incomplete or malformed."""
    out = bytearray()
    pos = 0
    while True:
        end = body.find(b"\n", pos)
        if end < 0:
            return None
        m = _CHUNK_SIZE.fullmatch(body[pos:end].rstrip(b"\r"))
        if m is None:
            return None
        size = int(m.group(1), 16)
        start = end + 1
        if size == 0:
            return bytes(out)
        if start + size > len(body):
            return None
        out += body[start:start + size]
        pos = start + size
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        elif body[pos:pos + 1] == b"\n":
            pos += 1
        else:
            return None


def body(head: Head, raw: bytes) -> bytes:
    """The body as the framing says (dechunked, cut at Content-Length); what arrived when
    the framing is broken."""
    if chunked(head):
        done = dechunk(raw)
        return raw if done is None else done
    length = content_length(head)
    return raw if length is None else raw[:length]


def date(head: Head) -> float | None:
    """The ``Date`` header as a POSIX timestamp, or None (missing, malformed, out of range,
    or without a zone)."""
    from email.utils import parsedate_to_datetime

    value = head.get("date")
    if value is None or len(value) > 64:
        return None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError, AttributeError):
        return None


__all__ = ["MAX_HEAD", "Head", "body", "chunked", "complete", "content_length", "date", "dechunk",
           "parse_head", "split", "status_line"]
