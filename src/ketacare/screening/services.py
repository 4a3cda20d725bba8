"""Consultation writes: referral intake, the treatment history, the history checklist and the
physician's signed candidacy decision. One transaction per action, each writing its audit event."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.signin import reauthenticate_self
from ketacare.audit import keys
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record
from ketacare.clinical.antidepressants import dose_problem
from ketacare.clinical.candidacy import Decision, PresentingCondition, decision_problems
from ketacare.clinical.contraindications import Route, checklist
from ketacare.patients.models import Patient, ReferringProvider
from ketacare.patients.services import record_changed
from ketacare.screening import rules, selectors
from ketacare.screening.models import (
    AntidepressantTrial,
    CandidacyDecision,
    Consultation,
    PriorTreatment,
    Referral,
)

SIGN_PERMISSION = "screening.add_candidacydecision"


def _require_user(actor: Actor) -> Any:
    if actor.user is None:
        raise ValidationError("A consultation is recorded by a signed-in clinician.")
    return actor.user


def _not_future(day: datetime.date, field: str, what: str) -> None:
    if day > timezone.localdate():
        raise ValidationError({field: f"{what} cannot be in the future."})


@transaction.atomic
def referral_record(
    *,
    actor: Actor,
    patient: Patient,
    referring_provider: ReferringProvider | None,
    received_on: datetime.date,
    reason: str,
    presenting_conditions: Sequence[str],
    consent_to_treatment: bool,
    consent_to_share: bool,
) -> Referral:
    """Record a referral. Presenting conditions come from the clinic's list; a referral without a
    referrer (self-referral) cannot carry consent to share reports with one."""
    errors: dict[str, str] = {}
    unknown = [c for c in presenting_conditions if c not in PresentingCondition.__members__.values()]
    if not presenting_conditions:
        errors["presenting_conditions"] = "Choose at least one presenting condition."
    elif unknown:
        errors["presenting_conditions"] = f"Not a presenting condition: {', '.join(unknown)}."
    if not reason.strip():
        errors["reason"] = "Write the reason for referral."
    if consent_to_share and referring_provider is None:
        errors["consent_to_share"] = "There is no referring clinician to share reports with."
    if errors:
        raise ValidationError(errors)
    _not_future(received_on, "received_on", "The date received")
    referral = Referral(
        patient=patient,
        referring_provider=referring_provider,
        received_on=received_on,
        reason=reason.strip(),
        presenting_conditions=list(dict.fromkeys(presenting_conditions)),
        consent_to_treatment=consent_to_treatment,
        consent_to_share=consent_to_share,
        recorded_by=actor.user,
    )
    referral.full_clean()
    referral.save()
    if referring_provider is not None and patient.referring_provider_id != referring_provider.pk:
        patient.referring_provider = referring_provider
        patient.save(update_fields=["referring_provider", "updated_at"])
        audit_record(
            actor=actor, action=Action.UPDATE, obj=patient, detail={"fields": ["referring_provider"]}
        )
    audit_record(actor=actor, action=Action.CREATE, obj=referral)
    return referral


@transaction.atomic
def consultation_start(
    *, actor: Actor, patient: Patient, held_on: datetime.date | None = None, referral: Referral | None = None
) -> Consultation:
    """Open a candidacy consultation for a patient, held by the signed-in clinician."""
    user = _require_user(actor)
    held_on = held_on or timezone.localdate()
    _not_future(held_on, "held_on", "A consultation date")
    if referral is not None and referral.patient_id != patient.pk:
        raise ValidationError({"referral": "That referral belongs to another patient."})
    if referral is None:
        referral = Referral.objects.filter(patient=patient).order_by("-received_on", "-id").first()
    consultation = Consultation.objects.create(
        patient=patient, referral=referral, held_on=held_on, clinician=user
    )
    audit_record(actor=actor, action=Action.CREATE, obj=consultation)
    return consultation


@transaction.atomic
def episode_record(
    *,
    actor: Actor,
    consultation: Consultation,
    episode_duration_months: int,
    severity: str,
    augmentation_used: bool,
    notes: str = "",
) -> Consultation:
    """Record the current episode as the Maudsley Staging Method needs it: length and severity."""
    consultation.episode_duration_months = episode_duration_months
    consultation.severity = severity
    consultation.augmentation_used = augmentation_used
    consultation.notes = notes.strip()
    consultation.full_clean()
    if not consultation.severity:
        raise ValidationError({"severity": "Choose the severity of the current episode."})
    consultation.save()
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        obj=consultation,
        detail={"fields": ["episode_duration_months", "severity", "augmentation_used", "notes"]},
    )
    return consultation


@transaction.atomic
def checklist_record(
    *, actor: Actor, consultation: Consultation, answers: Mapping[str, bool]
) -> Consultation:
    """Record the history checklist. Every question must be answered yes or no: an unanswered
    question is not a "no", so a partial checklist is refused, naming what is missing. Age is not
    a question (it comes from the date of birth): a "no" for an age rule is ignored, a "yes" refused."""
    in_force = rules.current().contraindications
    codes = [r.code for r in checklist(in_force)]
    derived = {r.code for r in in_force if not r.asked}
    unknown = sorted(set(answers) - set(codes) - derived)
    if unknown:
        raise ValidationError({"checklist": f"Not on the checklist: {', '.join(unknown)}."})
    claimed = sorted(c for c in derived if answers.get(c))
    if claimed:
        raise ValidationError(
            {"checklist": f"Worked out from the date of birth, not answered: {', '.join(claimed)}."}
        )
    missing = [c for c in codes if answers.get(c) is None]
    if missing:
        raise ValidationError({code: "Answer yes or no." for code in missing})
    consultation.checklist = {c: bool(answers[c]) for c in codes}
    consultation.checklist_by = _require_user(actor)
    consultation.checklist_at = timezone.now()
    consultation.save(update_fields=["checklist", "checklist_by", "checklist_at"])
    audit_record(actor=actor, action=Action.UPDATE, obj=consultation, detail={"fields": ["checklist"]})
    return consultation


@transaction.atomic
def trial_record(
    *,
    actor: Actor,
    patient: Patient,
    drug: str,
    daily_dose_mg: Decimal,
    started_on: datetime.date,
    stopped_on: datetime.date | None,
    outcome: str,
    adherence: str = "unknown",
    current_episode: bool = True,
    notes: str = "",
) -> AntidepressantTrial:
    """Record one antidepressant or augmenting-agent trial of a drug in the clinic's table (the
    published defaults plus the drugs the clinic added). The daily dose is in mg; a dose above the
    drug's plausible maximum is refused on `daily_dose_mg` as a likely unit error, nothing saved."""
    known = rules.current().drugs.get(drug)
    if known is None:
        raise ValidationError({"drug": f"{drug!r} is not in the clinic's list of antidepressants."})
    problem = dose_problem(known, Decimal(daily_dose_mg))
    if problem:
        raise ValidationError({"daily_dose_mg": problem[0].upper() + problem[1:]})
    _not_future(started_on, "started_on", "A start date")
    if stopped_on is not None:
        _not_future(stopped_on, "stopped_on", "A stop date")
        if stopped_on < started_on:
            raise ValidationError({"stopped_on": "A trial cannot stop before it starts."})
    trial = AntidepressantTrial(
        patient=patient,
        drug=drug,
        daily_dose_mg=daily_dose_mg,
        started_on=started_on,
        stopped_on=stopped_on,
        outcome=outcome,
        adherence=adherence,
        current_episode=current_episode,
        notes=notes.strip(),
        recorded_by=actor.user,
    )
    trial.full_clean()
    trial.save()
    record_changed([trial.patient_id])  # weeks on trials before ketamine
    audit_record(actor=actor, action=Action.CREATE, obj=trial)
    return trial


@transaction.atomic
def trial_strike_out(*, actor: Actor, trial: AntidepressantTrial, reason: str) -> AntidepressantTrial:
    """Strike out a trial entered in error. It stays on record (shown struck through) and stops
    counting toward resistance and staging."""
    locked = AntidepressantTrial.objects.select_for_update().get(pk=trial.pk)
    if locked.struck_out_at is not None:
        raise ValidationError("This trial was already struck out.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the trial is struck out (for example: entered twice)."})
    locked.struck_out_at = timezone.now()
    locked.struck_out_by = _require_user(actor)
    locked.struck_out_reason = reason.strip()[:200]
    locked.save(update_fields=["struck_out_at", "struck_out_by", "struck_out_reason"])
    record_changed([locked.patient_id])
    audit_record(actor=actor, action=Action.UPDATE, obj=locked, detail={"fields": ["struck_out"]})
    return locked


@transaction.atomic
def prior_treatment_record(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    outcome: str,
    description: str = "",
    started_on: datetime.date | None = None,
    sessions: int | None = None,
    current_episode: bool = True,
) -> PriorTreatment:
    """Record psychotherapy, ECT or TMS the patient has had."""
    if started_on is not None:
        _not_future(started_on, "started_on", "A start date")
    treatment = PriorTreatment(
        patient=patient,
        kind=kind,
        outcome=outcome,
        description=description.strip(),
        started_on=started_on,
        sessions=sessions,
        current_episode=current_episode,
        recorded_by=actor.user,
    )
    treatment.full_clean()
    treatment.save()
    audit_record(actor=actor, action=Action.CREATE, obj=treatment)
    return treatment


def decision_text(decision: CandidacyDecision) -> str:
    """What a signature covers: the content, the signer and the time, as canonical JSON."""
    content = {
        "patient": decision.patient_id,
        "consultation": decision.consultation_id,
        "decision": decision.decision,
        "routes": decision.routes,
        "reasons": decision.reasons,
        "precautions": decision.precautions,
        "plan": decision.plan,
        "snapshot": decision.snapshot,
        "signed_by": decision.signed_by_id,
        "signed_at": decision.signed_at.isoformat(),
        "supersedes": decision.supersedes_id,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def decision_signature(decision: CandidacyDecision) -> str:
    """HMAC-SHA256 under the audit key (kept outside the database) of what was signed: a later
    change shows, and whoever can write to the database cannot re-sign it."""
    return keys.sign(decision_text(decision).encode())


def signature_valid(decision: CandidacyDecision) -> bool:
    """True while the stored decision still matches the signature taken when it was signed."""
    return keys.matches(decision_text(decision).encode(), decision.signature)


def decision_sign(
    *,
    actor: Actor,
    consultation: Consultation,
    decision: str,
    routes: Sequence[str],
    reasons: str,
    precautions: str = "",
    plan: str = "",
    password: str,
) -> CandidacyDecision:
    """The physician signs the candidacy decision, re-entering their password. A later decision
    supersedes the current one; nothing signed is ever changed. An absolute contraindication
    rules its route out, a relative one needs stated precautions, and the history checklist and
    episode must be complete first."""
    user = _require_user(actor)
    if not user.has_perm(SIGN_PERMISSION):
        raise ValidationError("Only a physician can sign a candidacy decision.")
    # The one throttled re-entry: a failure reads the same as any other, counts towards the
    # lockout and stays in the audit trail though the decision is not signed.
    reauthenticate_self(
        actor=actor,
        user=user,
        password=password,
        permission=SIGN_PERMISSION,
        purpose="signing a candidacy decision",
    )
    return _decision_signed(
        actor=actor,
        user=user,
        consultation=consultation,
        decision=decision,
        routes=routes,
        reasons=reasons,
        precautions=precautions,
        plan=plan,
    )


@transaction.atomic
def _decision_signed(
    *,
    actor: Actor,
    user: Any,
    consultation: Consultation,
    decision: str,
    routes: Sequence[str],
    reasons: str,
    precautions: str,
    plan: str,
) -> CandidacyDecision:
    # Lock the patient row: two physicians signing at once queue, and the second supersedes the first.
    Patient.objects.select_for_update().only("id").get(pk=consultation.patient_id)
    consultation = Consultation.objects.select_related("patient").get(pk=consultation.pk)
    errors: dict[str, str] = {}
    unanswered = selectors.checklist_unanswered(consultation)
    if not consultation.checklist:
        errors["checklist"] = "Complete the history checklist before signing."
    elif unanswered:
        # A checklist answered before the clinic added questions: the new ones are not a "no".
        errors["checklist"] = (
            "Answer the history checklist's new questions before signing: " + "; ".join(unanswered) + "."
        )
    if consultation.episode_duration_months is None or not consultation.severity:
        errors["episode"] = "Record the length and severity of the current episode before signing."
    try:
        chosen = Decision(decision)
    except ValueError:
        errors["decision"] = "Choose eligible, eligible with precautions or not eligible."
    try:
        route_list = [Route(r) for r in dict.fromkeys(routes)]
    except ValueError:
        errors["routes"] = f"Routes are {', '.join(Route)}."
    if not reasons.strip():
        errors["reasons"] = "Write the reasons for the decision."
    if errors:
        raise ValidationError(errors)
    staging = selectors.consultation_staging(consultation)
    if staging is None:  # the episode was checked above; kept for the type checker
        raise ValidationError({"episode": "Record the current episode before signing."})
    problems = decision_problems(
        decision=chosen, routes=route_list, findings=staging.contraindications, precautions=precautions
    )
    if problems:
        raise ValidationError(problems)
    current = CandidacyDecision.objects.current().filter(patient_id=consultation.patient_id).first()
    signed = CandidacyDecision(
        patient_id=consultation.patient_id,
        consultation=consultation,
        decision=chosen.value,
        routes=[r.value for r in route_list],
        reasons=reasons.strip(),
        precautions=precautions.strip(),
        plan=plan.strip(),
        snapshot=selectors.decision_snapshot(consultation, staging),
        signed_by=user,
        signed_at=timezone.now(),
        supersedes=current,
    )
    signed.signature = decision_signature(signed)
    signed.save()
    audit_record(
        actor=actor,
        action=Action.CREATE,
        obj=signed,
        detail={"decision": signed.decision, "supersedes": current.pk if current else None},
    )
    return signed


def require_eligible(*, patient: Patient, route: str) -> CandidacyDecision:
    """The patient's current signed decision, if it makes them eligible for this route; else a
    ValidationError saying why. Starting a treatment plan calls this first."""
    current = selectors.current_decision(patient_id=patient.pk)
    if current is None:
        raise ValidationError(
            {
                "patient": "No candidacy decision is signed for this patient: "
                "a physician must assess them first."
            }
        )
    if not current.is_eligible:
        raise ValidationError({"patient": "The current candidacy decision is: not eligible."})
    if route not in current.routes:
        raise ValidationError({"route": f"The current candidacy decision does not cover {route}."})
    return current
