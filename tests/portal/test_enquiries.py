"""Talk to a doctor: the public enquiry form (validation, abuse limits, the crisis answer), the
front desk's queue, and an enquiry made a patient and their self-referral in one step."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import Patient
from ketacare.portal.models import Enquiry
from ketacare.screening.models import Referral

pytestmark = pytest.mark.django_db

FORM = {
    "given_name": "Rosa",
    "family_name": "Delgado",
    "date_of_birth": "1984-06-02",
    "phone": "(555) 301-2020",
    "email": "rosa@example.com",
    "call_time": "morning",
    "seeking": ["depression", "treatment_resistant_depression"],
    "message": "Three antidepressants have not helped.",
    "referring_clinician": "",
    "website": "",
    "pre_pregnancy": "no",
    "pre_psychosis": "no",
    "pre_blood_pressure": "unsure",
    "pre_substances": "no",
}


def _phq9(*answers: int) -> dict[str, str]:
    return {f"phq9_{n}": str(a) for n, a in enumerate(answers, start=1)}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def test_a_visitor_asks_for_a_call_back_and_the_front_desk_sees_it(client_as, front_desk):
    response = Client().post("/talk-to-a-doctor/", FORM)
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    enquiry = Enquiry.objects.get()
    assert enquiry.status == "new" and not enquiry.urgent and enquiry.phq9_total is None
    queue = client_as(front_desk).get("/enquiries/").content.decode()
    assert "Delgado, Rosa" in queue
    page = client_as(front_desk).get(f"/enquiries/{enquiry.pk}/").content.decode()
    # The pre-screen shapes a line for the call, and refuses nobody.
    assert "(not sure) Blood pressure, heart, aneurysm or brain bleed" in page
    assert AuditEvent.objects.filter(object_type="portal.enquiry", action="view").count() == 2


def test_a_positive_item_9_shows_crisis_help_at_once_and_the_enquiry_is_urgent_everywhere(client_as, nurse):
    response = Client().post("/talk-to-a-doctor/", {**FORM, **_phq9(2, 2, 1, 2, 1, 1, 2, 1, 1)})
    text = response.content.decode()
    assert response.status_code == 200 and "Please get help now" in text and 'href="tel:988"' in text
    enquiry = Enquiry.objects.get()
    assert enquiry.urgent and enquiry.phq9_total == 13
    home = client_as(nurse).get("/").content.decode()
    assert "1 urgent enquiry" in home
    assert "Urgent: thoughts of self-harm" in client_as(nurse).get("/enquiries/").content.decode()


def test_bad_input_is_refused_naming_each_field_and_nothing_is_kept():
    bad = {**FORM, "date_of_birth": "2999-01-01", "seeking": [], "phone": "", "pre_pregnancy": "maybe"}
    response = Client().post("/talk-to-a-doctor/", {**bad, **_phq9(1, 1, 1)})  # a PHQ-9 half answered
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {"date_of_birth", "seeking", "phone", "pre_pregnancy", "__all__"} <= set(errors)
    assert "future" in errors["date_of_birth"][0]
    long = Client().post("/talk-to-a-doctor/", {**FORM, "message": "x" * 2001})
    assert long.status_code == 422 and "message" in long.context["form"].errors
    assert not Enquiry.objects.exists()


def test_a_robot_filling_the_hidden_field_is_thanked_and_nothing_is_kept():
    response = Client().post("/talk-to-a-doctor/", {**FORM, "website": "http://spam.example"})
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    assert not Enquiry.objects.exists()


def test_one_address_is_limited_per_hour(settings):
    settings.ENQUIRIES_PER_HOUR = 2
    visitor = Client(REMOTE_ADDR="203.0.113.9")
    assert [visitor.post("/talk-to-a-doctor/", FORM).status_code for _ in range(3)] == [200, 200, 429]
    assert Enquiry.objects.count() == 2
    assert Client(REMOTE_ADDR="203.0.113.10").post("/talk-to-a-doctor/", FORM).status_code == 200


def test_an_enquiry_becomes_a_patient_and_a_self_referral_in_one_step(client_as, front_desk):
    Client().post("/talk-to-a-doctor/", FORM)
    enquiry = Enquiry.objects.get()
    desk = client_as(front_desk)
    refused = desk.post(f"/enquiries/{enquiry.pk}/refer/", {"sex": ""})
    assert refused.status_code == 422 and "sex" in refused.context["refer_form"].errors
    made = desk.post(f"/enquiries/{enquiry.pk}/refer/", {"sex": "female", "consent_to_assessment": "on"})
    patient = Patient.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/patients/{patient.pk}/"
    assert (patient.given_name, patient.family_name, patient.phone) == ("Rosa", "Delgado", "(555) 301-2020")
    referral = Referral.objects.get()
    assert referral.patient == patient and referral.presenting_conditions == [
        "depression",
        "treatment_resistant_depression",
    ]
    assert referral.consent_to_treatment and "Three antidepressants" in referral.reason
    enquiry.refresh_from_db()
    assert (
        enquiry.status == "referred" and enquiry.referral == referral and patient.mrn in enquiry.status_note
    )
    again = desk.post(f"/enquiries/{enquiry.pk}/refer/", {"sex": "female"})
    assert again.status_code == 422 and Patient.objects.count() == 1


def test_a_possible_duplicate_is_named_and_nothing_is_written_until_confirmed(
    client_as, front_desk, register
):
    register(given_name="Rosa", family_name="Delgado", date_of_birth=__import__("datetime").date(1984, 6, 2))
    Client().post("/talk-to-a-doctor/", FORM)
    enquiry = Enquiry.objects.get()
    desk = client_as(front_desk)
    refused = desk.post(f"/enquiries/{enquiry.pk}/refer/", {"sex": "female"})
    assert refused.status_code == 422 and "Delgado" in refused.content.decode()
    assert Patient.objects.count() == 1 and not Referral.objects.exists()
    confirmed = desk.post(f"/enquiries/{enquiry.pk}/refer/", {"sex": "female", "confirm_not_duplicate": "on"})
    assert confirmed.status_code == 302 and Patient.objects.count() == 2


def test_called_back_and_declined_need_a_note_and_a_closed_enquiry_stays_closed(client_as, front_desk):
    Client().post("/talk-to-a-doctor/", FORM)
    enquiry = Enquiry.objects.get()
    desk = client_as(front_desk)
    assert desk.post(f"/enquiries/{enquiry.pk}/decline/", {"note": ""}).status_code == 422
    assert (
        desk.post(f"/enquiries/{enquiry.pk}/called-back/", {"note": "Wants a consultation"}).status_code
        == 302
    )
    assert desk.post(f"/enquiries/{enquiry.pk}/decline/", {"note": "Lives abroad"}).status_code == 302
    enquiry.refresh_from_db()
    assert (enquiry.status, enquiry.status_note) == ("declined", "Lives abroad")
    closed = desk.post(f"/enquiries/{enquiry.pk}/called-back/", {"note": "again"})
    assert closed.status_code == 422 and "closed" in closed.content.decode()
    assert "Delgado" not in desk.get("/enquiries/").content.decode()  # not open any more
    assert "Delgado" in desk.get("/enquiries/?status=declined").content.decode()


def test_the_clinic_admin_sees_no_enquiries(client_as, clinic_admin):
    Client().post("/talk-to-a-doctor/", FORM)
    assert client_as(clinic_admin).get("/enquiries/").status_code == 403


def test_the_urgent_banner_stays_until_someone_has_called_back(client_as, nurse, front_desk):
    Client().post("/talk-to-a-doctor/", {**FORM, **_phq9(1, 1, 1, 1, 1, 1, 1, 1, 3)})
    enquiry = Enquiry.objects.get()
    assert "urgent enquiry" in client_as(nurse).get("/").content.decode()
    called = client_as(front_desk).post(
        f"/enquiries/{enquiry.pk}/called-back/", {"note": "Spoke to her; safe; seen tomorrow"}
    )
    assert called.status_code == 302, called.content.decode()[-1500:]
    assert "urgent enquiry" not in client_as(nurse).get("/").content.decode()
