"""The demo's bookings: a larger cohort than tests/demo/test_sessions.py's, seeded once."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ketacare.sessions.models import TreatmentSession
from ketacare.treatment.models import Appointment

pytestmark = pytest.mark.django_db


def test_demo_books_what_is_still_to_come_for_staff_to_check_in_and_never_double_books_a_chair():
    call_command("seed_demo", "--patients", "60", "--seed", "5", stdout=StringIO())
    now = timezone.now()
    assert not Appointment.objects.filter(status="attended", starts_at__gt=now).exists()
    booked = Appointment.objects.filter(status="booked")
    assert booked.exists()
    assert not booked.filter(starts_at__lte=now).exists()
    assert not TreatmentSession.objects.filter(appointment__status="booked").exists()
    rows = list(
        Appointment.objects.holding_time()
        .order_by("chair_id", "starts_at")
        .values_list("chair_id", "starts_at", "ends_at")
    )
    for (chair_a, _, end_a), (chair_b, start_b, _) in zip(rows, rows[1:], strict=False):
        assert chair_a != chair_b or start_b >= end_a
