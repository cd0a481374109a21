"""The HTML report in a real browser: one file, no network, no console error, prints.

Clinic staff open the report by double-clicking it and print it for the vendor;
a renderer test on the HTML text cannot tell whether Chromium loads something
from outside, logs a CSP violation, or prints Japanese as empty boxes. This
test opens the report from ``sample_report()`` (realistic, with a planted
``<script>``) in headless Chromium over file://, then leaves screenshots and
PDFs in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clinicnet.reports import render_html
from tests.reports import factories as fx
from tests.reports.browser import Browser, chromium_path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"

CHROMIUM = chromium_path()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        msg = "chromium not installed (apt-get install --no-install-recommends chromium fonts-noto-cjk)"
        if os.environ.get("CLINICNET_LAB_REQUIRED") == "1":  # CI: a missing install step must show
            pytest.fail(msg)
        pytest.skip(msg)
    with Browser(CHROMIUM) as b:
        yield b

#: drawn twice on a canvas: if two different Japanese characters give the same
#: pixels, the browser drew the same "missing glyph" box for both (tofu)
TOFU_CHECK = """
(() => {
  const draw = (ch) => {
    const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
    g.fillStyle = '#000'; g.font = '48px ' + getComputedStyle(document.body).fontFamily;
    g.fillText(ch, 4, 52); return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
  };
  return draw('判') !== draw('定') && draw('判') !== draw('\\u{10FFFD}');
})()
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_report_in_chromium(browser, tmp_path, lang):
    html = render_html.render(fx.sample_report(), lang)
    page = tmp_path / f"report-{lang}.html"
    page.write_text(html, encoding="utf-8")
    url = page.as_uri()
    browser.open(url)

    # one file: the only request is the page itself (data: URIs are not requests)
    others = [u for u in browser.requests() if u != url and not u.startswith("data:")]
    assert others == [], others
    assert browser.problems() == []
    assert browser.evaluate("document.documentElement.lang") == lang
    text = browser.evaluate("document.body.innerText")
    assert ("判定" if lang == "ja" else "Verdict") in text
    assert fx.SCRIPT in text  # the planted <script> is shown as text, never run
    if lang == "ja":
        assert browser.evaluate(TOFU_CHECK) is True, (
            "Japanese renders as empty boxes: install a CJK font (apt-get install fonts-noto-cjk)")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(ARTIFACTS / f"report-{lang}.png")
    assert (ARTIFACTS / f"report-{lang}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    pdf = browser.pdf(ARTIFACTS / f"report-{lang}.pdf")
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 1
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2",
                        str(ARTIFACTS / f"report-{lang}.pdf"), str(ARTIFACTS / f"report-{lang}-pdf")],
                       check=True, timeout=60)
        assert list(ARTIFACTS.glob(f"report-{lang}-pdf-*.png"))


def _double_nat_4500_blocked() -> Any:
    from clinicnet.model import Finding, ProbeResult, Severity, Status, Verdict
    from clinicnet.reports.report import Report

    gw = "192.0.2.10"
    probes = (
        ProbeResult("ike", Status.FAILED, "", {"targets": [{
            "target": gw, "address": gw, "udp500": "answered", "udp4500": "silent",
            "nat": {"measured": True, "local_behind_nat": True},
            "attempts": [{"port": 500, "local_address": "192.168.10.10"}]}]}),
        ProbeResult("nat_layers", Status.OK, "", {
            "layers": [{"layer": 1, "address": "192.168.10.1"}, {"layer": 2, "address": "192.168.0.1"}],
            "modem_layer": {"layer": 2}, "cgn_addresses": []}),
        ProbeResult("esp", Status.OK, "", {"esp_passes": True, "observed_address": "198.51.100.2"}),
        ProbeResult("fragments", Status.OK, "", {"fragments_up_pass": True, "fragments_down_pass": True}),
    )
    findings = (Finding("ike.udp4500.blocked", Severity.ERROR, {}), Finding("nat.double", Severity.WARNING, {}))
    return Report(created_at="2026-12-02T09:00:00+0900", host={}, settings={"targets": [gw],
                  "reflectors": ["192.0.2.20"]}, verdict=Verdict.NOT_READY, findings=findings, unmeasured=(),
                  probes=probes)


PATH_CHECK = """
(() => {
  const svg = document.querySelector('#path svg.path');
  const box = svg.getBoundingClientRect();
  const ike4500 = svg.querySelector('g[data-protocol="IKE 4500"]');
  return {nat: svg.querySelectorAll('rect.node-nat').length, width: box.width, height: box.height,
          blocked: ike4500.getAttribute('class'), reaches: ike4500.getAttribute('data-reaches')};
})()
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_path_picture_in_chromium(browser, tmp_path, lang):
    """Double NAT drawn as two layers; the blocked UDP 4500 line stops after the clinic's edge."""
    page = tmp_path / f"path-{lang}.html"
    page.write_text(render_html.render(_double_nat_4500_blocked(), lang), encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.problems() == []
    got = browser.evaluate(PATH_CHECK)
    assert got["nat"] == 2 and got["width"] > 300 and got["height"] > 100, got
    assert got["blocked"] == "proto proto-blocked" and got["reaches"] == "2", got
    text = browser.evaluate("document.querySelector('#path').innerText")
    assert ("ケーブルモデム" if lang == "ja" else "Cable modem") in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(ARTIFACTS / f"path-{lang}.png")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_watch_report_in_chromium(browser, tmp_path, lang):
    from clinicnet.reports import render_watch

    t0 = 1_796_000_000.0
    rounds = [{"t": t0 + 5 * i, "signals": {"ike4500@gw": "down" if 3 <= i <= 5 else "up", "internet": "up",
                                            "pc_addresses": "192.168.10.10" if i < 8 else "192.168.10.77"}}
              for i in range(12)]
    data = {"schema": "clinicnet.watch/1", "every_s": 5, "rounds": rounds,
            "intermittent": [{"signal": "ike4500@gw", "outages": 1, "typical_s": 15, "longest_s": 15}]}
    page = tmp_path / f"watch-{lang}.html"
    page.write_text(render_watch.render_html(data, lang), encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.problems() == []
    reds = browser.evaluate("document.querySelectorAll('svg.timeline rect[data-value=\"down\"]').length")
    assert reds == 1
    text = browser.evaluate("document.body.innerText")
    assert "192.168.10.10 → 192.168.10.77" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(ARTIFACTS / f"watch-{lang}.png")
