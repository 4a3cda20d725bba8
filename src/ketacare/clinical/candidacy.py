"""Consultation rules: which baseline scales fit the presenting conditions, and what a candidacy
decision must respect."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ketacare.clinical.contraindications import ROUTE_LABELS, Finding, Kind, Route


class PresentingCondition(StrEnum):
    DEPRESSION = "depression"
    TREATMENT_RESISTANT_DEPRESSION = "treatment_resistant_depression"
    SEVERE_ANXIETY = "severe_anxiety"
    POSTPARTUM_DEPRESSION = "postpartum_depression"
    PTSD = "ptsd"


PRESENTING_LABELS = {
    PresentingCondition.DEPRESSION: "Depression",
    PresentingCondition.TREATMENT_RESISTANT_DEPRESSION: "Treatment-resistant depression",
    PresentingCondition.SEVERE_ANXIETY: "Severe anxiety",
    PresentingCondition.POSTPARTUM_DEPRESSION: "Postpartum depression",
    PresentingCondition.PTSD: "Post-traumatic stress disorder",
}


@dataclass(frozen=True, slots=True)
class BaselineScale:
    code: str
    why: str
    required: bool  # False: optional (a clinician-rated scale where one is available)


def baseline_scales(conditions: Iterable[str]) -> list[BaselineScale]:
    """The scales to rate before the first treatment (the issue's consultation rules): PHQ-9 and
    GAD-7 for everyone; EPDS for postpartum depression; PCL-5 for PTSD; MADRS when a clinician
    rates it."""
    present = {PresentingCondition(c) for c in conditions}
    scales = [
        BaselineScale("phq9", "depression, for every patient", True),
        BaselineScale("gad7", "anxiety, for every patient", True),
    ]
    if PresentingCondition.POSTPARTUM_DEPRESSION in present:
        scales.append(BaselineScale("epds", "postpartum depression", True))
    if PresentingCondition.PTSD in present:
        scales.append(BaselineScale("pcl5", "PTSD", True))
    scales.append(BaselineScale("madrs", "clinician-rated depression, when a clinician rates it", False))
    return scales


class Decision(StrEnum):
    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"
    NOT_ELIGIBLE = "not_eligible"


DECISION_LABELS = {
    Decision.ELIGIBLE: "Eligible",
    Decision.ELIGIBLE_WITH_PRECAUTIONS: "Eligible with precautions",
    Decision.NOT_ELIGIBLE: "Not eligible",
}


def decision_problems(
    *, decision: Decision, routes: Sequence[Route], findings: Sequence[Finding], precautions: str
) -> dict[str, str]:
    """What stops a decision from being signed, by field. An absolute contraindication rules its
    route out; a relative one means the decision must name its precautions. An efficacy note
    (Kind.NOTE) is for the physician and the letter only: it never stops a decision."""
    problems: dict[str, str] = {}
    if decision == Decision.NOT_ELIGIBLE:
        if routes:
            problems["routes"] = "A not-eligible decision covers no route: clear the routes."
        return problems
    if not routes:
        problems["routes"] = "Choose the route or routes the patient is eligible for."
        return problems
    blocked = [
        f"{ROUTE_LABELS[f.route]}: {f.question.lower()}"
        for f in findings
        if f.route in routes and f.kind == Kind.ABSOLUTE
    ]
    if blocked:
        problems["routes"] = "An absolute contraindication rules this out. " + "; ".join(blocked) + "."
    relative = [f for f in findings if f.route in routes and f.kind == Kind.RELATIVE]
    if relative and decision == Decision.ELIGIBLE:
        names = "; ".join(sorted({f.question.lower() for f in relative}))
        problems["decision"] = f"Precautions apply ({names}): choose eligible with precautions."
    if decision == Decision.ELIGIBLE_WITH_PRECAUTIONS and not precautions.strip():
        problems["precautions"] = "Write the precautions the treating team must take."
    return problems
