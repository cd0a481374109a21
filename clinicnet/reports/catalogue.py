"""The finding catalogue: every finding id the rules can emit, with its texts.

Ids are stable (ticket systems key on them, see findings.md); texts are written
for a clinic receptionist first (``summary``), with the technical explanation and
the next step for the vendor technician below. Both languages are required for
every entry; a test checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicnet.model import Severity


@dataclass(frozen=True)
class Text:
    ja: str
    en: str

    def get(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    #: the usual severity; a rule may raise or lower it with context (documented here)
    severity: Severity
    #: G-references of findings.md, e.g. ("G1", "G7"); empty where the guide says nothing
    g_refs: tuple[str, ...]
    title: Text
    #: plain words for clinic staff: what it means for them
    summary: Text
    #: for the technician: what was measured and why it matters for IPsec/IKE
    technical: Text
    #: what to do next
    next_step: Text
    #: when the severity differs from ``severity`` (e.g. "error without NAT, info with NAT")
    severity_note: str = ""


# Filled in below; keyed by id.
CATALOGUE: dict[str, CatalogueEntry] = {}


def entry(finding_id: str) -> CatalogueEntry:
    """The catalogue entry for an id; a KeyError here is a bug in a rule."""
    return CATALOGUE[finding_id]


def _add(e: CatalogueEntry) -> None:
    if e.id in CATALOGUE:
        raise ValueError(f"duplicate catalogue id {e.id}")
    CATALOGUE[e.id] = e
