"""The ICMP seam: the type/code table, the kernel's extended error record, errno fallback, and what
the reflector probes ask of an error (time exceeded, fragmentation needed, which request it concerns)."""

from __future__ import annotations

import errno
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicnet.system import _linux, udp
from clinicnet.system import icmp as ie

FUZZ = settings(max_examples=400, deadline=None)


def _ext_err(data: bytes, offender: bytes, family: int = socket.AF_INET) -> ie.IcmpError | None:
    return _linux.parse_extended_err(data, offender)


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
    err = _ext_err(ee, _sockaddr_in("198.51.100.1"), socket.AF_INET)
    assert err == ie.IcmpError(ie.ADMIN, errno.EHOSTUNREACH, 3, 13, "198.51.100.1", "errqueue")
    assert err.unreachable and not err.port_unreachable and not err.time_exceeded and not err.frag_needed
    assert "198.51.100.1" in err.describe() and "type 3 code 13" in err.describe()
    assert err.to_json()["errno"] == "EHOSTUNREACH"


def test_parse_extended_err_icmp_v6_and_local() -> None:
    raw6 = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0, socket.inet_pton(socket.AF_INET6, "2001:db8::1"), 0)
    ee6 = struct.pack("=IBBBBII", errno.ECONNREFUSED, 3, 1, 4, 0, 0, 0)
    err6 = _ext_err(ee6, raw6, socket.AF_INET6)
    assert err6 is not None and err6.outcome == ie.PORT and err6.offender == "2001:db8::1"
    local = _ext_err(struct.pack("=IBBBBII", errno.EMSGSIZE, 1, 0, 0, 0, 1400, 0), b"", socket.AF_INET)
    assert local is not None and local.outcome == ie.LOCAL
    assert _ext_err(b"\x00" * 4, b"", socket.AF_INET) is None


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


def test_time_exceeded_and_frag_needed_with_next_hop_mtu() -> None:
    te = _ext_err(struct.pack("=IBBBBII", 113, 2, 11, 0, 0, 0, 0), _sockaddr_in("192.168.0.1"))
    assert te is not None and te.time_exceeded and not te.unreachable and te.offender == "192.168.0.1"
    fn = _ext_err(struct.pack("=IBBBBII", errno.EMSGSIZE, 2, 3, 4, 0, 1400, 0), _sockaddr_in("192.0.2.1"))
    assert fn is not None and fn.frag_needed and fn.unreachable and fn.info == 1400
    assert fn.to_json()["info"] == 1400 and fn.to_json()["from"] == "192.0.2.1"
    too_big = _ext_err(struct.pack("=IBBBBII", errno.EMSGSIZE, 3, 2, 0, 0, 1280, 0), b"")
    assert too_big is not None and too_big.frag_needed and too_big.v6 and not too_big.unreachable
    te6 = _ext_err(struct.pack("=IBBBBII", 113, 3, 3, 0, 0, 0, 0), b"")
    assert te6 is not None and te6.time_exceeded
    local = _ext_err(struct.pack("=IBBBBII", errno.EMSGSIZE, 1, 0, 0, 0, 1400, 0), b"")
    assert local is not None and not (local.frag_needed or local.unreachable or local.time_exceeded)


def test_an_error_concerns_the_datagram_that_caused_it() -> None:
    e = ie.IcmpError(ie.PORT, icmp_type=3, icmp_code=3, dest=("192.0.2.20", 500))
    assert e.concerns(("192.0.2.20", 500)) and not e.concerns(("192.0.2.20", 4500))
    assert not e.concerns(("192.0.2.21", 500))
    assert ie.IcmpError(ie.PORT).concerns(("198.51.100.1", 1))  # the OS did not say: anyone's


def test_this_os_says_what_it_can_measure() -> None:
    assert ie.errors_on_udp_socket is True  # the test bed is Linux
    from clinicnet.system import _windows

    assert _windows.ICMP_ERRORS_ON_UDP_SOCKET is False
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        assert _windows.icmp_enable(s) is False and _windows.icmp_read(s, 4) == []
        assert _windows.udp_path_mtu(s) is None


@FUZZ
@given(data=st.binary(max_size=64), offender=st.binary(max_size=40))
def test_error_queue_parser_never_raises(data: bytes, offender: bytes) -> None:
    _linux.parse_extended_err(data, offender)


@FUZZ
@given(anc=st.lists(st.tuples(st.sampled_from([0, 41, 1]), st.integers(0, 100), st.binary(max_size=40)),
                    max_size=5))
def test_ancillary_parser_never_raises(anc: list[tuple[int, int, bytes]]) -> None:
    udp.arrival(anc)


def test_ancillary_local_address_ttl_and_fragment() -> None:
    anc = [(0, _linux.IP_PKTINFO, struct.pack("=I4s4s", 2, socket.inet_aton("192.0.2.20"), socket.inet_aton("192.0.2.20"))),
           (0, _linux.IP_TTL, struct.pack("=i", 61)), (0, _linux.IP_RECVFRAGSIZE, struct.pack("=i", 1480))]
    assert udp.arrival(anc) == udp.Arrival("192.0.2.20", 61, 1480)
    assert udp.arrival([]) == udp.Arrival()


def test_loopback_fragments_are_reported_on_an_ordinary_udp_socket() -> None:
    """A 4000-byte datagram over loopback (MTU 65536) comes whole: fragment size 0; the option is accepted."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        assert udp.report_fragments(rx)
        assert udp.fragment_policy(tx, udp.FRAGMENT) and udp.fragment_policy(tx, udp.PROBE)
        tx.connect(rx.getsockname())
        assert (udp.path_mtu(tx) or 0) >= 1280
        tx.send(b"x" * 4000)
        rx.settimeout(2)
        data, anc, _f, _a = rx.recvmsg(65535, udp.ANCILLARY_SPACE)
        assert len(data) == 4000 and udp.arrival(anc).fragment == 0
