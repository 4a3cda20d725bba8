"""The demo's bookings and this morning's clinic: a larger cohort than tests/demo/test_sessions.py's,
seeded once for the module."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.ledger.models import Entry
from ketacare.sessions.models import TreatmentSession
from ketacare.treatment.models import Appointment
from ketacare.web import today
from tests.conftest import kept_for_the_module

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with kept_for_the_module(django_db_blocker):
        out = StringIO()
        started = timezone.now()
        call_command("seed_demo", "--patients", "60", "--seed", "5", stdout=out)
        yield out.getvalue(), started, timezone.now()


def test_demo_books_what_is_still_to_come_for_staff_to_check_in_and_never_double_books_a_chair(seeded):
    now = timezone.now()
    assert not Appointment.objects.filter(status="attended", starts_at__gt=now).exists()
    booked = Appointment.objects.filter(status="booked")
    assert booked.exists()
    # In the past, only this morning's one late arrival (demo/today.py), booked 20 minutes before
    # the demo was seeded (the minute rounded down): timed from the seeding, not from this test,
    # which may run minutes later.
    late = list(booked.filter(starts_at__lte=now))
    _, started, finished = seeded
    assert len(late) == 1
    minutes = datetime.timedelta(minutes=1)
    assert started - 21 * minutes < late[0].starts_at <= finished - 20 * minutes
    assert not TreatmentSession.objects.filter(appointment__status="booked").exists()
    rows = list(
        Appointment.objects.holding_time()
        .order_by("chair_id", "starts_at")
        .values_list("chair_id", "starts_at", "ends_at")
    )
    for (chair_a, _, end_a), (chair_b, start_b, _) in zip(rows, rows[1:], strict=False):
        assert chair_a != chair_b or start_b >= end_a


def test_the_demo_opens_on_a_morning_in_progress(seeded):
    assert "this morning 4 patients in chairs, 3 expected" in seeded[0]
    board = today.board(user=User.objects.get(username="nurse"))
    steps = {row.chair.name: row.session.step for row in board.chairs if row.session}
    assert sorted(steps.values()) == ["checked in", "dosing", "monitoring", "ready to leave"]
    assert board.alarms == 1  # the SpO2 of 89% in recovery, not yet answered
    [loud] = [row.session for row in board.chairs if row.session and row.session.warnings]
    assert loud.step == "monitoring" and loud.warnings == ["Alarm: SpO2 91% or less"]
    assert len(board.expected) == 3 and len(board.late) == 1
    # Each dose given this morning is on the controlled-substance ledger.
    dosed = TreatmentSession.objects.filter(locked_at__isnull=True, dose_started_at__isnull=False)
    assert dosed.count() == 3
    assert Entry.objects.filter(session__in=dosed, kind="administration").count() == 3
    # Run again (make demo on the same day): the morning is not booked twice.
    today_count = Appointment.objects.filter(starts_at__date=timezone.localdate()).count()
    out = StringIO()
    call_command("demo_today", stdout=out)
    assert "today's clinic is already under way" in out.getvalue()
    assert Appointment.objects.filter(starts_at__date=timezone.localdate()).count() == today_count


def test_the_demo_names_a_patient_whose_portal_shows_each_part(seeded):
    import re

    from django.core import mail
    from django.core.cache import cache
    from django.test import Client

    from ketacare.patients.models import Patient

    out = StringIO()
    call_command("demo_portal", stdout=out)
    email, born = re.search(r"e-mail (\S+), born (\d{4}-\d\d-\d\d)", out.getvalue()).groups()
    patient = Patient.objects.get(email=email)
    call_command("demo_portal", stdout=StringIO())  # again: nothing more made
    cache.clear()
    client = Client()
    client.post("/my/sign-in/", {"contact": email, "date_of_birth": born})
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    assert client.post("/my/code/", {"code": code}).status_code == 302
    page = client.get("/my/").content.decode()
    assert f"Hello, {patient.preferred_name or patient.given_name}" in page
    assert "ask to move it" in page and "Questionnaires to fill in" in page
    assert page.count("Progress report, ") == 1 and "What you signed" in page
