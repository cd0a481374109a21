"""ICMP classification: the type/code table, the kernel's extended error record, errno fallback."""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from clinicnet.system import icmp_errors as ie


@pytest.mark.parametrize(
    "family,itype,code,outcome",
    [
        (socket.AF_INET, 3, 3, ie.PORT),
        (socket.AF_INET, 3, 1, ie.HOST),
        (socket.AF_INET, 3, 0, ie.NET),
        (socket.AF_INET, 3, 13, ie.ADMIN),
        (socket.AF_INET, 3, 10, ie.ADMIN),
        (socket.AF_INET, 3, 9, ie.ADMIN),
        (socket.AF_INET, 3, 4, ie.OTHER),  # fragmentation needed
        (socket.AF_INET, 11, 0, ie.OTHER),  # TTL exceeded (routing loop)
        (socket.AF_INET6, 1, 4, ie.PORT),
        (socket.AF_INET6, 1, 3, ie.HOST),
        (socket.AF_INET6, 1, 0, ie.NET),
        (socket.AF_INET6, 1, 1, ie.ADMIN),
        (socket.AF_INET6, 2, 0, ie.OTHER),  # packet too big
    ],
)
def test_classify(family: int, itype: int, code: int, outcome: str) -> None:
    assert ie.classify(family, itype, code) == outcome


def _sockaddr_in(addr: str) -> bytes:
    return struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(addr))


def test_parse_extended_err_icmp_v4() -> None:
    ee = struct.pack("=IBBBBII", errno.EHOSTUNREACH, 2, 3, 13, 0, 0, 0)
    err = ie.parse_extended_err(ee, _sockaddr_in("198.51.100.1"), socket.AF_INET)
    assert err == ie.IcmpError(ie.ADMIN, errno.EHOSTUNREACH, 3, 13, "198.51.100.1", "errqueue")
    assert "198.51.100.1" in err.describe() and "type 3 code 13" in err.describe()
    assert err.to_json()["errno"] == "EHOSTUNREACH"


def test_parse_extended_err_icmp_v6_and_local() -> None:
    raw6 = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0, socket.inet_pton(socket.AF_INET6, "2001:db8::1"), 0)
    ee6 = struct.pack("=IBBBBII", errno.ECONNREFUSED, 3, 1, 4, 0, 0, 0)
    err6 = ie.parse_extended_err(ee6, raw6, socket.AF_INET6)
    assert err6 is not None and err6.outcome == ie.PORT and err6.offender == "2001:db8::1"
    local = ie.parse_extended_err(struct.pack("=IBBBBII", errno.EMSGSIZE, 1, 0, 0, 0, 1400, 0), b"", socket.AF_INET)
    assert local is not None and local.outcome == ie.LOCAL
    assert ie.parse_extended_err(b"\x00" * 4, b"", socket.AF_INET) is None


@pytest.mark.parametrize(
    "err,outcome",
    [
        (errno.ECONNREFUSED, ie.PORT),
        (10054, ie.PORT),  # WSAECONNRESET: Windows' port unreachable
        (errno.EHOSTUNREACH, ie.HOST),
        (errno.ENETUNREACH, ie.NET),
        (errno.EACCES, ie.ADMIN),
        (errno.EAGAIN, None),
        (None, None),
    ],
)
def test_errno_fallback(err: int | None, outcome: str | None) -> None:
    got = ie.from_errno(err)
    assert (got.outcome if got else None) == outcome


def test_loopback_port_unreachable_via_errqueue() -> None:
    """A closed port on loopback: the kernel's own ICMP, read through IP_RECVERR."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hold:
        hold.bind(("127.0.0.1", 0))
        port = hold.getsockname()[1]
    # the port is free again now; nothing listens there
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        enabled = ie.enable(s)
        s.settimeout(1)
        s.connect(("127.0.0.1", port))
        s.send(b"x")
        with pytest.raises(OSError) as info:
            s.recv(100)
        err = ie.after_error(s, info.value)
        assert err is not None and err.outcome == ie.PORT
        if enabled:
            assert err.source == "errqueue" and err.offender == "127.0.0.1" and (err.icmp_type, err.icmp_code) == (3, 3)
