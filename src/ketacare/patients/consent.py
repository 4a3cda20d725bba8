"""Consent to treatment: its kinds, one per route a candidacy decision covers (IV ketamine, which
also covers the clinic-enabled intramuscular protocol, and esketamine nasal spray: the protocol's
`candidacy_route`), the default text of each shipped in patients/content/consent-<kind>.md
(written for this project; the clinic admin publishes its own versions), and the rule a typed
name must meet to sign."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ketacare.clinical import protocols
from ketacare.clinical.contraindications import ROUTE_LABELS, Route

CONTENT = Path(__file__).resolve().parent / "content"


@cache
def _shipped_text(name: str) -> str:
    """A default document's text as shipped (read once: the files do not change while running)."""
    return (CONTENT / name).read_text(encoding="utf-8").strip()


@dataclass(frozen=True, slots=True)
class Kind:
    code: str  # the candidacy route (clinical.contraindications.Route)
    label: str  # "IV ketamine"
    title: str  # the default document's title
    file: str  # the default document's text, in CONTENT

    def default_body(self) -> str:
        return _shipped_text(self.file)


KINDS = (
    Kind(
        Route.IV_KETAMINE.value,
        ROUTE_LABELS[Route.IV_KETAMINE],
        "Consent to IV ketamine treatment",
        "consent-iv-ketamine.md",
    ),
    Kind(
        Route.ESKETAMINE_NASAL.value,
        ROUTE_LABELS[Route.ESKETAMINE_NASAL],
        "Consent to esketamine nasal spray treatment",
        "consent-esketamine-nasal.md",
    ),
)
BY_CODE = {k.code: k for k in KINDS}
KIND_CHOICES = [(k.code, k.label) for k in KINDS]
# A plan's route (treatment.TreatmentPlan.route) to the consent it needs: the protocol's
# candidacy route, as for the candidacy decision (intramuscular ketamine under IV ketamine's).
KIND_OF_TREATMENT_ROUTE = {p.route.value: p.candidacy_route.value for p in protocols.DEFAULTS.values()}


def digest(title: str, body: str) -> str:
    """The fingerprint of a document's words, printed on every signed copy: a paper copy can be
    checked against the version on record."""
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def name_key(name: str) -> str:
    """A name as a signature is compared: spaces at either end and repeated inside ignored, and
    case (so "anna  SMITH " is "Anna Smith"). Accents and hyphens count."""
    return " ".join(name.split()).casefold()


def names_match(typed: str, on_record: str) -> bool:
    return bool(typed.strip()) and name_key(typed) == name_key(on_record)


def minute_of(decided_at: datetime.datetime) -> datetime.datetime:
    """The start of the minute a candidacy decision was signed in: a paper signature's time,
    written to the minute, in that minute is not refused as before the decision
    (patients.services.consent_record_paper records it at the decision's moment)."""
    return decided_at.replace(second=0, microsecond=0)
