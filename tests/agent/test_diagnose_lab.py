"""``clinicnet diagnose`` end to end in the namespace lab (issue: the spine's scenarios).

Each scenario builds a real network (veth, nftables NAT, dnsmasq, a web server,
strongSwan as the VPN gateway), runs clinicnet as a subprocess on the clinic PC
and asserts the verdict and the finding ids of its JSON report.
"""

from __future__ import annotations

import pytest

from clinicnet import SCHEMA
from tests.lab import addresses as A
from tests.lab.reports import findings, probe_result
from tests.lab.strongswan import start_charon

pytestmark = pytest.mark.lab


def with_gateway(lab):  # type: ignore[no-untyped-def]
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    return lab


def test_all_good_single_nat(make_lab):
    lab = with_gateway(make_lab(nat_layers=1))
    report = lab.diagnose()
    assert report["schema"] == SCHEMA
    for key in ("clinicnet_version", "created_at", "host", "verdict", "findings", "probes"):
        assert key in report
    assert report["verdict"] == "ready", report["findings"]
    assert set(findings(report)) == {"nat.present"}
    statuses = {p["name"]: (p["status"], p["reason"]) for p in report["probes"]}
    for name in ("privileges", "interfaces", "routes", "vpn", "dns", "internet", "ike"):
        assert statuses[name][0] == "ok", statuses
    # the reflector's probes say why they did not run instead of guessing
    for name in ("esp", "nat_mapping", "fragments"):
        assert statuses[name][0] == "skipped" and "reflector" in statuses[name][1], statuses
    assert probe_result(report, "internet")["values"]["ipv4_ok"] is True
    assert probe_result(report, "dns")["values"]["all_resolved"] is True
    assert lab.last_diagnose.returncode == 0


def test_ipv6_only_pc(make_lab):
    lab = with_gateway(make_lab(ipv4=False, ipv6=True))
    report = lab.diagnose()
    ids = set(findings(report))
    assert {"ipv4.missing", "ipv6.present"} <= ids
    assert report["verdict"] == "not_ready"
    inet = probe_result(report, "internet")["values"]
    assert inet["ipv6_ok"] is True and inet["ipv4_ok"] is False
    assert lab.last_diagnose.returncode == 3


def test_internet_down(make_lab):
    lab = with_gateway(make_lab(internet_down=True))
    report = lab.diagnose()
    ids = set(findings(report))
    assert "internet.down" in ids
    assert "dns.failed" not in ids  # no IP connectivity either: a line fault, not DNS
    assert "vpn.up_internet_down" not in ids
    assert report["verdict"] == "not_ready"


def test_dns_broken(make_lab):
    lab = with_gateway(make_lab(dns="down"))
    report = lab.diagnose()
    ids = set(findings(report))
    assert "dns.failed" in ids
    assert "internet.down" not in ids  # the IP-literal check answered
    assert report["verdict"] == "not_ready"
    assert probe_result(report, "internet")["values"]["ip_literal_ok"] is True


def test_vpn_up_internet_down_is_by_design(make_lab):
    lab = with_gateway(make_lab(vpn_up=True))
    report = lab.diagnose()
    ids = set(findings(report))
    assert "vpn.up_internet_down" in ids
    assert not ids & {"internet.down", "dns.failed"}
    vpn = probe_result(report, "vpn")["values"]
    assert vpn["vpn_up"] is True and vpn["default_via_tunnel"] is True
    assert report["verdict"] == "ready"


def test_html_and_markdown_files_and_redaction(make_lab, tmp_path):
    lab = with_gateway(make_lab(nat_layers=1))
    html = lab.tmpdir / "r.html"
    md = lab.tmpdir / "r.md"
    report = lab.diagnose(["--redact", "--html", str(html), "--markdown", str(md)])
    assert report["redacted"] is True
    text = html.read_text(encoding="utf-8") + md.read_text(encoding="utf-8")
    import json

    dumped = json.dumps(report)
    for addr in (A.PC_V4, A.GATEWAY_V4, A.WEB_V4, A.PUBLIC_V4):
        assert addr not in dumped, addr
        assert addr not in text, addr
    assert text.lstrip().lower().startswith("<!doctype html") or "<html" in text


def test_clock_skew_against_the_web_servers_date(make_lab):
    lab = with_gateway(make_lab(nat_layers=1, web_clock_offset_s=-3600))
    report = lab.diagnose()
    found = {f["id"]: f for f in report["findings"]}
    assert "clock.skew" in found
    assert 3500 < found["clock.skew"]["evidence"]["skew_seconds"] < 3700  # the PC is an hour ahead
    assert report["verdict"] == "ready_with_warnings"


NTP_V4 = "203.0.113.123"


def _start_sntp(lab, *args: str) -> None:
    import sys

    from tests.lab.harness import LAB_DIR

    lab.run("isp", ["ip", "addr", "add", f"{NTP_V4}/32", "dev", "lo"])
    proc = lab.spawn("isp", [sys.executable, str(LAB_DIR / "sntpserver.py"), "--bind", NTP_V4, *args],
                     log_name="sntp.log")
    import time

    for _ in range(50):  # "ready" is printed once the socket is bound
        if "ready" in (lab.tmpdir / "sntp.log").read_text(encoding="utf-8", errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError("the lab SNTP server did not start")


def test_clock_skew_from_ntp_the_new_probe_end_to_end(make_lab):
    """--ntp-server (declared by the ntp probe itself) reaches the probe; its offset decides clock.skew."""
    lab = with_gateway(make_lab(nat_layers=1))
    _start_sntp(lab, "--offset", "900")
    report = lab.diagnose(["--ntp-server", NTP_V4])
    found = {f["id"]: f for f in report["findings"]}
    ev = found["clock.skew"]["evidence"]
    assert ev["source"] == "ntp" and -905 < ev["skew_seconds"] < -895  # the server is 15 min ahead
    assert abs(ev["http_date_skew_seconds"]) < 5  # the web server's clock agrees with the PC
    ntp = next(p for p in report["probes"] if p["name"] == "ntp")
    assert ntp["status"] == "ok" and ntp["values"]["servers"][0]["address"] == NTP_V4
    assert report["settings"]["ntp_servers"] == [NTP_V4]


def test_ntp_server_from_the_config_file_and_nothing_sent_without_one(make_lab):
    lab = with_gateway(make_lab(nat_layers=1))
    _start_sntp(lab)
    cfg = lab.tmpdir / "clinicnet.toml"
    cfg.write_text(f'[clinicnet]\nntp_servers = ["{NTP_V4}"]\n', encoding="utf-8")
    report = lab.diagnose(["--config", str(cfg)])
    ntp = next(p for p in report["probes"] if p["name"] == "ntp")
    assert ntp["status"] == "ok" and abs(ntp["values"]["clock_offset_s"]) < 1
    assert "clock.skew" not in {f["id"] for f in report["findings"]}
    plain = lab.diagnose()
    assert next(p for p in plain["probes"] if p["name"] == "ntp")["reason_code"] == "no_server"
    bad = lab.tmpdir / "bad.toml"
    bad.write_text('ntp_servers = ["256.1.1.1"]\n', encoding="utf-8")
    proc = lab.clinicnet(["diagnose", "--config", str(bad), "--quiet"])
    assert proc.returncode == 2 and "ntp_servers" in proc.stderr and "Traceback" not in proc.stderr
