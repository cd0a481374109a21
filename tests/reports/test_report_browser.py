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
