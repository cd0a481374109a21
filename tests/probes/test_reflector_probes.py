"""The reflector probes without a network: skips, silence and deadlines (loopback only)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from clinicnet.model import Status
from clinicnet.netaddr import address_kind
from clinicnet.probes import esp, fragments, nat_layers, nat_mapping
from clinicnet.probes.interface import ProbeContext

PROBES = (esp, nat_mapping, fragments)


@pytest.mark.parametrize("mod", PROBES)
def test_skipped_without_a_reflector(mod):
    r = mod.probe(ProbeContext(privileged=True))
    assert r.status is Status.SKIPPED and "reflector" in r.reason


def test_esp_skip_reason_names_privileges():
    r = esp.probe(ProbeContext(reflectors=("127.0.0.1",), privileged=False, deadline=time.monotonic() + 0.5))
    assert r.status is Status.SKIPPED and "privileges" in r.reason


@pytest.fixture
def silent_port_500():
    """Something on 127.0.0.2:500/4500 that swallows every datagram: the reflector host is up but mute."""
    socks = []
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.2", port))
        except OSError as exc:
            pytest.skip(f"cannot bind 127.0.0.2:{port}: {exc}")
        socks.append(s)
    stop = threading.Event()

    def swallow():
        for s in socks:
            s.settimeout(0.05)
        while not stop.is_set():
            for s in socks:
                try:
                    s.recv(65535)
                except OSError:
                    pass

    t = threading.Thread(target=swallow, daemon=True)
    t.start()
    yield "127.0.0.2"
    stop.set()
    t.join(2)
    for s in socks:
        s.close()


@pytest.mark.parametrize("mod", PROBES)
def test_silent_reflector_is_an_error_within_the_deadline(mod, silent_port_500):
    t0 = time.monotonic()
    r = mod.probe(ProbeContext(reflectors=(silent_port_500,), privileged=True, raw_sockets=True,
                               deadline=t0 + 1.0))
    assert time.monotonic() - t0 < 1.3
    assert r.status is Status.ERROR, r
    assert "answer" in r.reason


def test_nat_layers_honours_the_deadline(silent_port_500, monkeypatch):
    # never ask the host's real gateway (UPnP/NAT-PMP): this test stays on loopback
    monkeypatch.setattr(nat_layers, "default_gateway", lambda: None)
    t0 = time.monotonic()
    r = nat_layers.probe(ProbeContext(reflectors=(silent_port_500,), deadline=t0 + 1.0))
    assert time.monotonic() - t0 < 1.5
    assert r.status is Status.ERROR, r


@pytest.mark.parametrize("address,kind", [
    ("192.168.1.1", "private"), ("10.0.0.1", "private"), ("172.31.0.1", "private"), ("100.64.0.1", "cgn"),
    ("100.127.255.254", "cgn"), ("100.128.0.1", "public"), ("198.51.100.1", "public"), ("192.0.2.20", "public"),
    ("8.8.8.8", "public"), ("nonsense", "invalid"),
    ("192.0.0.1", "dslite"), ("192.0.0.2", "dslite"), ("192.0.0.7", "dslite"), ("192.0.0.8", "public"),
])
def test_address_kinds(address, kind):
    assert address_kind(address) == kind
