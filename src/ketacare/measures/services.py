"""Measure writes: responses and the safety alerts they raise, acknowledgements, self-report links.

A response and its alert are written in one transaction: a positive suicide item can never be
stored without its alert, and an alert never exists without the answers that raised it.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record_many, spec_for
from ketacare.bulk import bulk_insert
from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import (
    SAFETY_ITEM_MISSING,
    SEVERE_SYMPTOMS,
    SUICIDAL_BEHAVIOR,
    SUICIDAL_IDEATION,
    SUICIDE_RISK_HIGH,
    SUICIDE_RISK_MODERATE,
    Answer,
    Instrument,
)
from ketacare.clinical.outcomes import OUTCOME_SCALES
from ketacare.measures.models import (
    RESPONSE_BULK_COLUMNS,
    Context,
    QuestionnaireResponse,
    SafetyAlert,
    SelfReportLink,
    Source,
)
from ketacare.patients.models import Patient
from ketacare.patients.services import record_changed

URGENT_FLAGS = frozenset({SUICIDAL_IDEATION, SUICIDAL_BEHAVIOR, SUICIDE_RISK_HIGH, SUICIDE_RISK_MODERATE})
FOLLOW_UP_FLAGS = frozenset({SEVERE_SYMPTOMS, SAFETY_ITEM_MISSING})
# Flags that show the patient crisis resources at once on the self-report page.
CRISIS_FLAGS = URGENT_FLAGS

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


def alert_priority(flags: Sequence[str]) -> int | None:
    if URGENT_FLAGS.intersection(flags):
        return SafetyAlert.Priority.URGENT
    if FOLLOW_UP_FLAGS.intersection(flags):
        return SafetyAlert.Priority.FOLLOW_UP
    return None


def scored(scale: Instrument, answers: Sequence[Answer]) -> dict[str, Any]:
    """A response's scored fields, as every way in stores them (staff, self-report, history
    import): the answers padded to the scale's length (None: not answered) and the scale's own
    scoring. Raises instruments.ScoringError for answers the scale cannot take."""
    score = scale.score(answers)
    return {
        "answers": list(answers) + [None] * (len(scale.items) - len(answers)),
        "item_scores": list(score.item_scores),
        "total": score.total,
        "band": score.band or "",
        "flags": list(score.flags),
        "complete": score.complete,
        "prorated": score.prorated,
    }


def scored_total(scale: Instrument, total: int) -> dict[str, Any]:
    """The scored fields of a total given without its items (history from another system): its
    band by the scale's own cut-offs, no items and no flags. The caller checks the range."""
    return {
        "answers": [],
        "item_scores": [],
        "total": total,
        "band": scale.band_for(total) or "",
        "flags": [],
        "complete": True,
        "prorated": False,
    }


def responses_import(rows: Sequence[Mapping[str, Any]]) -> int:
    """`response_record`'s bulk variant for a history import. Each row: `patient_id`,
    `instrument`, `context`, `administered_at` and the fields of `scored` or `scored_total`.
    Stored as imported, and their patients' outcomes marked to catch up. No safety alert is
    raised for history (each score keeps its flags). Runs inside the caller's transaction; the
    caller records the audit events. Returns the number stored."""
    now = timezone.now()
    written = bulk_insert(
        QuestionnaireResponse,
        RESPONSE_BULK_COLUMNS,
        [
            (
                r["patient_id"],
                r["instrument"],
                r["answers"],
                r["item_scores"],
                r["total"],
                r["band"],
                r["flags"],
                r["complete"],
                r["prorated"],
                r["context"],
                None,  # minutes after the dose: not known for history
                r["administered_at"],
                Source.IMPORT,
                now,
            )
            for r in rows
        ],
    )
    record_changed(
        r["patient_id"] for r in rows if r["instrument"] in OUTCOME_SCALES and r["total"] is not None
    )
    return written


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
) -> QuestionnaireResponse:
    try:
        scale = instruments.get(instrument)
        fields = scored(scale, answers)
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
        **fields,
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
        record_changed([patient.pk])  # the outcomes catch up later, never here
    records: list[QuestionnaireResponse | SafetyAlert] = [response]
    priority = alert_priority(response.flags)
    if priority is not None:
        records.append(
            SafetyAlert.objects.create(
                patient=patient,
                response=response,
                flags=list(response.flags),
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
    """Score and store a scale entered by staff (or sent by another system through the REST API,
    with its token); raise its safety alert in the same transaction."""
    return _record(
        actor=actor,
        patient=patient,
        instrument=instrument,
        answers=answers,
        context=context,
        administered_at=administered_at or timezone.now(),
        minutes_after_dose=minutes_after_dose,
        source=Source.SYSTEM if actor.system else Source.STAFF,
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

# 32 random bytes: 256 bits, 43 URL-safe characters. A token that long cannot be guessed, so a
# plain SHA-256 of it (no salt, no slow hash) is enough to make the stored digest useless to a
# reader of the database, and a lookup is one probe of a unique index.
TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64  # longer is not one of ours: not hashed, not looked up

INVALID = "This link is not valid. Please check that you copied all of it."
USED = "This questionnaire has already been filled in. Thank you."
# An expired link and a revoked one read the same to the patient: whoever holds the phone learns
# nothing from the difference.
CLOSED = "This link has expired. Please ask the clinic for a new one."


def link_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.SELF_REPORT_LINK_HOURS)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def self_report_link_create(
    *, actor: Actor, patient: Patient, instrument: str, context: str = Context.FOLLOW_UP
) -> tuple[SelfReportLink, str]:
    """A single-use link for the patient to fill in one scale. Returns the link and the token for
    its URL, once: the token is random (it names no link, patient or scale) and only its SHA-256
    digest is stored, so nobody can show the URL again, and the database cannot open it."""
    if actor.user is None and not actor.system:
        raise ValidationError("A self-report link is created by a signed-in member of staff.")
    scale = instruments.get(instrument) if instrument in instruments.CODES else None
    if scale is None:
        raise ValidationError({"instrument": f"unknown scale {instrument!r}"})
    if scale.rater != "patient":
        raise ValidationError({"instrument": f"{scale.name} is rated by a clinician, not by the patient."})
    now = timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = SelfReportLink.objects.create(
        patient=patient,
        instrument=instrument,
        context=context,
        token_digest=token_digest(token),
        created_by=actor.user,
        created_at=now,
        expires_at=now + link_lifetime(),
    )
    audit_record_many(actor=actor, specs=[spec_for(link, Action.CREATE)])
    return link, token


@transaction.atomic
def self_report_link_revoke(*, actor: Actor, link: SelfReportLink) -> SelfReportLink:
    """Staff withdraw a link before the patient uses it (sent to the wrong number, no longer
    wanted). From then on the patient's page shows the same closed page as an expired link. The
    row is locked, so a revocation and the patient's submission cannot both succeed. Revoking a
    link already revoked, used or expired changes nothing and writes no audit event."""
    if actor.user is None:
        raise ValidationError("A self-report link is revoked by a signed-in member of staff.")
    locked = SelfReportLink.objects.select_for_update().get(pk=link.pk)
    now = timezone.now()
    if locked.revoked_at is not None or locked.used_at is not None or locked.expires_at <= now:
        return locked
    locked.revoked_at = now
    locked.revoked_by = actor.user
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record_many(actor=actor, specs=[spec_for(locked, Action.UPDATE, {"fields": ["revoked"]})])
    return locked


class LinkUnusable(Exception):
    """The link cannot be used; `reason` is what the patient is told."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _check_open(link: SelfReportLink) -> None:
    if link.used_at is not None:
        raise LinkUnusable(USED, "used")
    if link.revoked_at is not None or link.expires_at <= timezone.now():
        raise LinkUnusable(CLOSED, "expired")


def self_report_link_open(token: str) -> SelfReportLink:
    """The link a token opens, if it may still be used; otherwise LinkUnusable saying why. The
    link's patient is not loaded: the patient's page has no use for who they are."""
    if ":" in token:
        # A signed token from before opaque tokens (payload:signature; a random token has no
        # colon). Those links were retired by migration 0003: say so rather than "not valid".
        raise LinkUnusable(CLOSED, "expired")
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise LinkUnusable(INVALID, "invalid")
    try:
        link = SelfReportLink.objects.get(token_digest=token_digest(token))
    except SelfReportLink.DoesNotExist:
        raise LinkUnusable(INVALID, "invalid") from None
    _check_open(link)
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
    actor = Actor(user=None, ip=ip, user_agent=user_agent, system="patient-self-report")
    return _submit(lambda: self_report_link_open(token), actor=actor, answers=answers)


def self_report_link_own(*, link_id: int, patient_id: int) -> SelfReportLink:
    """A patient signed in to the portal opens one of their own questionnaires due by its id
    (the link's token was sent to them, not kept): LinkUnusable if it is not theirs or is closed."""
    link = SelfReportLink.objects.filter(pk=link_id, patient_id=patient_id).defer("token_digest").first()
    if link is None:
        raise LinkUnusable(INVALID, "invalid")
    _check_open(link)
    return link


def self_report_submit_own(
    *, actor: Actor, link_id: int, patient_id: int, answers: Sequence[Answer]
) -> Submitted:
    """`self_report_submit` for a patient signed in to the portal (`actor`: the patient)."""
    return _submit(
        lambda: self_report_link_own(link_id=link_id, patient_id=patient_id), actor=actor, answers=answers
    )


def _submit(opened: Callable[[], SelfReportLink], *, actor: Actor, answers: Sequence[Answer]) -> Submitted:
    try:
        with transaction.atomic():
            link = opened()
            link = SelfReportLink.objects.select_for_update().select_related("patient").get(pk=link.pk)
            _check_open(link)  # again under the lock: used or revoked meanwhile
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
        raise LinkUnusable(USED, "used") from None
    return Submitted(response, bool(CRISIS_FLAGS.intersection(response.flags)))
