"""The HTML report, parsed: structure, no external references, everything escaped."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from clinicnet.model import Finding, ProbeResult, Severity, Status, Verdict
from clinicnet.reports import i18n, render_html
from clinicnet.reports.redact import redact
from tests.reports import factories as fx

LANGS = ("ja", "en")
VOID = {"meta", "link", "br", "hr", "img", "input", "area", "base", "col", "embed", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def iter(self) -> list[Node]:
        out = [self]
        for c in self.children:
            out.extend(c.iter())
        return out


class Tree(HTMLParser):
    """A minimal DOM that also checks tags are balanced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root
        self.doctype: str | None = None
        self.errors: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, dict(attrs), self.cur))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.cur.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.cur.tag}>")
            return
        assert self.cur.parent is not None
        self.cur = self.cur.parent

    def handle_data(self, data: str) -> None:
        self.cur.text.append(data)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.root.iter()
            if (tag is None or n.tag == tag) and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def parse(html_text: str) -> Tree:
    t = Tree()
    t.feed(html_text)
    t.close()
    assert not t.errors, t.errors
    assert t.cur is t.root, f"unclosed <{t.cur.tag}>"
    return t


@pytest.fixture(scope="module", params=LANGS)
def page(request: pytest.FixtureRequest) -> tuple[str, str, Tree]:
    lang = request.param
    text = render_html.render(fx.sample_report(), lang)
    return lang, text, parse(text)


def test_document_shell(page: tuple[str, str, Tree]) -> None:
    lang, text, tree = page
    assert text.startswith("<!DOCTYPE html>")
    htmls = tree.find_all("html")
    assert len(htmls) == 1 and htmls[0].attrs["lang"] == lang
    assert any(m.attrs.get("charset") == "utf-8" for m in tree.find_all("meta"))
    assert len(tree.find_all("title")) == 1
    assert len(tree.find_all("body")) == 1


def test_verdict_banner_says_it_in_words(page: tuple[str, str, Tree]) -> None:
    lang, _, tree = page
    (banner,) = tree.find_all(id="verdict")
    assert banner.attrs["data-verdict"] == "not_ready"
    assert "verdict-not_ready" in (banner.attrs["class"] or "")
    assert i18n.verdict_label(Verdict.NOT_READY, lang) in banner.all_text()
    assert i18n.verdict_meaning(Verdict.NOT_READY, lang) in banner.all_text()
    # the banner comes before any finding
    order = [n for n in tree.root.iter() if n.attrs.get("id") == "verdict" or "data-finding-id" in n.attrs]
    assert order[0] is banner


def test_one_element_per_finding(page: tuple[str, str, Tree]) -> None:
    lang, _, tree = page
    report = fx.sample_report()
    elements = [n for n in tree.root.iter() if "data-finding-id" in n.attrs]
    assert [n.attrs["data-finding-id"] for n in elements] == [f.id for f in report.findings_by_severity()]
    for n, f in zip(elements, report.findings_by_severity(), strict=True):
        assert n.tag == "article"
        assert n.attrs["data-severity"] == f.severity.value
        body = n.all_text()
        assert i18n.severity_label(f.severity, lang) in body
        assert i18n.t("finding.next_step", lang) in body
        assert len([d for d in n.iter() if d.tag == "dl"]) == 1, "evidence as a definition list"
    ids = [n.attrs.get("id") for n in tree.root.iter() if n.attrs.get("id")]
    assert len(ids) == len(set(ids)), "element ids are unique"


def test_g_refs_and_sections(page: tuple[str, str, Tree]) -> None:
    lang, _, tree = page
    text = tree.root.all_text()
    assert "G9" in text and i18n.g_ref_text("G9", lang) in text
    for sid in ("findings", "unmeasured", "probes", "environment"):
        assert len(tree.find_all(id=sid)) == 1
    assert tree.find_all("footer")


def test_probe_details_collapsible_and_open_on_problems(page: tuple[str, str, Tree]) -> None:
    _, _, tree = page
    report = fx.sample_report()
    details = tree.find_all("details")
    by_probe = {d.attrs["data-probe"]: d for d in details if "data-probe" in d.attrs}
    assert set(by_probe) == {p.name for p in report.probes}
    for p in report.probes:
        d = by_probe[p.name]
        assert d.children[0].tag == "summary"
        assert ("open" in d.attrs) == (p.status in (Status.FAILED, Status.ERROR))
    ike = by_probe["ike"].all_text()
    assert fx.VENDOR_ID in ike and "udp4500" in ike


def test_no_external_references(page: tuple[str, str, Tree]) -> None:
    _, text, tree = page
    assert not tree.find_all("link")
    assert not tree.find_all("iframe") and not tree.find_all("object") and not tree.find_all("embed")
    for n in tree.root.iter():
        for attr in ("src", "href", "action", "data"):
            v = n.attrs.get(attr)
            if v is not None and n.tag != "object":
                assert v.startswith("#"), f"<{n.tag} {attr}={v}>"
    assert "<link" not in text and "<script src" not in text and "@import" not in text
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)


def test_only_our_own_script_and_style_and_the_csp_allows_exactly_them(page: tuple[str, str, Tree]) -> None:
    _, _, tree = page
    (script,) = tree.find_all("script")
    (style,) = tree.find_all("style")
    assert "src" not in script.attrs
    csp = next(
        m.attrs["content"] for m in tree.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None
    assert "default-src 'none'" in csp

    def sha(s: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"

    assert f"style-src {sha(style.all_text())}" in csp
    assert f"script-src {sha(script.all_text())}" in csp


def test_print_styles_and_japanese_fonts(page: tuple[str, str, Tree]) -> None:
    _, _, tree = page
    (style,) = tree.find_all("style")
    css = style.all_text()
    assert "@media print" in css and "break-inside:avoid" in css
    assert '"Yu Gothic"' in css and '"Meiryo"' in css and "sans-serif" in css


def test_script_in_evidence_comes_out_as_text() -> None:
    text = render_html.render(fx.sample_report(), "ja")
    tree = parse(text)
    assert len(tree.find_all("script")) == 1, "only the page's own script"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    nat_double = next(n for n in tree.root.iter() if n.attrs.get("data-finding-id") == "nat.double")
    assert fx.SCRIPT in nat_double.all_text()


def test_hostile_strings_everywhere_stay_text() -> None:
    evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    report = fx.sample_report(
        host={"hostname": evil, "os": evil},
        settings={"targets": [evil]},
        findings=(Finding(f"x{evil}", Severity.ERROR, {evil: [evil, {evil: evil}]}),),
        probes=(ProbeResult(evil, Status.FAILED, reason=evil, values={evil: evil}, started_at=evil),),
        unmeasured=(),
        created_at=evil,
        clinicnet_version=evil,
        schema=evil,
    )
    for lang in LANGS:
        tree = parse(render_html.render(report, lang))
        assert not tree.find_all("img")
        assert len(tree.find_all("script")) == 1
        (article,) = [n for n in tree.root.iter() if "data-finding-id" in n.attrs]
        assert article.attrs["data-finding-id"] == f"x{evil}"
        assert evil in tree.root.all_text()


def test_redacted_notice() -> None:
    plain = parse(render_html.render(fx.sample_report(), "ja"))
    masked = parse(render_html.render(redact(fx.sample_report()), "ja"))
    notice = i18n.t("notice.redacted", "ja")
    assert notice in masked.root.all_text() and notice not in plain.root.all_text()
    assert fx.HOSTNAME in plain.root.all_text() and fx.HOSTNAME not in masked.root.all_text()


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_and_the_empty_report(verdict: Verdict) -> None:
    tree = parse(render_html.render(fx.empty_report(verdict), "ja"))
    (banner,) = tree.find_all(id="verdict")
    assert banner.attrs["data-verdict"] == verdict.value
    assert i18n.verdict_label(verdict, "ja") in banner.all_text()
    assert i18n.t("findings.none", "ja") in tree.root.all_text()


def test_unknown_finding_id_renders() -> None:
    tree = parse(render_html.render(fx.unknown_finding_report(), "en"))
    (article,) = [n for n in tree.root.iter() if "data-finding-id" in n.attrs]
    assert article.attrs["data-finding-id"] == "ike.future_thing"
    assert i18n.t("finding.unknown", "en") in article.all_text()


def test_deep_values_fall_back_to_json() -> None:
    deep: dict[str, object] = {"v": 1}
    for i in range(8):
        deep = {f"level{i}": deep}
    report = fx.sample_report(probes=(ProbeResult("routes", Status.OK, values=deep),))
    tree = parse(render_html.render(report, "en"))
    assert any('"v": 1' in p.all_text() for p in tree.find_all("pre"))


def test_output_module_dispatch() -> None:
    from clinicnet.agent import output

    report = fx.sample_report()
    assert output.render(report, "html", "en") == render_html.render(report, "en")
    assert output.render(report, "markdown", "en").startswith("# ")
