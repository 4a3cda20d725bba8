import pytest
from django.core.management import call_command

from ketacare.sessions.models import SessionScale, TreatmentSession
from ketacare.sessions.services import signature_valid
from ketacare.treatment.models import Appointment

pytestmark = pytest.mark.django_db


def test_demo_cohort_has_plans_and_complete_signed_sessions(capsys):
    call_command("seed_demo", "--patients", "30", "--seed", "3")
    out = capsys.readouterr().out
    assert "30 treatment plans and 180 sessions" in out
    sessions = list(TreatmentSession.objects.select_related("plan", "appointment"))
    assert all(s.locked and s.discharged_at and s.plan.decision_id for s in sessions)
    assert all(signature_valid(s) for s in sessions[:20])
    # each session's pre-session rating is the one the score history put just after check-in
    for link in SessionScale.objects.filter(purpose="pre").select_related("session", "response")[:50]:
        assert 0 < (link.response.administered_at - link.session.checked_in_at).total_seconds() <= 300
    assert SessionScale.objects.filter(purpose="pre").count() == 180


def test_demo_never_double_books_a_chair():
    call_command("seed_demo", "--patients", "60", "--seed", "5")
    rows = list(
        Appointment.objects.holding_time()
        .order_by("chair_id", "starts_at")
        .values_list("chair_id", "starts_at", "ends_at")
    )
    for (chair_a, _, end_a), (chair_b, start_b, _) in zip(rows, rows[1:], strict=False):
        assert chair_a != chair_b or start_b >= end_a
