"""The consultation letter to the referring clinician, rendered to PDF with WeasyPrint.

The letter is built from what the physician signed (the decision and its snapshot), so a letter
printed next year says what was decided then, not what the history says now.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.clinical.antidepressants import DRUGS_BY_NAME, MG_PER_UNIT, Unit
from ketacare.clinical.candidacy import DECISION_LABELS, PRESENTING_LABELS, Decision, PresentingCondition
from ketacare.clinical.contraindications import ROUTE_LABELS, Kind, Route
from ketacare.clinical.staging import OUTCOME_LABELS, SEVERITY_LABELS, Outcome, Severity
from ketacare.screening.models import CandidacyDecision
from ketacare.ui.documents import letterhead


def _notes(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The efficacy notes, one per condition with the routes it concerns (a note is the same for
    both routes, so the letter says it once)."""
    notes: dict[str, dict[str, Any]] = {}
    for f in found:
        if f["kind"] == Kind.NOTE:
            note = notes.setdefault(f["code"], {**f, "route_labels": []})
            note["route_labels"].append(ROUTE_LABELS[Route(f["route"])])
    return list(notes.values())


def _dose_text(trial: dict[str, Any]) -> str:
    """The dose in the drug's own unit ("25 micrograms"), as the snapshot stored it in mg."""
    dose_mg = Decimal(str(trial["daily_dose_mg"]))
    known = DRUGS_BY_NAME.get(trial["drug"])
    unit = trial.get("unit") or (known.unit.value if known else Unit.MG.value)
    if unit == Unit.MICROGRAM.value:
        micrograms = (dose_mg / MG_PER_UNIT[Unit.MICROGRAM]).normalize()
        return f"{micrograms:f} microgram" + ("" if micrograms == 1 else "s")
    return f"{dose_mg.normalize():f} mg"


def letter_context(decision: CandidacyDecision) -> dict[str, Any]:
    snapshot = decision.snapshot
    staging = snapshot["staging"]
    patient = decision.patient
    trials = [
        {
            **t,
            "label": str(t["drug"]).capitalize(),
            "dose_text": _dose_text(t),
            "note": t.get("note") or (DRUGS_BY_NAME[t["drug"]].note if t["drug"] in DRUGS_BY_NAME else ""),
            "outcome_label": OUTCOME_LABELS[Outcome(t["outcome"])],
        }
        for t in staging["trials"]
    ]
    maudsley = staging["maudsley"]
    # Not staged without a failed trial (clinical reference, section 3). A snapshot signed before
    # that rule stored a total below 3 for it: the letter does not repeat it.
    maudsley_staged = maudsley.get("total") is not None and maudsley.get("antidepressants", 0) > 0
    return {
        "clinic": letterhead(),
        "today": timezone.localdate(),
        "patient": patient,
        "provider": patient.referring_provider,
        "decision": decision,
        "decision_label": DECISION_LABELS[Decision(decision.decision)],
        "routes": [ROUTE_LABELS[Route(r)] for r in decision.routes],
        "conditions": [PRESENTING_LABELS[PresentingCondition(c)] for c in snapshot["presenting_conditions"]],
        "severity": SEVERITY_LABELS[Severity(snapshot["severity"])],
        "episode_months": snapshot["episode_duration_months"],
        "staging": staging,
        "maudsley_staged": maudsley_staged,
        "trials": trials,
        "findings": [
            {**f, "route_label": ROUTE_LABELS[Route(f["route"])]}
            for f in staging["contraindications"]
            if f["kind"] != Kind.NOTE
        ],
        "notes": _notes(staging["contraindications"]),
        # Scored at consultation; signed snapshots keep them under "baseline", their old name.
        # Outcome figures measure from the last score before the first treatment instead
        # (clinical reference section 2), so the letter does not call these the baseline.
        "consultation_scores": [b for b in snapshot["baseline"] if b["total"] is not None],
        "prior": snapshot.get("prior_treatments", []),
        "signed_local": timezone.localtime(decision.signed_at),
    }


def letter_html(decision: CandidacyDecision) -> str:
    return render_to_string("screening/letter.html", letter_context(decision))


def letter_pdf(decision: CandidacyDecision) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only letters need

    return bytes(HTML(string=letter_html(decision)).write_pdf() or b"")
