"""Windows datagram-socket semantics (``_windows``' udp/icmp seam), on Linux with stand-in sockets.

What is pinned: WSAECONNRESET on a UDP receive is the ICMP port unreachable it stands for (and
``icmp_read`` hands it to the probe that owns the socket, once); the don't-fragment policy asks
for IP_PMTUDISC_PROBE first and falls back to IP_DONTFRAGMENT when a stack refuses it or accepts
it without honouring it (Wine); SO_EXCLUSIVEADDRUSE is set before bind; the path MTU comes from
IP_MTU, else from the adapter that routes to the peer.
"""

from __future__ import annotations

import errno
import socket

import pytest

from clinicnet.system import _windows, icmp, netpath


class FakeSocket:
    """Records socket options; ``accept``: which (level, option) it takes, ``honour``: which it keeps."""

    def __init__(self, accept=(), honour=(), recv_error: OSError | None = None, mtu=None, peer="192.0.2.10"):
        self.accept, self.honour, self.recv_error, self.mtu, self.peer = set(accept), set(honour), recv_error, mtu, peer
        self.calls: list[tuple] = []
        self.opts: dict[tuple[int, int], int] = {}

    def setsockopt(self, level, opt, value):
        self.calls.append(("set", opt, value))
        if (level, opt) not in self.accept:
            raise OSError(10042, "WSAENOPROTOOPT")
        if (level, opt) in self.honour:
            self.opts[(level, opt)] = value

    def getsockopt(self, level, opt):
        if opt == _windows.IP_MTU:
            if self.mtu is None:
                raise OSError(10042, "WSAENOPROTOOPT")
            return self.mtu
        return self.opts.get((level, opt), 0)

    def bind(self, address):
        self.calls.append(("bind", address))

    def recv(self, size):
        if self.recv_error is not None:
            raise self.recv_error
        return b"x"

    def getpeername(self):
        return (self.peer, 500)


IP = socket.IPPROTO_IP


def test_wsaeconnreset_is_a_port_unreachable_every_caller_recognises():
    got = _windows.icmp_from_errno(_windows.WSAECONNRESET)
    assert got is not None and got.outcome == icmp.PORT
    assert got.port_unreachable and got.unreachable and not got.time_exceeded
    assert _windows.icmp_from_errno(errno.EAGAIN) is None
    # the portable fallback alone would not make it an ICMP (no type): the platform mapping does
    plain = icmp.from_errno(_windows.WSAECONNRESET)
    assert plain is not None and not plain.port_unreachable


def test_a_receive_that_drew_wsaeconnreset_leaves_the_icmp_for_icmp_read_once():
    sock = FakeSocket(recv_error=ConnectionResetError(_windows.WSAECONNRESET, "reset"))
    with pytest.raises(ConnectionResetError):
        _windows.udp_receive(sock, 2048)  # type: ignore[arg-type]
    assert [e.outcome for e in _windows.icmp_read(sock, 16)] == [icmp.PORT]  # type: ignore[arg-type]
    assert _windows.icmp_read(sock, 16) == []  # type: ignore[arg-type]
    other = FakeSocket(recv_error=BlockingIOError(errno.EAGAIN, "would block"))
    with pytest.raises(BlockingIOError):
        _windows.udp_receive(other, 2048)  # type: ignore[arg-type]
    assert _windows.icmp_read(other, 16) == []  # type: ignore[arg-type]


def test_dont_fragment_prefers_pmtudisc_probe_where_windows_honours_it():
    sock = FakeSocket(accept={(IP, 71), (IP, 14)}, honour={(IP, 71)})
    assert _windows.udp_fragment_policy(sock, "probe")  # type: ignore[arg-type]
    assert sock.calls == [("set", 71, _windows.IP_PMTUDISC_PROBE)]
    sock = FakeSocket(accept={(IP, 71), (IP, 14)}, honour={(IP, 71)})
    assert _windows.udp_fragment_policy(sock, "fragment")  # type: ignore[arg-type]
    assert sock.calls == [("set", 71, _windows.IP_PMTUDISC_DONT)]


def test_dont_fragment_falls_back_to_ip_dontfragment():
    refused = FakeSocket(accept={(IP, 14)})  # before Windows 10 1703, and Wine: WSAENOPROTOOPT
    assert _windows.udp_fragment_policy(refused, "probe")  # type: ignore[arg-type]
    assert refused.calls[-1] == ("set", 14, 1)
    ignored = FakeSocket(accept={(IP, 71), (IP, 14)})  # accepted, read back as not set
    assert _windows.udp_fragment_policy(ignored, "probe")  # type: ignore[arg-type]
    assert ignored.calls[-1] == ("set", 14, 1)
    assert _windows.udp_fragment_policy(FakeSocket(accept={(IP, 14)}), "fragment")  # type: ignore[arg-type]
    assert not _windows.udp_fragment_policy(FakeSocket(), "probe")  # type: ignore[arg-type]


def test_exclusive_bind_sets_the_option_before_binding():
    sock = FakeSocket(accept={(socket.SOL_SOCKET, _windows.SO_EXCLUSIVEADDRUSE)})
    _windows.udp_bind_exclusive(sock, ("0.0.0.0", 500))  # type: ignore[arg-type]
    assert sock.calls == [("set", ~4, 1), ("bind", ("0.0.0.0", 500))]


def test_path_mtu_from_ip_mtu_else_the_routing_adapter(monkeypatch):
    assert _windows.udp_path_mtu(FakeSocket(mtu=1460)) == 1460  # type: ignore[arg-type]
    adapter = netpath.Adapter(index=7, name="イーサネット", description="", if_type=6, tunnel_type="none", mtu=1454,
                              up=True, tunnel=None)
    asked = []
    monkeypatch.setattr(netpath, "best_interface", lambda t: asked.append(t) or adapter)
    assert _windows.udp_path_mtu(FakeSocket()) == 1454  # type: ignore[arg-type]
    assert asked == ["192.0.2.10"]
    monkeypatch.setattr(netpath, "best_interface", lambda t: None)
    assert _windows.udp_path_mtu(FakeSocket()) is None  # type: ignore[arg-type]


def test_linux_bind_exclusive_refuses_a_port_in_use():
    from clinicnet.system import udp

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        udp.bind_exclusive(a, ("127.0.0.1", 0))
        with pytest.raises(OSError) as exc:
            udp.bind_exclusive(b, a.getsockname())
        assert exc.value.errno == errno.EADDRINUSE


def test_an_administrator_without_npcap_gets_esp_through_a_winsock_raw_socket():
    opened = []

    class Raw:
        def __init__(self, family, kind, proto):
            opened.append((family, kind, proto))

        def close(self):
            pass

    ok = _windows.raw_esp_socket(Raw)
    assert ok[0] and opened == [(socket.AF_INET, socket.SOCK_RAW, 50)]
    no_npcap = (False, "Npcap is not installed; ESP and fragment probes need it on Windows")
    got = _windows.raw_state_without_npcap(True, no_npcap, ok)
    assert got[0] and "winsock raw sockets" in got[1] and "Npcap" in got[1]


def test_a_refused_raw_socket_keeps_esp_unmeasured_and_says_why():
    def refused(*args):
        raise OSError(10043, "WSAEPROTONOSUPPORT")  # what Wine 8 answers

    raw = _windows.raw_esp_socket(refused)
    assert raw == (False, "winsock refused a raw ESP socket (10043)")
    no_npcap = (False, "Npcap is not installed; ESP and fragment probes need it on Windows")
    ok, why = _windows.raw_state_without_npcap(True, no_npcap, raw)
    assert not ok and "npcap" in why.lower() and "10043" in why
    # not an administrator: the socket is not even tried, the advice is both things
    ok, why = _windows.raw_state_without_npcap(False, no_npcap, (False, ""))
    assert not ok and "administrator" in why
    # Npcap present: unchanged
    assert _windows.raw_state_without_npcap(True, (True, "Npcap is installed"), (False, "")) == (
        True, "administrator; Npcap is installed")


def test_after_error_on_windows_turns_wsaeconnreset_into_a_port_unreachable(monkeypatch):
    """``icmp.after_error`` with the Windows module behind it: what every UDP caller gets."""
    monkeypatch.setattr(icmp, "_impl", _windows)
    sock = FakeSocket()
    exc = ConnectionResetError(_windows.WSAECONNRESET, "An existing connection was forcibly closed")
    got = icmp.after_error(sock, exc)  # type: ignore[arg-type]
    assert got is not None and got.port_unreachable and got.unreachable
    # a receive that drew it first: the kept record is what after_error returns, once
    sock = FakeSocket(recv_error=exc)
    with pytest.raises(ConnectionResetError):
        _windows.udp_receive(sock, 2048)  # type: ignore[arg-type]
    assert icmp.read_queue(sock).port_unreachable  # type: ignore[arg-type, union-attr]
    assert icmp.read_queue(sock) is None  # type: ignore[arg-type]
    # a local error stays what it is: no ICMP invented
    assert icmp.after_error(FakeSocket(), OSError(10055, "WSAENOBUFS")) is None  # type: ignore[arg-type]
