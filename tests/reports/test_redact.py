"""Redaction: nothing identifying survives, masks are consistent and keep the category."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from clinicnet.reports import render_html, render_markdown, render_text
from clinicnet.reports.redact import KEEP_ADDRESSES, Redactor, host_of, redact
from clinicnet.reports.report import Report
from tests.reports import factories as fx


@pytest.fixture(scope="module")
def redacted() -> Report:
    return redact(fx.sample_report())


def dumped(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False)


# --- nothing survives ----------------------------------------------------------------


@pytest.mark.parametrize("planted", fx.PLANTED)
def test_planted_value_is_gone_from_the_json(redacted: Report, planted: str) -> None:
    text = dumped(redacted)
    assert planted.lower() not in text.lower()


@pytest.mark.parametrize("planted", fx.PLANTED)
def test_planted_value_is_gone_from_every_rendering(redacted: Report, planted: str) -> None:
    for lang in ("ja", "en"):
        for out in (
            render_text.render(redacted, lang),
            render_markdown.render(redacted, lang),
            render_html.render(redacted, lang),
        ):
            assert planted.lower() not in out.lower()


def test_flag_set_and_original_untouched() -> None:
    original = fx.sample_report()
    before = original.dumps()
    r = redact(original)
    assert r.redacted is True
    assert original.redacted is False
    assert original.dumps() == before


def test_round_trips_through_json(redacted: Report) -> None:
    again = Report.loads(redacted.dumps())
    assert again.redacted is True
    assert again.to_json() == redacted.to_json()


# --- consistency and categories ------------------------------------------------------


def test_same_address_same_mask_everywhere() -> None:
    rd = Redactor.for_report(fx.sample_report())
    r = redact(fx.sample_report(), rd)
    mask = rd.mapping[fx.V4_ROUTER]
    routes = r.probe("routes")
    dns = r.probe("dns")
    assert routes is not None and dns is not None
    assert routes.values["default_v4"][0]["gateway"] == mask
    assert dns.values["resolvers"][0] == mask
    assert routes.reason == f"default route via {mask}"
    nat_double = next(f for f in r.findings if f.id == "nat.double")
    assert nat_double.evidence["hops"][0] == mask
    assert any(mask in u.why for u in r.unmeasured)


@pytest.mark.parametrize(
    ("original", "prefix"),
    [
        (fx.V4_PC, "<private-v4#"),
        (fx.V4_ROUTER, "<private-v4#"),
        (fx.V4_CGN, "<cgn-v4#"),
        (fx.V4_PUBLIC, "<public-v4#"),
        (fx.V4_TARGET, "<public-v4#"),
        (fx.V6_GLOBAL, "<v6-global#"),
        (fx.V6_ULA, "<v6-ula#"),
        (fx.V6_LL, "<v6-link-local#"),
        (fx.MAC_PC.lower().replace("-", ":"), "<mac#"),
        (fx.MAC_ROUTER, "<mac#"),
        (fx.HOSTNAME.lower(), "<host#"),
        (fx.TARGET_NAME, "<host#"),
    ],
)
def test_masks_keep_the_category(original: str, prefix: str) -> None:
    rd = Redactor.for_report(fx.sample_report())
    redact(fx.sample_report(), rd)
    assert rd.mapping[original].startswith(prefix)


def test_numbering_is_per_category_and_distinct() -> None:
    rd = Redactor()
    out = rd.text("10.0.0.1 10.0.0.2 10.0.0.1 198.51.100.1 100.64.0.1")
    assert out == "<private-v4#1> <private-v4#2> <private-v4#1> <public-v4#1> <cgn-v4#1>"


def test_a_shared_redactor_masks_a_log_like_the_report() -> None:
    """A support bundle redacts its log with the report's mapping."""
    report = fx.sample_report()
    rd = Redactor.for_report(report)
    r = redact(report, rd)
    log = f"2026-11-25 09:12:04 sent IKE_SA_INIT {fx.V4_PC}:500 -> {fx.V4_TARGET}:500 ({fx.TARGET_NAME})"
    out = rd.text(log)
    assert rd.mapping[fx.V4_PC] in out and rd.mapping[fx.V4_TARGET] in out and rd.mapping[fx.TARGET_NAME] in out
    ike = r.probe("ike")
    assert ike is not None and rd.mapping[fx.V4_TARGET] in ike.reason


def test_the_pcs_own_name_is_masked_inside_a_longer_name() -> None:
    r = redact(fx.sample_report())
    note = r.extra["note"]
    assert fx.HOSTNAME not in note and fx.CLINIC_DOMAIN not in note
    assert r.host["hostname"].startswith("<host#")


# --- formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from 192.168.1.5:4500 to 203.0.113.9:500", "from <private-v4#1>:4500 to <public-v4#1>:500"),
        ("http://192.168.1.5:2869/desc.xml", "http://<private-v4#1>:2869/desc.xml"),
        ("net 192.168.1.0/24", "net <private-v4#1>/24"),
        ("https://[2001:db8::5]:443/x", "https://[<v6-global#1>]:443/x"),
        ("fe80::1%eth0 gw", "<v6-link-local#1>%eth0 gw"),
        ("prefix fd00:1::/64", "prefix <v6-ula#1>/64"),
        ("mapped ::ffff:10.1.2.3", "mapped ::ffff:<private-v4#1>"),
        ("error: fe80::2: unreachable", "error: <v6-link-local#1>: unreachable"),
        ("link 169.254.3.4", "link <link-local-v4#1>"),
        ("mac AA-BB-CC-00-11-22 = aa:bb:cc:00:11:22", "mac <mac#1> = <mac#1>"),
        ("hwaddr:aa:bb:cc:00:11:23", "hwaddr:<mac#1>"),
        ("gw.tanaka-clinic.jp answered", "<host#1> answered"),
        ("mail user@tanaka-clinic.co.jp", "mail user@<host#1>"),
        ("C:\\Users\\tanaka\\AppData\\clinicnet.log", "C:\\Users\\<user#1>\\AppData\\clinicnet.log"),
        ("PC DESKTOP-7K3J9QX", "PC <host#1>"),
    ],
)
def test_formats(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "strongSwan 5.9.8, python 3.11.7, version 1.2.3",
        "Windows 10.0.19045.4291",
        "version 10.0.0.1",
        "at 12:34:56 on 2026-11-25T09:12:03+0900",
        "vendor id 4048b7d56ebce88525e7de7f00d6c2d3",
        "spi 0xc3a1f00d cookie 9a3f0c2d4e5b6a71",
        "hex 12:34:56:78:9a:bc:de:f0",
        "finding ike.udp500.blocked from clinicnet.probes.ike (render_text.py, os.name)",
        "loopback 127.0.0.1 ::1, any 0.0.0.0 and ::, multicast 239.255.255.250 ff02::1",
        "resolvers 8.8.8.8 1.1.1.1 2001:4860:4860::8888",
        "check http://www.msftconnecttest.com/connecttest.txt and connectivitycheck.gstatic.com",
        "broadcast ff:ff:ff:ff:ff:ff",
        "1.2.3.4.5 and 300.1.1.1",
        "DS-Lite B4 192.0.0.2",
        "netmask 255.255.255.0, /30 is 255.255.255.252",
        "<private-v4#1> <host#2> <v6-global#3> <mac#4>",
    ],
)
def test_left_alone(text: str) -> None:
    rd = Redactor()
    assert rd.text(text) == text
    assert rd.mapping == {}


def test_vendor_ids_and_spis_in_values_untouched(redacted: Report) -> None:
    ike = redacted.probe("ike")
    assert ike is not None
    target = ike.values["targets"][0]
    assert target["vendor_ids"] == [fx.VENDOR_ID]
    assert target["responder_spi"] == fx.SPI
    assert target["detail"].endswith("at 09:12:04")


def test_version_keys_keep_dotted_numbers() -> None:
    rd = Redactor()
    out = rd.value({"os_version": "10.0.0.1", "ntp_version": "4.2.8.1", "gateway": "10.0.0.1"})
    assert out == {"os_version": "10.0.0.1", "ntp_version": "4.2.8.1", "gateway": "<private-v4#1>"}


def test_keys_that_name_things_are_masked_whole() -> None:
    rd = Redactor()
    out = rd.value({"ssid": "TanakaClinic-5G", "hostname": "uketsuke", "user": "tanaka", "kind": "wifi"})
    assert out == {"ssid": "<ssid#1>", "hostname": "<host#1>", "user": "<user#1>", "kind": "wifi"}


def test_dict_keys_are_masked_too() -> None:
    rd = Redactor(["gw.example-iryo.net"])
    out = rd.value({"http://192.168.1.1/": {"ipv4": "timeout"}, "gw.example-iryo.net": "nxdomain"})
    assert out == {"http://<private-v4#1>/": {"ipv4": "timeout"}, "<host#1>": "nxdomain"}


def test_settings_names_are_registered_even_without_a_known_tld() -> None:
    report = fx.sample_report(settings={"targets": ["vpngw.iryo-net.example-cloud"], "reflectors": ["refl01:7"]})
    rd = Redactor.for_report(report)
    out = rd.text("IKE to vpngw.iryo-net.example-cloud and refl01 failed")
    assert out == "IKE to <host#1> and <host#2> failed"


@pytest.mark.parametrize(
    ("entry", "host"),
    [
        ("vpn.example.jp", "vpn.example.jp"),
        ("vpn.example.jp:500", "vpn.example.jp"),
        ("https://www.Example.jp:8443/x", "www.example.jp"),
        ("tcp://203.0.113.5:443", None),
        ("[2001:db8::1]:500", None),
        ("2001:db8::1", None),
        ("", None),
    ],
)
def test_host_of(entry: str, host: str | None) -> None:
    assert host_of(entry) == host


# --- idempotence ---------------------------------------------------------------------


def test_redacting_twice_changes_nothing(redacted: Report) -> None:
    assert redact(redacted).to_json() == redacted.to_json()


def test_text_is_idempotent_with_one_redactor() -> None:
    rd = Redactor(["uketsuke-pc01"])
    s = f"{fx.V4_PC} {fx.V6_GLOBAL} {fx.MAC_PC} uketsuke-pc01 64:ff9b::c000:221 ::ffff:10.0.0.1"
    once = rd.text(s)
    assert rd.text(once) == once


# --- properties ------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_any_ipv4_is_masked_or_deliberately_kept(n: int) -> None:
    ip = ipaddress.IPv4Address(n)
    rd = Redactor()
    out = rd.text(f"addr {ip}:500 end")
    if str(ip) in out:
        assert rd.mapping == {}, "kept addresses get no mask"
        inverted = ~n & 0xFFFFFFFF
        netmask = n != 0 and inverted & (inverted + 1) == 0
        assert (
            ip.is_loopback
            or ip.is_multicast
            or n == 0
            or netmask
            or ip in ipaddress.IPv4Network("192.0.0.0/24")
            or str(ip) in KEEP_ADDRESSES
        )
    else:
        assert rd.text(out) == out


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_any_unicast_ipv6_is_masked(n: int) -> None:
    ip = ipaddress.IPv6Address(n)
    assume(not (ip.is_loopback or ip.is_unspecified or ip.is_multicast))
    s = str(ip)
    assume(not ("::" not in s and all(len(g) == 2 for g in s.split(":"))))  # a hex-byte dump
    rd = Redactor()
    out = rd.text(f"peer [{s}]:4500, again {s}.")
    if ip.ipv4_mapped is None and ip not in ipaddress.IPv6Network("64:ff9b::/96"):
        assert s not in out
    assert rd.text(out) == out


# --- linear time -------------------------------------------------------------------------

_PIECES = ("version", "Ver.", "build", "rev", " ", "  ", "\n", "\t", "\u3000", ":", "=", "::", "ff:", "aa-", "x",
           "1.2.3.4", "10.0.0.1", "fe80::1", "aa:bb:cc:dd:ee:ff", "12", ".")


@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_windowed_look_behinds_answer_as_the_whole_prefix_search(pieces: list[str]) -> None:
    """The checks before each candidate look at a short window: same answer as searching all before it."""
    from clinicnet.reports import redact as R

    s = "".join(pieces)
    for start in range(len(s) + 1):
        assert R._hex_run_before(s, start) == bool(R._HEX_RUN_BEFORE_RE.search(s, 0, start))
        assert R._version_before(s, start) == bool(R._VERSION_BEFORE_RE.search(s, 0, start))


def test_a_big_text_of_addresses_is_redacted_in_linear_time() -> None:
    """512 KB of addresses in well under 30 s (the whole-prefix search took 14 s for 64 KB: ~15 min here).

    In a child process, so that a quadratic regression fails at the deadline instead of running on.
    """
    import subprocess
    import sys

    code = """if True:
        import time
        from clinicnet.reports.redact import Redactor
        parts = []
        for i in range(16384):
            a, b = divmod(i, 256)
            parts.append(f"10.1.{a}.{b} fe80::{i:x} 02:00:00:00:{a:02x}:{b:02x} version 1.2.3.{b} pc{i}.example.jp")
        text = "\\n".join(parts)
        assert len(text) > 2**19
        rd = Redactor()
        t0 = time.perf_counter()
        out = rd.text(text)
        elapsed = time.perf_counter() - t0
        assert "10.1." not in out and "fe80::" not in out and "example.jp" not in out
        assert out.count("version 1.2.3.") == 16384
        assert rd.mapping["10.1.63.255"] == "<private-v4#16384>"
        print(f"{elapsed:.2f}")
    """
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
