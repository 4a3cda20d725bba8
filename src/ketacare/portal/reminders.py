"""Reminders and follow-up, made and sent by `ketacare send-due` (safe to run every minute):

- an appointment reminder at each of KETACARE_REMINDER_HOURS before a booked appointment (48 and
  24 by default; an appointment booked later than a reminder's hour gets only the latest one due);
- preparation for tomorrow's treatment, from KETACARE_PREPARATION_HOUR the day before;
- a check-in the day after a treatment was given, from KETACARE_CHECK_IN_HOUR;
- a questionnaire due (a single-use self-report link to KETACARE_SCALES_DUE, the PHQ-9 by
  default) with that check-in, and the day before each booster. The link lives in the message
  only until it is sent (or given up): then the message keeps "/r/…/" in its place.

Each goes by text message to the patient's phone and by e-mail to their address, unless they
stopped that channel. A message is made once (a unique key per reason and channel) and sent once:
a run claims it with a conditional update, so two runs at the same moment never both send it. A
failed send is tried again after 1, 5, 30 and 120 minutes, then given up and shown as failed. The
texts name the clinic and the time, never a diagnosis or a treatment."""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from ketacare.patients.models import Patient
from ketacare.portal import sms
from ketacare.portal.models import ContactPreference, Message, PublicSite
from ketacare.sessions.models import TreatmentSession
from ketacare.treatment.models import Appointment

RETRY_MINUTES = (1, 5, 30, 120)  # after the 1st, 2nd, 3rd and 4th failure; the 5th is final
STUCK_MINUTES = 15  # a message claimed this long ago by a run that died is waiting again


@dataclass
class Run:
    made: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0


def _local(at: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(at)


def _texts(
    kind: str, site: PublicSite, at: datetime.datetime | None, stop_url: str, link: str = ""
) -> tuple[str, str]:
    call = f" call {site.phone}" if site.phone else " call the clinic"
    when = f"{_local(at):%a %-d %b at %H:%M}" if at else ""
    if kind == Message.Kind.APPOINTMENT:
        subject = f"Your appointment on {when}"
        body = f"{site.clinic_name}: a reminder of your appointment on {when}. To change it,{call}."
    elif kind == Message.Kind.PREPARATION:
        subject = "Before tomorrow's appointment"
        body = (
            f"{site.clinic_name}: for tomorrow at {when[-5:]}: eat nothing for the hours "
            "the clinic told you, no alcohol today, and bring someone to take you home: no driving until "
            "the day after."
        )
    elif kind == Message.Kind.SCALE_DUE:
        subject = "A short questionnaire"
        body = (
            f"{site.clinic_name}: please fill in a short questionnaire about how you have been: {link} "
            "(it works once, for a few days)."
        )
    else:
        subject = "How are you feeling?"
        body = (
            f"{site.clinic_name}: how are you feeling after yesterday? If anything worries you,{call}. "
            "In a crisis call or text 988."
        )
    return subject, f"{body}\nStop these messages: {stop_url}"


def _make(
    patient: Patient,
    kind: str,
    about: str,
    due: datetime.datetime,
    at: datetime.datetime | None,
    site: PublicSite,
    pref: ContactPreference,
    made_already: set[tuple[str, str, str]],
) -> int:
    """The messages for one reason, on each channel the patient has and allows, not made yet
    (`made_already`: (kind, about, channel) of every message on record for these reasons)."""
    channels = [
        (channel, to)
        for channel, to, allowed in (
            (Message.Channel.SMS, patient.phone, pref.sms_ok),
            (Message.Channel.EMAIL, patient.email, pref.email_ok),
        )
        if to and allowed and (kind, about, channel) not in made_already
    ]
    link = _link(patient) if kind == Message.Kind.SCALE_DUE and channels else ""
    rows = []
    for channel, to in channels:
        stop = settings.SITE_URL + reverse("portal:stop", args=[pref.token]) + f"?channel={channel}"
        subject, body = _texts(kind, site, at, stop, link)
        rows.append(
            Message(
                patient=patient,
                kind=kind,
                channel=channel,
                about=about,
                to=to,
                subject=subject,
                body=body,
                due_at=due,
                next_attempt_at=due,
            )
        )
    Message.objects.bulk_create(rows, ignore_conflicts=True)  # a run at the same moment made it: once
    return len(rows)


def _link(patient: Patient) -> str:
    """A single-use self-report link to the clinic's questionnaire, made by the reminders (one
    for both channels: whichever the patient opens first uses it)."""
    from ketacare.audit.context import Actor
    from ketacare.measures.services import self_report_link_create

    _, token = self_report_link_create(
        actor=Actor.command("send-due"), patient=patient, instrument=settings.SCALES_DUE
    )
    return settings.SITE_URL + reverse("measures:self-report", args=[token])


_LINK = re.compile(r"/r/[A-Za-z0-9_-]+/")


def _without_link(body: str) -> str:
    """The message as kept once it has gone: the link's token no longer in the database."""
    return _LINK.sub("/r/…/", body)


def plan(now: datetime.datetime) -> int:
    """Make the messages due by `now` that are not made yet. Returns how many were made. A run
    with nothing new to make reads the same few queries however many appointments are near (it
    runs every minute)."""
    site = PublicSite.objects.filter(pk=1).first() or PublicSite()
    hours = sorted(settings.REMINDER_HOURS)
    horizon = now + datetime.timedelta(hours=max(hours + [48]))
    today = _local(now).date()
    wanted: list[tuple[Patient, str, str, datetime.datetime | None]] = []
    booked = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, starts_at__gt=now, starts_at__lte=horizon
    ).select_related("patient")
    for appointment in booked:
        starts, key = (
            appointment.starts_at,
            f"appointment:{appointment.pk}:{appointment.starts_at:%Y%m%d%H%M}",
        )
        due = [h for h in hours if starts - datetime.timedelta(hours=h) <= now]
        if due:  # the latest reminder due; one booked late gets no flurry of the earlier ones
            wanted.append((appointment.patient, Message.Kind.APPOINTMENT, f"{key}:{min(due)}h", starts))
        if (
            _local(starts).date() == today + datetime.timedelta(days=1)
            and _local(now).hour >= settings.PREPARATION_HOUR
        ):
            wanted.append((appointment.patient, Message.Kind.PREPARATION, f"{key}:prep", starts))
            if appointment.kind == Appointment.Kind.BOOSTER:  # how the patient has been since the last
                wanted.append((appointment.patient, Message.Kind.SCALE_DUE, f"{key}:scale", starts))
    if _local(now).hour >= settings.CHECK_IN_HOUR:
        yesterday = timezone.make_aware(
            datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time())
        )
        treated = TreatmentSession.objects.filter(
            source=TreatmentSession.Source.LIVE,
            dose_started_at__gte=yesterday,
            dose_started_at__lt=yesterday + datetime.timedelta(days=1),
        ).select_related("patient")
        for session in treated:
            wanted.append((session.patient, Message.Kind.CHECK_IN, f"session:{session.pk}", None))
            wanted.append((session.patient, Message.Kind.SCALE_DUE, f"session:{session.pk}:scale", None))
    if not wanted:
        return 0
    made_already = set(
        Message.objects.filter(about__in={about for _, _, about, _ in wanted}).values_list(
            "kind", "about", "channel"
        )
    )
    prefs = _preferences({patient for patient, _, _, _ in wanted})
    return sum(
        _make(patient, kind, about, now, at, site, prefs[patient.pk], made_already)
        for patient, kind, about, at in wanted
    )


def _preferences(patients: set[Patient]) -> dict[int, ContactPreference]:
    """Each patient's contact preferences, made (all channels allowed) for those without: two
    queries whatever the number."""
    found = {p.patient_id: p for p in ContactPreference.objects.filter(patient__in=patients)}
    missing = [
        ContactPreference(patient=p, token=secrets.token_urlsafe(32)) for p in patients if p.pk not in found
    ]
    if missing:
        ContactPreference.objects.bulk_create(missing, ignore_conflicts=True)
        found = {p.patient_id: p for p in ContactPreference.objects.filter(patient__in=patients)}
    return found


def _still_true(message: Message) -> bool:
    """An appointment's message goes only while the appointment is booked at the time it names."""
    if not message.about.startswith("appointment:"):
        return True
    _, pk, when, _ = message.about.split(":")
    starts = (
        Appointment.objects.filter(pk=int(pk), status=Appointment.Status.BOOKED)
        .values_list("starts_at", flat=True)
        .first()
    )
    return starts is not None and f"{starts:%Y%m%d%H%M}" == when


def _deliver(message: Message) -> None:
    if message.channel == Message.Channel.SMS:
        sms.backend().send(message.to, message.body)
    else:
        send_mail(message.subject, message.body, None, [message.to])


def send(now: datetime.datetime, run: Run) -> None:
    """Send every message whose time has come, each claimed by this run alone."""
    stuck = now - datetime.timedelta(minutes=STUCK_MINUTES)
    Message.objects.filter(status=Message.Status.SENDING, next_attempt_at__lt=stuck).update(
        status=Message.Status.PENDING
    )
    for message in Message.objects.filter(status=Message.Status.PENDING, next_attempt_at__lte=now):
        claimed = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(
            status=Message.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now
        )
        if not claimed:
            continue  # another run has it
        message.refresh_from_db()
        if not _still_true(message):
            Message.objects.filter(pk=message.pk).update(
                status=Message.Status.CANCELLED,
                last_error="no longer booked at that time",
                body=_without_link(message.body),
            )
            run.cancelled += 1
            continue
        try:
            _deliver(message)
        except Exception as exc:  # noqa: BLE001 - any failure: tried again later, then given up
            _failed(message, now, f"{type(exc).__name__}: {exc}"[:300], run)
            continue
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.SENT,
            sent_at=timezone.now(),
            last_error="",
            body=_without_link(message.body),
        )
        run.sent += 1


def _failed(message: Message, now: datetime.datetime, error: str, run: Run) -> None:
    if message.attempts > len(RETRY_MINUTES):
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, last_error=error, body=_without_link(message.body)
        )
        run.failed += 1
        return
    later = now + datetime.timedelta(minutes=RETRY_MINUTES[message.attempts - 1])
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.PENDING, next_attempt_at=later, last_error=error
    )
    run.retrying += 1


def send_due(now: datetime.datetime | None = None) -> Run:
    """Make what is due, then send it. Each step commits on its own: a message made is kept even
    if sending fails, and a message sent is never sent again."""
    now = now or timezone.now()
    run = Run()
    with transaction.atomic():
        run.made = plan(now)
    send(now, run)
    return run


def stop(token: str, channel: str) -> ContactPreference | None:
    """The patient stops one channel (the link in each message). Pending messages on it are not
    sent."""
    with transaction.atomic():
        pref = ContactPreference.objects.select_for_update().filter(token=token).first()
        if pref is None or channel not in Message.Channel.values:
            return None
        setattr(pref, "sms_ok" if channel == Message.Channel.SMS else "email_ok", False)
        pref.save()
        pending = Message.objects.filter(
            patient_id=pref.patient_id, channel=channel, status=Message.Status.PENDING
        )
        for message in pending:
            Message.objects.filter(pk=message.pk).update(
                status=Message.Status.CANCELLED,
                last_error="the patient stopped this channel",
                body=_without_link(message.body),
            )
    return pref


def describe(run: Any) -> str:
    return (
        f"{run.made} message(s) made, {run.sent} sent, {run.retrying} to try again, "
        f"{run.failed} failed for good, {run.cancelled} not sent (appointment changed or cancelled)"
    )
