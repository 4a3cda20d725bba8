"""Measure writes: responses and the safety alerts they raise, acknowledgements, self-report links.

A response and its alert are written in one transaction: a positive suicide item can never be
stored without its alert, and an alert never exists without the answers that raised it.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record_many, spec_for
from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import (
    SAFETY_ITEM_MISSING,
    SEVERE_SYMPTOMS,
    SUICIDAL_BEHAVIOR,
    SUICIDAL_IDEATION,
    SUICIDE_RISK_HIGH,
    SUICIDE_RISK_MODERATE,
    Answer,
)
from ketacare.clinical.outcomes import OUTCOME_SCALES
from ketacare.measures.models import Context, QuestionnaireResponse, SafetyAlert, SelfReportLink, Source
from ketacare.outcomes import services as outcome_changes
from ketacare.patients.models import Patient

URGENT_FLAGS = frozenset({SUICIDAL_IDEATION, SUICIDAL_BEHAVIOR, SUICIDE_RISK_HIGH, SUICIDE_RISK_MODERATE})
FOLLOW_UP_FLAGS = frozenset({SEVERE_SYMPTOMS, SAFETY_ITEM_MISSING})
# Flags that show the patient crisis resources at once on the self-report page.
CRISIS_FLAGS = URGENT_FLAGS

LINK_SALT = "ketacare.measures.self-report"
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


def alert_priority(flags: Sequence[str]) -> int | None:
    if URGENT_FLAGS.intersection(flags):
        return SafetyAlert.Priority.URGENT
    if FOLLOW_UP_FLAGS.intersection(flags):
        return SafetyAlert.Priority.FOLLOW_UP
    return None


def _record(
    *,
    actor: Actor,
    patient: Patient,
    instrument: str,
    answers: Sequence[Answer],
    context: str,
    administered_at: datetime.datetime,
    minutes_after_dose: int | None,
    source: str,
    entered_by: User | None,
    raise_alert: bool = True,
) -> QuestionnaireResponse:
    try:
        scale = instruments.get(instrument)
        score = scale.score(answers)
    except instruments.UnknownInstrument as exc:
        raise ValidationError({"instrument": str(exc)}) from None
    except instruments.ScoringError as exc:
        raise ValidationError({"answers": str(exc)}) from None
    if context not in Context.values:
        raise ValidationError({"context": f"{context!r} is not a context ({', '.join(Context.values)})"})
    if administered_at > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({"administered_at": "A rating cannot be dated in the future."})
    if minutes_after_dose is not None and context != Context.POST_SESSION:
        # The table's check constraint, said here so it costs no query to check.
        raise ValidationError(
            {"minutes_after_dose": "Minutes after the dose apply only to a post-session rating."}
        )
    response = QuestionnaireResponse(
        patient=patient,
        instrument=scale.code,
        answers=list(answers) + [None] * (len(scale.items) - len(answers)),
        item_scores=list(score.item_scores),
        total=score.total,
        band=score.band or "",
        flags=list(score.flags),
        complete=score.complete,
        prorated=score.prorated,
        context=context,
        minutes_after_dose=minutes_after_dose,
        administered_at=administered_at,
        source=source,
        entered_by=entered_by,
    )
    # The patient and the user are model instances already, and the one check constraint is
    # checked above: no query to validate them (the database still enforces both).
    response.full_clean(exclude=["patient", "entered_by"], validate_constraints=False)
    response.save()
    if instrument in OUTCOME_SCALES and response.total is not None:
        outcome_changes.mark_changed([patient.pk])  # the outcomes catch up later, never here
    records: list[QuestionnaireResponse | SafetyAlert] = [response]
    priority = alert_priority(score.flags)
    if raise_alert and priority is not None:
        records.append(
            SafetyAlert.objects.create(
                patient=patient,
                response=response,
                flags=list(score.flags),
                priority=priority,
                created_at=timezone.now(),
            )
        )
    audit_record_many(actor=actor, specs=[spec_for(r, Action.CREATE) for r in records])
    return response


@transaction.atomic
def response_record(
    *,
    actor: Actor,
    patient: Patient,
    instrument: str,
    answers: Sequence[Answer],
    context: str,
    administered_at: datetime.datetime | None = None,
    minutes_after_dose: int | None = None,
) -> QuestionnaireResponse:
    """Score and store a scale entered by staff; raise its safety alert in the same transaction."""
    return _record(
        actor=actor,
        patient=patient,
        instrument=instrument,
        answers=answers,
        context=context,
        administered_at=administered_at or timezone.now(),
        minutes_after_dose=minutes_after_dose,
        source=Source.STAFF,
        entered_by=actor.user,
    )


@transaction.atomic
def alert_acknowledge(*, actor: Actor, alert: SafetyAlert, note: str) -> SafetyAlert:
    """A clinician records what was done about an alert. Once only: a second acknowledgement is
    refused and names who acknowledged it first."""
    note = note.strip()
    if not note:
        raise ValidationError(
            {"note": "Write what was done (for example: called the patient, safety plan reviewed)."}
        )
    locked = (
        SafetyAlert.objects.select_for_update(of=("self",)).select_related("acknowledged_by").get(pk=alert.pk)
    )
    if locked.acknowledged_at is not None:
        who = locked.acknowledged_by.get_username() if locked.acknowledged_by else "someone"
        when = timezone.localtime(locked.acknowledged_at)
        raise ValidationError({"note": f"Already acknowledged by {who} at {when:%Y-%m-%d %H:%M}."})
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = actor.user
    locked.acknowledgement_note = note
    locked.full_clean()
    locked.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement_note"])
    audit_record_many(actor=actor, specs=[spec_for(locked, Action.UPDATE, {"fields": ["acknowledged"]})])
    return locked


# --- self-report links ---------------------------------------------------------------------------


def link_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.SELF_REPORT_LINK_HOURS)


@transaction.atomic
def self_report_link_create(
    *, actor: Actor, patient: Patient, instrument: str, context: str = Context.FOLLOW_UP
) -> tuple[SelfReportLink, str]:
    """A signed, single-use link for the patient to fill in one scale. Returns the link and the
    token for its URL; the token is not stored (only its random nonce is)."""
    if actor.user is None:
        raise ValidationError("A self-report link is created by a signed-in member of staff.")
    scale = instruments.get(instrument) if instrument in instruments.CODES else None
    if scale is None:
        raise ValidationError({"instrument": f"unknown scale {instrument!r}"})
    if scale.rater != "patient":
        raise ValidationError({"instrument": f"{scale.name} is rated by a clinician, not by the patient."})
    now = timezone.now()
    link = SelfReportLink.objects.create(
        patient=patient,
        instrument=instrument,
        context=context,
        nonce=secrets.token_hex(16),
        created_by=actor.user,
        created_at=now,
        expires_at=now + link_lifetime(),
    )
    token = signing.dumps({"l": link.pk, "p": patient.pk, "n": link.nonce}, salt=LINK_SALT)
    audit_record_many(actor=actor, specs=[spec_for(link, Action.CREATE)])
    return link, token


class LinkUnusable(Exception):
    """The link cannot be used; `reason` is what the patient is told."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def self_report_link_open(token: str) -> SelfReportLink:
    """The link a token names, if it may still be used; otherwise LinkUnusable saying why."""
    try:
        payload = signing.loads(token, salt=LINK_SALT)
        link = SelfReportLink.objects.select_related("patient").get(pk=int(payload["l"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, SelfReportLink.DoesNotExist):
        raise LinkUnusable(
            "This link is not valid. Please check that you copied all of it.", "invalid"
        ) from None
    if payload.get("p") != link.patient_id or payload.get("n") != link.nonce:
        raise LinkUnusable("This link is not valid. Please check that you copied all of it.", "invalid")
    if link.used_at is not None:
        raise LinkUnusable("This questionnaire has already been filled in. Thank you.", "used")
    if link.expires_at <= timezone.now():
        raise LinkUnusable("This link has expired. Please ask the clinic for a new one.", "expired")
    return link


@dataclass(frozen=True, slots=True)
class Submitted:
    response: QuestionnaireResponse
    show_crisis_resources: bool


def self_report_submit(
    *, token: str, answers: Sequence[Answer], ip: str | None, user_agent: str
) -> Submitted:
    """Store the patient's answers once. Two submissions of the same link (a double tap, two tabs)
    store one response and one alert: the link row is locked and the response is unique per link."""
    try:
        with transaction.atomic():
            link = self_report_link_open(token)
            link = SelfReportLink.objects.select_for_update().select_related("patient").get(pk=link.pk)
            if link.used_at is not None:
                raise LinkUnusable("This questionnaire has already been filled in. Thank you.", "used")
            actor = Actor(user=None, ip=ip, user_agent=user_agent, system="patient-self-report")
            response = _record(
                actor=actor,
                patient=link.patient,
                instrument=link.instrument,
                answers=answers,
                context=link.context,
                administered_at=timezone.now(),
                minutes_after_dose=None,
                source=Source.PATIENT_LINK,
                entered_by=None,
            )
            link.used_at = response.created_at
            link.response = response
            link.save(update_fields=["used_at", "response"])
    except IntegrityError:
        raise LinkUnusable("This questionnaire has already been filled in. Thank you.", "used") from None
    return Submitted(response, bool(CRISIS_FLAGS.intersection(response.flags)))
