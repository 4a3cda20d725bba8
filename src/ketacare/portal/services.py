"""Changes to the public pages, by the clinic admin: each saved in one transaction and audited
(what changed, not the text)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.clinical import instruments
from ketacare.portal.content import BY_SLUG
from ketacare.portal.models import Enquiry, PublicPage, PublicSite

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
