"""The patient's sign-in to the portal: no password to forget. The patient gives their e-mail
address or mobile number and their date of birth; if they match a patient, a 6-digit code goes
to that address or number, working once, for 10 minutes. The page answers the same whether or
not they matched (nobody learns who is a patient). Wrong codes: the code ends after 5, and an
address is paused after 20 failures in an hour (the staff sign-in's numbers, accounts/)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.patients.models import Patient, phone_digits
from ketacare.portal import limits, sms
from ketacare.portal.models import PortalCode, PublicSite

log = logging.getLogger(__name__)
CODE_MINUTES = 10
CODE_FAILURES = 5  # wrong codes that end a code
ADDRESS_FAILURES = 20  # failures from one address in an hour that pause it
CODE_REQUESTS_PER_HOUR = 10  # codes one address may ask for in an hour
SESSION_KEY = "ketacare_portal_patient"


def _digest(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def find(contact: str, born: datetime.date) -> tuple[Patient, str] | None:
    """The patient with this e-mail address or mobile number and date of birth, and the channel;
    None unless exactly one matches."""
    contact = contact.strip()
    if "@" in contact:
        found = list(Patient.objects.filter(email__iexact=contact, date_of_birth=born)[:2])
        channel = "email"
    else:
        digits = phone_digits(contact)
        found = [
            p
            for p in Patient.objects.filter(date_of_birth=born)
            if digits and phone_digits(p.phone) == digits
        ][:2]
        channel = "sms"
    return (found[0], channel) if len(found) == 1 else None


def code_send(*, actor: Actor, contact: str, born: datetime.date) -> int | None:
    """Send a code if the details match a patient; returns the code's id (kept in the session)
    or None. The caller answers the same either way. The code is kept (and audited) in one
    transaction, then sent; a send that fails leaves a code nobody has, which expires."""
    match = find(contact, born)
    if match is None:
        return None
    patient, channel = match
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        row = PortalCode.objects.create(
            patient=patient,
            digest=_digest(code),
            channel=channel,
            expires_at=timezone.now() + datetime.timedelta(minutes=CODE_MINUTES),
        )
        audit_record_many(
            actor=actor,
            specs=[
                EventSpec(Action.CREATE, "portal.portalcode", str(row.pk), patient.pk, {"channel": channel})
            ],
        )
    site = PublicSite.objects.filter(pk=1).first() or PublicSite()
    text = (
        f"{site.clinic_name}: your sign-in code is {code}. It works for {CODE_MINUTES} minutes. "
        "If you did not ask for it, ignore this."
    )
    try:
        if channel == "sms":
            sms.backend().send(patient.phone, text)
        else:
            send_mail("Your sign-in code", text, None, [patient.email])
    except Exception:  # noqa: BLE001 - the page answers the same; the patient asks again
        log.warning("A portal sign-in code could not be sent (%s)", channel)
    return row.pk


@dataclass(frozen=True)
class Checked:
    patient_id: int | None
    problem: str = ""


WRONG = "That code is not right, or it has expired. Ask for a new one if you need to."


def paused(ip: str | None) -> bool:
    return limits.counted("portal-failures", ip) >= ADDRESS_FAILURES


@transaction.atomic
def code_check(*, actor: Actor, code_id: int | None, typed: str) -> Checked:
    """Is `typed` the code `code_id` sent? Once only, in time, before too many wrong tries.
    Audited: a sign-in, or a failed one."""
    row = PortalCode.objects.select_for_update().filter(pk=code_id).first() if code_id else None
    now = timezone.now()
    usable = row is not None and row.used_at is None and row.expires_at > now and row.failures < CODE_FAILURES
    good = usable and row is not None and hmac.compare_digest(row.digest, _digest(typed.strip()))
    if row is not None and usable and not good:
        row.failures += 1
        row.save(update_fields=["failures"])
    if not good or row is None:
        limits.count("portal-failures", actor.ip)
        audit_record_many(
            actor=actor,
            specs=[
                EventSpec(
                    Action.LOGIN_FAILED,
                    "portal.portalcode",
                    str(code_id or ""),
                    row.patient_id if row else None,
                    {"portal": True},
                )
            ],
        )
        return Checked(None, WRONG)
    row.used_at = now
    row.save(update_fields=["used_at"])
    audit_record_many(
        actor=actor,
        specs=[EventSpec(Action.LOGIN, "portal.portalcode", str(row.pk), row.patient_id, {"portal": True})],
    )
    return Checked(row.patient_id)
