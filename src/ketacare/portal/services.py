"""Changes to the public pages, by the clinic admin: each saved in one transaction and audited
(what changed, not the text)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record, audit_record_many
from ketacare.clinical import instruments
from ketacare.patients.models import Patient
from ketacare.portal.content import BY_SLUG
from ketacare.portal.models import Enquiry, MoveRequest, PublicPage, PublicSite, SharedDocument

BODY_MAX = 20_000  # characters: a long page, and no more


@transaction.atomic
def page_save(*, actor: Actor, slug: str, title: str, body: str) -> PublicPage:
    """Save a page's text; an empty text goes back to the shipped default."""
    if slug not in BY_SLUG:
        raise ValidationError({"slug": f"No public page {slug!r}."})
    title, body = title.strip(), body.strip()
    if not title:
        raise ValidationError({"title": "Give the page a title."})
    if len(body) > BODY_MAX:
        raise ValidationError({"body": f"Keep the page under {BODY_MAX:,} characters ({len(body):,} now)."})
    page, made = PublicPage.objects.get_or_create(slug=slug, defaults={"title": title, "body": body})
    page.title, page.body, page.updated_by = title, body, actor.user
    page.full_clean(exclude=["body"] if not body else None)
    if body:
        page.save()
    else:
        page.delete()
    detail = {"page": slug, "fields": ["title", "body"], "default_restored": not body}
    audit_record_many(
        actor=actor,
        specs=[EventSpec(Action.CREATE if made else Action.UPDATE, "portal.publicpage", slug, detail=detail)],
    )
    return page


@transaction.atomic
def site_save(*, actor: Actor, **fields: Any) -> PublicSite:
    site, _ = PublicSite.objects.select_for_update().get_or_create(pk=1)
    changed = sorted(k for k, v in fields.items() if getattr(site, k) != v)
    for key, value in fields.items():
        setattr(site, key, value)
    site.updated_by = actor.user
    site.full_clean()
    site.save()
    audit_record_many(
        actor=actor, specs=[EventSpec(Action.UPDATE, "portal.publicsite", "1", detail={"fields": changed})]
    )
    return site


# -- Enquiries: "talk to a doctor" --------------------------------------------------------------

MESSAGE_MAX = 2000  # characters a visitor may write


@transaction.atomic
def enquiry_submit(*, actor: Actor, details: dict[str, Any], phq9: list[int | None] | None) -> Enquiry:
    """Keep a visitor's enquiry for the front desk's queue. A PHQ-9 is scored with the clinic's
    scoring; any answer above "not at all" on item 9 (thoughts of self-harm) makes the enquiry
    urgent. The pre-screen only shapes the caller's notes: nobody is refused by it."""
    enquiry = Enquiry(**details)
    if phq9 is not None and any(a is not None for a in phq9):
        score = instruments.get("phq9").score(phq9)
        enquiry.phq9_answers, enquiry.phq9_total = list(phq9), score.total
        enquiry.urgent = "suicidal_ideation" in score.flags  # item 9 above "not at all" (phq9.py)
    enquiry.full_clean()
    enquiry.save()
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(Action.CREATE, "portal.enquiry", str(enquiry.pk), detail={"urgent": enquiry.urgent})
        ],
    )
    return enquiry


def _handled(actor: Actor, enquiry: Enquiry, status: str, note: str, **fields: Any) -> Enquiry:
    locked = Enquiry.objects.select_for_update().get(pk=enquiry.pk)
    if locked.status in (Enquiry.Status.REFERRED, Enquiry.Status.DECLINED):
        raise ValidationError({"status": f"This enquiry is closed ({locked.get_status_display().lower()})."})
    locked.status, locked.status_note = status, note.strip()[:300]
    locked.handled_by, locked.handled_at = actor.user, timezone.now()
    for key, value in fields.items():
        setattr(locked, key, value)
    locked.save()
    audit_record_many(
        actor=actor,
        specs=[EventSpec(Action.UPDATE, "portal.enquiry", str(locked.pk), detail={"status": status})],
    )
    return locked


@transaction.atomic
def enquiry_called_back(*, actor: Actor, enquiry: Enquiry, note: str) -> Enquiry:
    if not note.strip():
        raise ValidationError({"note": "Say what was agreed on the call (for example: consultation wanted)."})
    return _handled(actor, enquiry, Enquiry.Status.CALLED_BACK, note)


@transaction.atomic
def enquiry_decline(*, actor: Actor, enquiry: Enquiry, reason: str) -> Enquiry:
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason (for example: wants treatment we do not offer)."})
    return _handled(actor, enquiry, Enquiry.Status.DECLINED, reason)


@transaction.atomic
def enquiry_refer(
    *,
    actor: Actor,
    enquiry: Enquiry,
    sex: str,
    consent_to_assessment: bool,
    confirm_not_duplicate: bool = False,
) -> Enquiry:
    """The enquiry becomes a patient and their self-referral, in one step and one transaction:
    registered with the details given (the duplicate check as at registration: a possible
    duplicate refuses, naming them, until confirmed a different person), then the referral with
    what they sought help for and their words."""
    from ketacare.patients.services import patient_register
    from ketacare.screening.services import referral_record

    if enquiry.status in (Enquiry.Status.REFERRED, Enquiry.Status.DECLINED):
        raise ValidationError({"status": f"This enquiry is closed ({enquiry.get_status_display().lower()})."})
    details = {
        "given_name": enquiry.given_name,
        "family_name": enquiry.family_name,
        "date_of_birth": enquiry.date_of_birth,
        "sex": sex,
        "phone": enquiry.phone,
        "email": enquiry.email,
    }
    patient = patient_register(actor=actor, details=details, confirm_not_duplicate=confirm_not_duplicate)
    words = enquiry.message.strip() or "Asked to talk to a doctor."
    clinician = (
        f" Referring clinician named: {enquiry.referring_clinician}." if enquiry.referring_clinician else ""
    )
    referral = referral_record(
        actor=actor,
        patient=patient,
        referring_provider=None,
        received_on=timezone.localtime(enquiry.received_at).date(),
        reason=f"Self-referral through the clinic's website: {words}{clinician}",
        presenting_conditions=enquiry.seeking,
        consent_to_treatment=consent_to_assessment,
        consent_to_share=False,
    )
    return _handled(
        actor, enquiry, Enquiry.Status.REFERRED, f"Registered as {patient.mrn}", referral=referral
    )


# -- The patient's requests and the documents shared with them ----------------------------------

PREFERRED_MAX = 500  # characters a patient may write about when would suit them
RESHARE_SECONDS = 300  # the same document shared again this soon is a double click, not a new copy


@transaction.atomic
def move_request_make(*, actor: Actor, patient: Any, appointment_id: int, preferred: str) -> MoveRequest:
    """A patient asks to move one of their own upcoming, booked appointments. One request waits
    per appointment (a second tap or tab is told so); the appointment itself is not changed."""
    from ketacare.treatment.models import Appointment

    preferred = preferred.strip()
    if not preferred:
        raise ValidationError({"preferred": "Say which days or times would suit you instead."})
    if len(preferred) > PREFERRED_MAX:
        raise ValidationError(
            {"preferred": f"Keep it under {PREFERRED_MAX} characters ({len(preferred)} now)."}
        )
    appointment = (
        Appointment.objects.select_for_update()
        .filter(pk=appointment_id, patient_id=patient.pk, status=Appointment.Status.BOOKED)
        .first()
    )
    if appointment is None or appointment.starts_at <= timezone.now():
        raise ValidationError({"appointment": "That appointment cannot be moved from here: call the clinic."})
    if MoveRequest.objects.filter(appointment=appointment, status=MoveRequest.Status.OPEN).exists():
        raise ValidationError(
            {"appointment": "You have asked to move this appointment already: the clinic will contact you."}
        )
    request = MoveRequest.objects.create(patient_id=patient.pk, appointment=appointment, preferred=preferred)
    audit_record(actor=actor, action=Action.CREATE, obj=request, detail={"appointment": appointment.pk})
    return request


@transaction.atomic
def move_request_close(*, actor: Actor, request: MoveRequest, moved: bool, note: str) -> MoveRequest:
    """The front desk closes a request: the appointment was moved (on the calendar), or it was
    not, with the reason."""
    locked = MoveRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != MoveRequest.Status.OPEN:
        raise ValidationError({"status": f"This request is closed ({locked.get_status_display().lower()})."})
    note = note.strip()
    if not moved and not note:
        raise ValidationError({"note": "Say why it was not moved (the patient is told by the clinic)."})
    locked.status = MoveRequest.Status.MOVED if moved else MoveRequest.Status.NOT_MOVED
    locked.status_note, locked.handled_by, locked.handled_at = note[:300], actor.user, timezone.now()
    locked.save()
    audit_record(actor=actor, action=Action.UPDATE, obj=locked, detail={"status": locked.status})
    return locked


@transaction.atomic
def document_share(
    *, actor: Actor, patient: Any, kind: str, decision_id: int | None = None
) -> SharedDocument:
    """Share a letter or report with the patient: a copy made now (the PDF as staff would print
    it) that the patient downloads from the portal."""
    user: Any = actor.user
    if user is None or not user.has_perm("portal.share_document"):
        raise ValidationError("Only a physician can share letters and reports with the patient.")
    today = timezone.localdate()
    # One sharing at a time per patient (the row lock), so a double click shares one copy.
    Patient.objects.select_for_update().only("id").get(pk=patient.pk)
    if kind == SharedDocument.Kind.CONSULTATION_LETTER:
        from ketacare.screening.letters import letter_pdf
        from ketacare.screening.models import CandidacyDecision

        decision = (
            CandidacyDecision.objects.select_related("patient", "patient__referring_provider", "signed_by")
            .filter(pk=decision_id or 0, patient_id=patient.pk)
            .first()
        )
        if decision is None:
            raise ValidationError({"decision": "No such consultation decision for this patient."})
        pdf, about = letter_pdf(decision), f"decision:{decision.pk}"
        title = f"Consultation letter, {timezone.localtime(decision.signed_at):%-d %b %Y}"
    elif kind == SharedDocument.Kind.PROGRESS_REPORT:
        from ketacare.outcomes.report import report_pdf

        pdf, about, title = report_pdf(patient), "", f"Progress report, {today:%-d %b %Y}"
    else:
        raise ValidationError({"kind": f"Choose {' or '.join(SharedDocument.Kind.labels).lower()}."})
    recent = timezone.now() - datetime.timedelta(seconds=RESHARE_SECONDS)
    if SharedDocument.objects.filter(
        patient_id=patient.pk, kind=kind, about=about, withdrawn_at__isnull=True, shared_at__gte=recent
    ).exists():
        raise ValidationError({"document": "This document was shared with the patient a moment ago already."})
    document = SharedDocument.objects.create(
        patient_id=patient.pk,
        kind=kind,
        title=title,
        pdf=pdf,
        about=about,
        shared_at=timezone.now(),
        shared_by=user,
    )
    audit_record(
        actor=actor,
        action=Action.CREATE,
        obj=document,
        detail={"kind": kind, "about": about, "disclosed_to": "patient"},
    )
    return document


@transaction.atomic
def document_unshare(*, actor: Actor, document: SharedDocument) -> SharedDocument:
    """Stop showing a shared document in the patient's portal (a wrong one, say). The copy and
    the record that it was shared stay."""
    locked = SharedDocument.objects.select_for_update().get(pk=document.pk)
    if locked.withdrawn_at is not None:
        raise ValidationError({"document": "This document is no longer shared already."})
    locked.withdrawn_at, locked.withdrawn_by = timezone.now(), actor.user
    locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
    audit_record(actor=actor, action=Action.UPDATE, obj=locked, detail={"shared": False})
    return locked


@transaction.atomic
def document_open(*, actor: Actor, patient: Any, document_id: int) -> SharedDocument:
    """The patient opens a document shared with them (only theirs, only while shared): the first
    opening is kept, so staff see that it was read; each opening is audited."""
    document = (
        SharedDocument.objects.select_for_update()
        .filter(pk=document_id, patient_id=patient.pk, withdrawn_at__isnull=True)
        .first()
    )
    if document is None:
        raise SharedDocument.DoesNotExist
    if document.first_opened_at is None:
        document.first_opened_at = timezone.now()
        document.save(update_fields=["first_opened_at"])
    audit_record(actor=actor, action=Action.VIEW, obj=document)
    return document
