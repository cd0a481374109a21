"""The catalogue covers findings.md's table, in both languages, with its severities and G-refs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import clinicnet
from clinicnet.model import Severity
from clinicnet.reports import catalogue
from clinicnet.reports.catalogue import CATALOGUE

# findings.md, "Minimum catalogue of findings": id -> (default severity, G-refs).
# Where the table gives two severities ("error when NAT is present, else warning")
# the first is the default and the entry must explain the other in severity_note.
FINDINGS_MD = {
    "ike.udp500.blocked": (Severity.ERROR, ("G1",)),
    "ike.udp4500.blocked": (Severity.ERROR, ("G1", "G7")),
    "ike.unreachable": (Severity.ERROR, ("G1",)),
    "esp.blocked": (Severity.ERROR, ("G1",)),
    "nat.present": (Severity.INFO, ("G7",)),
    "nat.double": (Severity.WARNING, ("G9",)),
    "nat.cgn": (Severity.INFO, ("G7",)),
    "nat.port_not_preserved": (Severity.INFO, ("G7",)),
    "ipv4.missing": (Severity.ERROR, ("G8",)),
    "ipv6.present": (Severity.INFO, ("G8",)),
    "vpn.up_internet_down": (Severity.INFO, ("G4",)),
    "internet.down": (Severity.ERROR, ("G6",)),
    "dns.failed": (Severity.ERROR, ()),
    "fragments.dropped": (Severity.WARNING, ("G11",)),
    "mtu.small": (Severity.WARNING, ()),
    "link.slow": (Severity.WARNING, ("G7",)),
    "wifi.client": (Severity.INFO, ("G9",)),
    "privileges.limited": (Severity.INFO, ()),
    "ipv4.over_ipv6": (Severity.WARNING, ("G8",)),
    "clock.skew": (Severity.WARNING, ("G11",)),
    "nat.binding_short": (Severity.WARNING, ("G9",)),
    "path.lossy": (Severity.WARNING, ()),
}
#: in findings.md's table, waiting for the probes that measure them (issue -> no module yet)
PENDING: dict[str, tuple[Severity, tuple[str, ...], str]] = {
}
CONTEXT_DEPENDENT = {"ike.udp4500.blocked", "esp.blocked"}
FIELDS = ("title", "summary", "technical", "next_step")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_every_findings_md_id_is_catalogued() -> None:
    assert set(FINDINGS_MD) <= set(CATALOGUE)


@pytest.mark.parametrize("fid", sorted(FINDINGS_MD))
def test_severity_and_g_refs_as_in_findings_md(fid: str) -> None:
    e = catalogue.entry(fid)
    severity, g_refs = FINDINGS_MD[fid]
    assert e.id == fid
    assert e.severity is severity
    assert e.g_refs == g_refs
    if fid in CONTEXT_DEPENDENT:
        assert e.severity_note, f"{fid} changes severity with context: say when"


@pytest.mark.parametrize("fid", sorted(CATALOGUE))
def test_both_languages_filled(fid: str) -> None:
    e = CATALOGUE[fid]
    for name in FIELDS:
        text = getattr(e, name)
        assert text.ja.strip(), f"{fid}.{name} has no Japanese"
        assert text.en.strip(), f"{fid}.{name} has no English"
        assert JAPANESE.search(text.ja), f"{fid}.{name}.ja is not Japanese"
        assert text.get("ja") == text.ja and text.get("en") == text.en


#: how a です・ます sentence ends, once trailing notes in brackets are taken off
POLITE_END = re.compile(r"(です|ます|ません|ください|でした|ました|ましょう|でしょう)$")
TRAILING_NOTE = re.compile(r"（[^（）]*）$")


def _impolite_sentences(ja: str) -> list[str]:
    bad = []
    for sentence in ja.split("。")[:-1]:
        body = sentence.strip()
        while TRAILING_NOTE.search(body):  # "...動作しません（G1）。"
            body = TRAILING_NOTE.sub("", body).rstrip()
        if not POLITE_END.search(body):
            bad.append(sentence)
    return bad


def test_politeness_check_can_fail() -> None:
    assert _impolite_sentences("接続できません（G1）。設定を確認してください。") == []
    assert _impolite_sentences("接続できない。設定を確認してください。") == ["接続できない"]
    assert _impolite_sentences("UDP 500 が遮断されている（G1）。") == ["UDP 500 が遮断されている（G1）"]


@pytest.mark.parametrize("fid", sorted(CATALOGUE))
def test_japanese_is_polite_prose(fid: str) -> None:
    """Clinic staff read the summary and next step: です・ます, full sentences, every one of them."""
    e = CATALOGUE[fid]
    for name in ("summary", "technical", "next_step"):
        ja = getattr(e, name).ja
        assert ja.endswith("。"), f"{fid}.{name}.ja should end a sentence"
        assert not _impolite_sentences(ja), f"{fid}.{name}.ja: not です・ます: {_impolite_sentences(ja)}"


@pytest.mark.parametrize("fid", sorted(CATALOGUE))
def test_g_refs_are_cited_in_the_technical_text(fid: str) -> None:
    e = CATALOGUE[fid]
    for g in e.g_refs:
        assert re.fullmatch(r"G(1[01]|[1-9])", g)
        assert g in e.technical.ja and g in e.technical.en, f"{fid}: technical text should cite {g}"


def test_g4_is_reassuring() -> None:
    """G4: VPN up and no internet is the VPN's specification, not a fault; say so."""
    e = catalogue.entry("vpn.up_internet_down")
    assert "仕様" in e.summary.ja and "故障ではありません" in e.summary.ja
    assert "not broken" in e.summary.en or "not a fault" in e.summary.en


def test_contacts_follow_the_guide() -> None:
    """G3: the ISP does not support the systems; the equipment vendor does."""
    for fid, e in CATALOGUE.items():
        if e.severity is not Severity.INFO or fid in CONTEXT_DEPENDENT:
            assert "機器納入元" in e.next_step.ja or "回線事業者" in e.next_step.ja, fid


def test_unknown_id() -> None:
    with pytest.raises(KeyError):
        catalogue.entry("no.such.finding")
    assert catalogue.get("no.such.finding") is None
    assert catalogue.get("nat.cgn") is CATALOGUE["nat.cgn"]


def test_the_catalogue_is_the_finding_modules() -> None:
    """One place per finding: the catalogue holds each module's own FINDING, nothing written twice."""
    import importlib
    from dataclasses import replace

    from clinicnet.reports import findings

    assert [r.id for r in findings.rules()] == list(CATALOGUE)
    for r in findings.rules():
        mod = importlib.import_module(r.spec.module)
        assert CATALOGUE[r.id] == replace(mod.FINDING, module=r.spec.module)
        assert r.check is mod.check
        assert mod.__doc__.startswith(f"{r.id}: "), "a finding module's docstring is its findings.md row"


def _findings_md() -> Path | None:
    for p in (os.environ.get("CLINICNET_FINDINGS_MD"), "/work/shared/reference/findings.md"):
        if p and Path(p).is_file():
            return Path(p)
    return None


def _findings_md_table(text: str) -> dict[str, tuple[Severity, tuple[str, ...]]]:
    table = {}
    for line in text.splitlines():
        m = re.match(r"\| `([a-z0-9_.]+)` \| ([a-z]+)[^|]* \|[^|]*\| ([^|]*) \|", line)
        if m:
            refs = tuple(g.strip() for g in m.group(3).split(",") if g.strip().startswith("G"))
            table[m.group(1)] = (Severity(m.group(2)), refs)
    return table


def test_the_table_above_is_findings_md() -> None:
    """FINDINGS_MD and PENDING transcribe the reference; a new row there must show up here."""
    path = _findings_md()
    if path is None:
        pytest.skip("findings.md not found (set CLINICNET_FINDINGS_MD)")
    table = _findings_md_table(path.read_text(encoding="utf-8"))
    assert len(table) >= len(FINDINGS_MD)
    assert table == {**FINDINGS_MD, **{k: v[:2] for k, v in PENDING.items()}}


@pytest.mark.parametrize("fid", sorted(FINDINGS_MD))
def test_every_findings_md_id_has_its_module(fid: str) -> None:
    path = f"clinicnet/reports/findings/{fid.replace('.', '_')}.py"
    assert CATALOGUE[fid].path == path
    assert (Path(clinicnet.__file__).parent.parent / path).is_file()


def test_pending_ids_have_no_module_yet() -> None:
    """When one of them gets its module, move it from PENDING to FINDINGS_MD."""
    assert not set(PENDING) & set(CATALOGUE)


def test_texts_exist_in_cp932() -> None:
    """The terminal on a Japanese Windows PC may be cp932; no character of ours may break it."""
    for e in CATALOGUE.values():
        for name in FIELDS:
            getattr(e, name).ja.encode("cp932")
            getattr(e, name).en.encode("cp932")
