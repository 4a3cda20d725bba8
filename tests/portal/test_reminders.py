"""Reminders and follow-up (`ketacare send-due`): made once and sent once, even when two runs
meet; retried with pauses, then given up; not sent when the appointment moved or the patient
stopped the channel; no diagnosis or treatment in the text."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from ketacare.portal import reminders
from ketacare.portal.models import Message
from ketacare.treatment.models import Appointment
from tests.treatment_helpers import make_chair, make_eligible, start_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(doctor, register, chair):
    """A patient with phone and e-mail and a booked course; the first appointment's time."""
    patient = register()
    make_eligible(doctor, patient)
    start = timezone.localdate() + datetime.timedelta(days=3)
    plan = start_plan(doctor, patient, chair, start_on=start, start_time=datetime.time(9, 0))
    return plan.appointments.order_by("starts_at").first()


def _at(appointment, hours_before):
    return appointment.starts_at - datetime.timedelta(hours=hours_before)


def test_a_reminder_goes_48_and_24_hours_before_by_text_and_email_once_each(booked, capsys):
    run = reminders.send_due(_at(booked, 47))
    assert (run.made, run.sent) == (2, 2)
    assert [m.to for m in mail.outbox] == [["anna.smith@example.com"]]
    text = capsys.readouterr().out
    assert "SMS to (555) 201-3344" in text and "a reminder of your appointment" in text
    # Beyond the clinic's own name (the clinic chooses it), nothing says what is treated.
    for sent in (text, mail.outbox[0].body):
        words = sent.replace("Our ketamine clinic", "").lower()
        assert not any(w in words for w in ("ketamine", "depress", "infusion", "esketamine", "ptsd"))
    assert reminders.send_due(_at(booked, 46)).made == 0  # the same reminder is never made twice
    assert reminders.send_due(_at(booked, 23)).sent == 2  # the 24-hour one
    assert len(mail.outbox) == 2
    assert Message.objects.filter(status="sent").count() == 4


def test_two_runs_at_the_same_moment_send_each_message_once(booked, monkeypatch):
    now = _at(booked, 47)
    reminders.plan(now)
    first, second = reminders.Run(), reminders.Run()
    sent: list[int] = []

    def deliver(message):
        sent.append(message.pk)
        if len(sent) == 1:  # a second run starts while the first is sending its first message
            reminders.send(now, second)

    monkeypatch.setattr(reminders, "_deliver", deliver)
    reminders.send(now, first)
    assert sorted(sent) == sorted(Message.objects.values_list("pk", flat=True))  # each once
    assert (first.sent, second.sent) == (1, 1)


def test_a_failed_send_is_tried_again_later_then_given_up(booked, monkeypatch):
    def refuse(message):
        raise reminders.sms.SmsError("provider down")

    monkeypatch.setattr(reminders, "_deliver", refuse)
    now = _at(booked, 47)
    reminders.send_due(now)
    message = Message.objects.filter(channel="sms").get()
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "SmsError: provider down")
    assert message.next_attempt_at == now + datetime.timedelta(minutes=1)
    for minutes in (1, 5, 30, 120):
        now += datetime.timedelta(minutes=minutes)
        reminders.send_due(now)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 5)


def test_a_moved_or_cancelled_appointment_is_not_reminded_at_the_old_time(booked, doctor):
    from ketacare.treatment.services import appointment_cancel

    reminders.plan(_at(booked, 47))
    appointment_cancel(actor=doctor, appointment=booked, reason="Patient away")
    run = reminders.Run()
    reminders.send(_at(booked, 47), run)
    assert run.sent == 0 and run.cancelled == 2
    assert set(Message.objects.values_list("status", flat=True)) == {"cancelled"}


def test_the_patient_stops_text_messages_and_still_gets_email(booked, client, capsys):
    reminders.send_due(_at(booked, 47))
    body = Message.objects.get(channel="sms").body
    stop = body.split("Stop these messages: ")[1].split("http://127.0.0.1:8000", 1)[1]
    page = client.get(stop)
    assert page.status_code == 200 and "Stop text messages" in page.content.decode()
    assert client.post(stop).status_code == 200  # a previewer's GET stops nothing; the button does
    capsys.readouterr()
    run = reminders.send_due(_at(booked, 23))
    assert run.sent == 1 and "SMS to" not in capsys.readouterr().out and len(mail.outbox) == 2
    assert client.get("/stop/not-a-token/?channel=sms").status_code == 404


def test_preparation_the_day_before_and_a_check_in_the_day_after(booked, settings):
    settings.PREPARATION_HOUR = 0
    day_before = timezone.localtime(booked.starts_at) - datetime.timedelta(days=1)
    reminders.plan(day_before.replace(hour=12))
    prep = Message.objects.filter(kind="preparation", channel="sms").get()
    assert "tomorrow at 09:00" in prep.body and "no driving" in prep.body


def test_the_command_says_what_it_did(booked):
    out = io.StringIO()
    call_command("send_due", stdout=out)
    assert "sent" in out.getvalue() and "failed for good" in out.getvalue()


def test_an_appointment_booked_with_a_day_to_go_gets_one_reminder_not_two(booked):
    run = reminders.send_due(_at(booked, 20))
    assert run.made == 2 and Message.objects.filter(about__endswith=":24h").count() == 2
    assert not Message.objects.filter(about__endswith=":48h").exists()
    assert Appointment.objects.get(pk=booked.pk).status == "booked"


def test_the_day_after_a_treatment_a_questionnaire_link_goes_and_is_not_kept_once_sent(
    doctor, nurse_actor, register, chair, client, settings
):
    from ketacare.measures.models import SelfReportLink
    from tests.treatment_helpers import check_in, run_to_discharge

    settings.CHECK_IN_HOUR = 0
    patient = register()
    make_eligible(doctor, patient)
    session = run_to_discharge(
        doctor, nurse_actor, check_in(nurse_actor, start_plan(doctor, patient, chair), minutes_ago=150)
    )
    next_day = timezone.localtime(session.dose_started_at) + datetime.timedelta(days=1)
    reminders.plan(next_day.replace(hour=12))
    due = Message.objects.get(kind="scale_due", channel="sms")
    link = "/r/" + due.body.split("/r/")[1].split("/")[0] + "/"
    assert client.get(link).status_code == 200  # the patient's questionnaire opens
    made = SelfReportLink.objects.get()
    assert (made.instrument, made.created_by) == ("phq9", None)
    assert Message.objects.filter(kind="check_in").count() == 2
    reminders.send(next_day.replace(hour=12), reminders.Run())
    for kept in Message.objects.filter(kind="scale_due"):
        assert "/r/…/" in kept.body and link not in kept.body  # the token lives only in the message sent


def test_a_questionnaire_goes_the_day_before_a_booster_not_before_an_induction(booked, doctor, settings):
    from ketacare.treatment.services import appointment_book

    settings.PREPARATION_HOUR = 0
    day_before = timezone.localtime(booked.starts_at) - datetime.timedelta(days=1)
    reminders.plan(day_before.replace(hour=12))
    assert not Message.objects.filter(kind="scale_due").exists()  # an induction appointment
    booster = appointment_book(
        actor=doctor,
        plan=booked.plan,
        chair=booked.chair,
        starts_at=booked.starts_at + datetime.timedelta(days=30),
    )
    reminders.plan((timezone.localtime(booster.starts_at) - datetime.timedelta(days=1)).replace(hour=12))
    assert (
        Message.objects.filter(kind="scale_due", about__startswith=f"appointment:{booster.pk}:").count() == 2
    )


def test_a_run_with_nothing_new_reads_the_same_queries_however_many_appointments_are_near(
    booked, doctor, register, chair, django_assert_max_num_queries
):
    now = _at(booked, 47)
    reminders.plan(now)
    with django_assert_max_num_queries(5) as few:
        assert reminders.plan(now) == 0
    for n in range(4):  # four more patients with appointments in the window
        other = register(given_name=f"Other{n}")
        make_eligible(doctor, other)
        start_plan(
            doctor,
            other,
            make_chair(f"Chair {n + 2}"),
            start_on=timezone.localdate() + datetime.timedelta(days=3),
            start_time=datetime.time(10 + n, 0),
        )
    reminders.plan(now)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert reminders.plan(now) == 0
