"""Every UI string exists in Japanese and English."""

from __future__ import annotations

import pytest

from clinicnet.model import Severity, Status, Verdict
from clinicnet.probes import registry
from clinicnet.reports import i18n, view
from clinicnet.reports.catalogue import CATALOGUE

#: every probe diagnose runs needs a title in both languages (in its SPEC)
PROBES = tuple(spec.name for spec in registry.specs())


@pytest.mark.parametrize("key", i18n.keys())
def test_every_key_has_both_languages(key: str) -> None:
    for lang in i18n.LANGS:
        assert i18n.t(key, lang).strip(), f"{key} is empty in {lang}"


def test_no_other_languages_sneak_in() -> None:
    for key in i18n.keys():
        assert set(i18n._S[key]) == set(i18n.LANGS), key


def test_verdicts_have_label_and_meaning() -> None:
    for v in Verdict:
        for lang in i18n.LANGS:
            assert i18n.verdict_label(v, lang)
            meaning = i18n.verdict_meaning(v, lang)
            assert meaning.endswith(("。", ".")), "one sentence"


def test_severities_and_statuses() -> None:
    for lang in i18n.LANGS:
        assert {i18n.severity_label(s, lang) for s in Severity}.__len__() == len(Severity)
        assert {i18n.status_label(s, lang) for s in Status}.__len__() == len(Status)
    assert i18n.severity_label(Severity.ERROR, "ja") == "エラー"
    assert i18n.status_label(Status.SKIPPED, "en") == "Skipped"


@pytest.mark.parametrize("name", PROBES)
def test_probe_titles_come_from_the_spec(name: str) -> None:
    spec = registry.get(name)
    assert spec is not None
    for lang in i18n.LANGS:
        title = view.probe_title(name, lang)
        assert title == spec.title.get(lang) and title != name
        title.encode("cp932")
    assert not any(k.startswith("probe.name.") for k in i18n.keys()), "one title per probe: in its SPEC"


def test_unknown_probe_falls_back_to_its_name() -> None:
    assert view.probe_title("future_probe", "ja") == "future_probe"
    assert view.probe_title("future_probe", "en") == "future_probe"


def test_g_refs_used_by_the_catalogue_have_texts() -> None:
    for e in CATALOGUE.values():
        for g in e.g_refs:
            assert i18n.g_ref_text(g, "ja") and i18n.g_ref_text(g, "en")
    assert i18n.g_ref_text("G99", "ja") == ""


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("ja", "ja"),
        ("ja_JP.UTF-8", "ja"),
        ("ja-JP", "ja"),
        ("JA", "ja"),
        ("en", "en"),
        ("en_US", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_norm_lang(given: str | None, want: str) -> None:
    assert i18n.norm_lang(given) == want


def test_unknown_key_is_a_bug() -> None:
    with pytest.raises(KeyError):
        i18n.t("no.such.key", "ja")


def test_locale_variants_pick_japanese() -> None:
    assert i18n.t("section.findings", "ja_JP") == i18n.t("section.findings", "ja")


def test_texts_exist_in_cp932() -> None:
    for key in i18n.keys():
        for lang in i18n.LANGS:
            i18n.t(key, lang).encode("cp932")
