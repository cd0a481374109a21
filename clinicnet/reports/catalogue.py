"""The finding catalogue: every finding id this clinicnet knows, with its texts.

A thin view of the finding modules (``clinicnet.reports.findings``), where each
finding's texts, severity and G-references are written; the renderers and
``clinicnet findings``/``explain`` look entries up here by id. Importing this
module imports every finding module, so only what renders or lists findings does.
"""

from __future__ import annotations

from clinicnet.reports import findings
from clinicnet.reports.findings.interface import FindingSpec

#: id -> the finding module's spec, in the findings' evaluation order
CATALOGUE: dict[str, FindingSpec] = {r.id: r.spec for r in findings.rules()}


def entry(finding_id: str) -> FindingSpec:
    """The catalogue entry for an id; a KeyError here is a bug in a rule."""
    return CATALOGUE[finding_id]


def get(finding_id: str) -> FindingSpec | None:
    """The entry or None: renderers use this so that a result file written by a
    newer clinicnet (with ids this one does not know) still renders."""
    return CATALOGUE.get(finding_id)
