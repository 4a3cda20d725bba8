"""The patient portal: sign-in by a one-time code (no password), sent only to the patient's own
phone or e-mail, working once, for 10 minutes, ended by 5 wrong tries; then the patient's own
appointments, how to prepare, and their scores."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.portal.models import PortalCode
from tests.treatment_helpers import make_eligible, start_plan

pytestmark = pytest.mark.django_db

BORN = "1980-04-23"  # tests.conftest.patient_details


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def _ask(client: Client, contact: str, born: str = BORN):
    return client.post("/my/sign-in/", {"contact": contact, "date_of_birth": born})


def _emailed_code() -> str:
    return re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)


def test_a_patient_signs_in_with_a_code_sent_to_their_email_and_sees_their_page(
    patient, doctor, chair, nurse_actor
):
    from ketacare.measures.services import response_record

    make_eligible(doctor, patient)
    start_plan(doctor, patient, chair, start_on=timezone.localdate() + datetime.timedelta(days=2))
    response_record(
        actor=nurse_actor, patient=patient, instrument="phq9", answers=[2] * 8 + [0], context="baseline"
    )
    client = Client()
    assert client.get("/my/").status_code == 302  # not signed in: to the sign-in page
    asked = _ask(client, "Anna.Smith@example.com")
    assert asked.status_code == 302 and asked["Location"] == "/my/code/"
    assert mail.outbox[-1].to == ["anna.smith@example.com"]
    code = _emailed_code()
    assert code not in PortalCode.objects.get().digest
    signed = client.post("/my/code/", {"code": code})
    assert signed.status_code == 302 and signed["Location"] == "/my/"
    page = client.get("/my/").content.decode()
    assert "Hello, Anna" in page and "Your appointments" in page and "(induction)" in page
    assert "Preparing for a ketamine treatment" in page and "No alcohol" in page
    assert "PHQ-9: latest <strong>16</strong>" in page and "<svg" in page
    assert AuditEvent.objects.filter(
        action="view", patient_id=patient.pk, actor_label__contains="patient-portal"
    ).exists()
    assert client.post("/my/sign-out/").status_code == 302
    assert client.get("/my/").status_code == 302


def test_a_code_goes_by_text_to_a_phone_given_in_any_format(patient, capsys):
    client = Client()
    _ask(client, "+1 555 201 3344")
    out = capsys.readouterr().out
    code = re.search(r"code is (\d{6})", out).group(1)
    assert "SMS to (555) 201-3344" in out
    assert client.post("/my/code/", {"code": code}).status_code == 302


def test_details_that_match_nobody_answer_the_same_and_send_nothing(patient):
    client = Client()
    answer = _ask(client, "anna.smith@example.com", born="1980-04-24")
    assert answer.status_code == 302 and answer["Location"] == "/my/code/"
    assert mail.outbox == [] and not PortalCode.objects.exists()
    assert client.post("/my/code/", {"code": "123456"}).status_code == 422


def test_a_code_works_once_and_not_after_ten_minutes(patient):
    client = Client()
    _ask(client, "anna.smith@example.com")
    code = _emailed_code()
    assert client.post("/my/code/", {"code": code}).status_code == 302
    client.post("/my/sign-out/")
    assert client.post("/my/code/", {"code": code}).status_code == 422  # used
    _ask(client, "anna.smith@example.com")
    late = _emailed_code()
    PortalCode.objects.filter(used_at__isnull=True).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    refused = client.post("/my/code/", {"code": late})
    assert refused.status_code == 422 and "expired" in refused.content.decode()


def test_five_wrong_codes_end_the_code_and_twenty_failures_pause_the_address(patient, settings):
    client = Client(REMOTE_ADDR="198.51.100.7")
    _ask(client, "anna.smith@example.com")
    code = _emailed_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert client.post("/my/code/", {"code": wrong}).status_code == 422
    assert client.post("/my/code/", {"code": code}).status_code == 422  # the right one, too late
    assert AuditEvent.objects.filter(action="login_failed", object_type="portal.portalcode").count() == 6
    for _ in range(14):
        client.post("/my/code/", {"code": wrong})
    assert client.post("/my/code/", {"code": wrong}).status_code == 429


def test_an_idle_portal_signs_the_patient_out(patient, monkeypatch):
    client = Client()
    _ask(client, "anna.smith@example.com")
    client.post("/my/code/", {"code": _emailed_code()})
    assert client.get("/my/").status_code == 200
    session = client.session
    session["ketacare_portal_seen"] -= 16 * 60
    session.save()
    assert client.get("/my/").status_code == 302


def test_the_patient_sees_their_own_questionnaires_not_the_clinicians_ratings(patient, nurse_actor):
    from ketacare.measures.services import response_record

    response_record(
        actor=nurse_actor, patient=patient, instrument="gad7", answers=[1] * 7, context="baseline"
    )
    response_record(
        actor=nurse_actor, patient=patient, instrument="madrs", answers=[2] * 10, context="baseline"
    )
    client = Client()
    _ask(client, "anna.smith@example.com")
    client.post("/my/code/", {"code": _emailed_code()})
    page = client.get("/my/").content.decode()
    assert "GAD-7: latest" in page and "MADRS" not in page


def test_asking_for_codes_is_limited_per_address_apart_from_the_enquiry_form(patient):
    client = Client(REMOTE_ADDR="198.51.100.8")
    for _ in range(10):
        assert _ask(client, "anna.smith@example.com").status_code == 302
    assert _ask(client, "anna.smith@example.com").status_code == 429
    assert PortalCode.objects.count() == 10
    # The same address may still ask to talk to a doctor: another count.
    from tests.portal.test_enquiries import FORM

    assert client.post("/talk-to-a-doctor/", FORM).status_code == 200
