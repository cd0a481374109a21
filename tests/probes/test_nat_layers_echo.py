"""The Windows TTL trace of ``nat_layers`` (ICMP echo with a TTL through ``netpath.trace_hop``),
driven on Linux by a scripted network: which router answers which TTL, who stays silent, what
this PC's ICMP API does. The real calls run under Wine in tests/windows."""

from __future__ import annotations

import threading
import time

import pytest

from clinicnet.probes import nat_layers
from clinicnet.system import netpath

E = netpath.Echo
TARGET = "192.0.2.10"


def scripted(monkeypatch, answers, *, first_round_silent=()):
    """``answers``: ttl -> Echo; TTLs in ``first_round_silent`` time out on the first ask only."""
    asked: list[int] = []
    lock = threading.Lock()

    def trace_hop(target, ttl, timeout=1.0):
        assert target == TARGET and 0 < timeout <= 1.0
        with lock:
            asked.append(ttl)
            first = asked.count(ttl) == 1
        got = E("timeout", 11010) if first and ttl in first_round_silent else answers.get(
            ttl, E("reply", 0, TARGET, 1, 64))
        if got.kind == "timeout":
            time.sleep(min(timeout, 0.2))  # IcmpSendEcho2 waits out its timeout (shortened here)
        return got

    monkeypatch.setattr(netpath, "trace_hop", trace_hop)
    return asked


def test_double_nat_and_the_destination(monkeypatch):
    asked = scripted(monkeypatch, {1: E("ttl_expired", 11013, "192.168.10.1"),
                                   2: E("ttl_expired", 11013, "192.168.0.1"),
                                   3: E("ttl_expired", 11013, "198.51.100.1")})
    tr = nat_layers.trace_echo(TARGET, 2.0)
    assert [(h["ttl"], h["address"], h["kind"]) for h in tr["hops"]] == [
        (1, "192.168.10.1", "private"), (2, "192.168.0.1", "private"), (3, "198.51.100.1", "public"),
        (4, TARGET, "public")]
    assert tr["reached_at"] == 4 and tr["method"] == "icmp_echo" and "error" not in tr
    assert sorted(asked) == list(range(1, 9))  # one round: nothing below the public hop was silent
    layers = nat_layers.layers_from(tr["hops"], "192.168.10.1", None, None)
    assert layers["private_layers"] == 2 and layers["modem_layer"] is not None


def test_a_rate_limited_hop_is_asked_again(monkeypatch):
    asked = scripted(monkeypatch, {1: E("ttl_expired", 11013, "192.168.10.1"),
                                   2: E("ttl_expired", 11013, "100.64.0.1"),
                                   3: E("ttl_expired", 11013, "198.51.100.1")}, first_round_silent={2})
    tr = nat_layers.trace_echo(TARGET, 3.0)
    assert [h["kind"] for h in tr["hops"]][:3] == ["private", "cgn", "public"]
    assert asked.count(2) == 2 and asked.count(5) == 1
    assert nat_layers.layers_from(tr["hops"], None, None, None)["cgn"]


def test_ds_lite_aftr_hop(monkeypatch):
    scripted(monkeypatch, {1: E("ttl_expired", 11013, "192.168.10.1"), 2: E("ttl_expired", 11013, "192.0.0.1"),
                           3: E("ttl_expired", 11013, "203.0.113.1")})
    tr = nat_layers.trace_echo(TARGET, 2.0)
    assert nat_layers.layers_from(tr["hops"], "192.168.10.1", None, None)["ipv4_over_ipv6"]["detected"]


def test_silent_network_stays_silent_within_the_budget(monkeypatch):
    asked = scripted(monkeypatch, {t: E("timeout", 11010) for t in range(1, 9)})
    t0 = time.monotonic()
    tr = nat_layers.trace_echo(TARGET, 0.45)
    assert time.monotonic() - t0 < 0.45 + 0.3
    assert all(h["kind"] == "silent" for h in tr["hops"]) and tr["reached_at"] is None
    assert "error" not in tr and len(asked) == 8  # too little budget left for a second round


def test_a_local_api_failure_is_the_trace_error_not_a_silent_network(monkeypatch):
    def broken(target, ttl, timeout=1.0):
        raise OSError(5, "IcmpCreateFile failed with error 5")

    monkeypatch.setattr(netpath, "trace_hop", broken)
    tr = nat_layers.trace_echo(TARGET, 1.0)
    assert tr["hops"] == [] and "IcmpSendEcho2 failed on this PC" in tr["error"]


@pytest.mark.parametrize("budget", [0.0, 0.05])
def test_no_budget_no_echo(monkeypatch, budget):
    asked = scripted(monkeypatch, {})
    tr = nat_layers.trace_echo(TARGET, budget)
    assert asked == [] and tr["reached_at"] is None
