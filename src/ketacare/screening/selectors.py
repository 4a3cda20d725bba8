"""Consultation reads: the staging computed from the stored history, the consultation page, the
current decision and what the letter shows. Query counts do not grow with the history."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ketacare.clinical import instruments
from ketacare.clinical.candidacy import BaselineScale, baseline_scales
from ketacare.clinical.contraindications import (
    ROUTE_LABELS,
    Route,
    RouteStatus,
    Rule,
    age_conditions,
    checklist,
    route_status,
)
from ketacare.clinical.staging import (
    Adherence,
    History,
    Outcome,
    Severity,
    Staging,
    Trial,
    TrialAssessment,
    stage,
    weeks_between,
)
from ketacare.measures.models import QuestionnaireResponse
from ketacare.screening import rules
from ketacare.screening.models import (
    AntidepressantTrial,
    CandidacyDecision,
    Consultation,
    PriorTreatment,
    Referral,
)


def trial_weeks(trial: AntidepressantTrial, today: datetime.date | None = None) -> Decimal:
    """Weeks on the drug: to the stop date, or to today while it is still taken."""
    return weeks_between(trial.started_on, trial.stopped_on or today or timezone.localdate())


def _clinical_trial(trial: AntidepressantTrial, today: datetime.date) -> Trial:
    return Trial(
        drug=trial.drug,
        daily_dose_mg=trial.daily_dose_mg,
        weeks=trial_weeks(trial, today),
        outcome=Outcome(trial.outcome),
        adherence=Adherence(trial.adherence),
        current_episode=trial.current_episode,
        started_on=trial.started_on,
        stopped_on=trial.stopped_on or today,
    )


def active_trials(patient_id: int) -> list[AntidepressantTrial]:
    return list(AntidepressantTrial.objects.filter(patient_id=patient_id, struck_out_at__isnull=True))


def consultation_conditions(
    consultation: Consultation, *, in_force: Sequence[Rule] | None = None
) -> list[str]:
    """The conditions present at a consultation: the checklist's "yes" answers, then the age rules
    from the patient's date of birth on the day it was held (age is never taken from an answer)."""
    in_force = rules.current().contraindications if in_force is None else in_force
    derived = {r.code for r in in_force if not r.asked}
    answered = [c for c in consultation.present_conditions if c not in derived]
    return answered + age_conditions(born=consultation.patient.date_of_birth, on=consultation.held_on)


def checklist_unanswered(consultation: Consultation) -> list[str]:
    """The checklist questions an answered checklist lacks: those the clinic added after it was
    answered. Empty while the checklist is not answered at all."""
    if not consultation.checklist:
        return []
    return [
        r.question
        for r in checklist(rules.current().contraindications)
        if r.code not in consultation.checklist
    ]


def consultation_staging(
    consultation: Consultation,
    *,
    trials: list[AntidepressantTrial] | None = None,
    prior: list[PriorTreatment] | None = None,
) -> Staging | None:
    """Adequacy, resistance, Maudsley score and contraindication findings from what is on record;
    None until the episode's length and severity are recorded. The findings are the checklist's
    "yes" answers plus the age rules, from the date of birth on the day of the consultation."""
    if consultation.episode_duration_months is None or not consultation.severity:
        return None
    today = consultation.held_on
    trials = active_trials(consultation.patient_id) if trials is None else trials
    if prior is None:
        prior = list(PriorTreatment.objects.filter(patient_id=consultation.patient_id))
    in_force = rules.current()
    history = History(
        trials=tuple(_clinical_trial(t, today) for t in trials if t.struck_out_at is None),
        episode_duration_months=Decimal(consultation.episode_duration_months),
        severity=Severity(consultation.severity),
        augmentation=consultation.augmentation_used,
        ect=any(p.kind == PriorTreatment.Kind.ECT and p.current_episode for p in prior),
        findings=tuple(consultation_conditions(consultation, in_force=in_force.contraindications)),
    )
    return stage(history, table=in_force.drugs, rules=in_force.contraindications)


@dataclass(frozen=True, slots=True)
class BaselineRow:
    scale: BaselineScale
    name: str
    response: QuestionnaireResponse | None


def baseline_rows(patient_id: int, conditions: list[str]) -> list[BaselineRow]:
    """The baseline scales that fit the presenting conditions, each with its latest score (one query)."""
    wanted = baseline_scales(conditions)
    latest: dict[str, QuestionnaireResponse] = {}
    codes = [s.code for s in wanted]
    for r in QuestionnaireResponse.objects.filter(patient_id=patient_id, instrument__in=codes).order_by(
        "instrument", "-administered_at", "-id"
    ):
        latest.setdefault(r.instrument, r)
    return [BaselineRow(s, instruments.get(s.code).name, latest.get(s.code)) for s in wanted]


def decision_snapshot(consultation: Consultation, staging: Staging) -> dict[str, Any]:
    """What the physician saw when signing, stored with the decision for the letter and audit."""
    referral = consultation.referral
    conditions = list(referral.presenting_conditions) if referral else []
    return {
        "held_on": consultation.held_on.isoformat(),
        "episode_duration_months": consultation.episode_duration_months,
        "severity": consultation.severity,
        "staging": staging.as_json(),
        "presenting_conditions": conditions,
        "prior_treatments": [
            {
                "kind": p.get_kind_display(),
                "description": p.description,
                "sessions": p.sessions,
                "outcome": p.get_outcome_display(),
                "current_episode": p.current_episode,
            }
            for p in PriorTreatment.objects.filter(patient_id=consultation.patient_id)
        ],
        "baseline": [
            {
                "instrument": row.scale.code,
                "name": row.name,
                "total": row.response.total if row.response else None,
                "band": row.response.band if row.response else "",
                "on": row.response.administered_at.date().isoformat() if row.response else None,
            }
            for row in baseline_rows(consultation.patient_id, conditions)
        ],
    }


def current_decision(*, patient_id: int) -> CandidacyDecision | None:
    return (
        CandidacyDecision.objects.current().filter(patient_id=patient_id).select_related("signed_by").first()
    )


def eligible_since(*, patient_id: int) -> dict[str, datetime.datetime]:
    """The routes the patient's current signed candidacy decision makes them eligible for, each
    with when it was signed; empty when there is none or it found them not eligible. A consent to
    a route counts only if signed since (patients.selectors.consent_for_treatment): consent is
    asked after the consultation, and a new assessment asks for it again. One query."""
    decision = (
        CandidacyDecision.objects.current()
        .filter(patient_id=patient_id)
        .only("id", "decision", "routes", "signed_at")
        .first()
    )
    if decision is None or not decision.is_eligible:
        return {}
    return dict.fromkeys(decision.routes, decision.signed_at)


@dataclass(frozen=True, slots=True)
class RouteRow:
    route: Route
    label: str
    status: RouteStatus


@dataclass(frozen=True, slots=True)
class ConsultationPage:
    consultation: Consultation
    referral: Referral | None
    trial_rows: list[tuple[AntidepressantTrial, TrialAssessment | None]]
    struck_out: list[AntidepressantTrial]
    prior: list[PriorTreatment]
    staging: Staging | None
    routes: list[RouteRow]
    baseline: list[BaselineRow]
    decisions: list[CandidacyDecision]
    # Checklist questions added since the checklist was answered (asked before signing again).
    unanswered: list[str] = field(default_factory=list)


def consultation_page(*, consultation_id: int) -> ConsultationPage:
    """Everything the consultation page shows, in a fixed number of queries."""
    consultation = Consultation.objects.select_related(
        "patient", "patient__referring_provider", "referral", "referral__referring_provider", "clinician"
    ).get(pk=consultation_id)
    all_trials = list(
        AntidepressantTrial.objects.filter(patient_id=consultation.patient_id).select_related("struck_out_by")
    )
    trials = [t for t in all_trials if t.struck_out_at is None]
    prior = list(PriorTreatment.objects.filter(patient_id=consultation.patient_id))
    staging = consultation_staging(consultation, trials=trials, prior=prior)
    findings = staging.contraindications if staging else []
    conditions = list(consultation.referral.presenting_conditions) if consultation.referral else []
    decisions = list(
        CandidacyDecision.objects.filter(patient_id=consultation.patient_id).select_related("signed_by")
    )
    assessed: list[TrialAssessment | None] = list(staging.trials) if staging else [None] * len(trials)
    return ConsultationPage(
        consultation=consultation,
        referral=consultation.referral,
        trial_rows=list(zip(trials, assessed, strict=True)),
        struck_out=[t for t in all_trials if t.struck_out_at is not None],
        prior=prior,
        staging=staging,
        routes=[RouteRow(r, ROUTE_LABELS[r], route_status(findings, r)) for r in Route],
        baseline=baseline_rows(consultation.patient_id, conditions),
        decisions=decisions,
        unanswered=checklist_unanswered(consultation),
    )


@dataclass(frozen=True, slots=True)
class ChartSummary:
    referral: Referral | None
    consultation: Consultation | None
    decision: CandidacyDecision | None


def chart_summary(*, patient_id: int) -> ChartSummary:
    """The chart's candidacy section: the latest referral and consultation, the current decision.
    Three queries, each of only the columns the section shows."""
    referral = (
        Referral.objects.filter(patient_id=patient_id)
        .select_related("referring_provider")
        .only(
            "id",
            "patient_id",
            "received_on",
            "presenting_conditions",
            "consent_to_share",
            "consent_to_treatment",
            "referring_provider",
        )
        .order_by("-received_on", "-id")
        .first()
    )
    consultation = (
        Consultation.objects.filter(patient_id=patient_id)
        .only("id", "patient_id", "held_on")
        .order_by("-held_on", "-id")
        .first()
    )
    decision = (
        CandidacyDecision.objects.current()
        .filter(patient_id=patient_id)
        .select_related("signed_by")
        .only(
            "id",
            "patient_id",
            "decision",
            "routes",
            "signed_at",
            "signed_by__username",
            "signed_by__first_name",
            "signed_by__last_name",
        )
        .first()
    )
    return ChartSummary(referral, consultation, decision)
