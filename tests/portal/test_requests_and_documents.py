"""The patient's requests and documents in the portal: asking to move an appointment (one request
waiting per appointment, only one's own upcoming booked ones), the questionnaires due (the same
questions as the self-report page, answered once, a positive item 9 raising its alert), and the
letters and reports a physician shares (a copy kept as shared; only the patient's own, only while
shared)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.measures import services as measures
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from ketacare.portal import services
from ketacare.portal.models import MoveRequest, SharedDocument
from ketacare.treatment.models import Appointment
from tests.treatment_helpers import make_eligible, portal_actor, start_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(doctor, patient, chair):
    make_eligible(doctor, patient)
    start_plan(doctor, patient, chair, start_on=timezone.localdate() + datetime.timedelta(days=3))
    return Appointment.objects.filter(patient=patient).order_by("starts_at").first()


def test_a_patient_asks_to_move_their_appointment_once(patient, booked):
    made = services.move_request_make(
        actor=portal_actor(patient),
        patient=patient,
        appointment_id=booked.pk,
        preferred=" Any morning next week ",
    )
    assert made.status == MoveRequest.Status.OPEN and made.preferred == "Any morning next week"
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED  # the calendar is the front desk's
    with pytest.raises(ValidationError) as again:
        services.move_request_make(
            actor=portal_actor(patient), patient=patient, appointment_id=booked.pk, preferred="Friday"
        )
    assert "asked to move this appointment already" in str(again.value.message_dict["appointment"])
    assert MoveRequest.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="portal.moverequest", action="create").count() == 1


def test_a_move_request_needs_words_and_only_the_patients_own_upcoming_booked_appointment(
    patient, booked, register, doctor
):
    actor = portal_actor(patient)
    with pytest.raises(ValidationError) as empty:
        services.move_request_make(actor=actor, patient=patient, appointment_id=booked.pk, preferred="  ")
    assert "preferred" in empty.value.message_dict
    with pytest.raises(ValidationError) as long:
        services.move_request_make(
            actor=actor, patient=patient, appointment_id=booked.pk, preferred="x" * 501
        )
    assert "500 characters" in str(long.value.message_dict["preferred"])
    other = register(given_name="Ben", family_name="Other", email="ben@example.com")
    with pytest.raises(ValidationError) as not_theirs:
        services.move_request_make(
            actor=portal_actor(other), patient=other, appointment_id=booked.pk, preferred="Monday"
        )
    assert "call the clinic" in str(not_theirs.value.message_dict["appointment"])
    Appointment.objects.filter(pk=booked.pk).update(
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        ends_at=timezone.now() - datetime.timedelta(hours=1),
    )
    with pytest.raises(ValidationError):  # already past
        services.move_request_make(actor=actor, patient=patient, appointment_id=booked.pk, preferred="Monday")
    assert not MoveRequest.objects.exists()


def test_the_front_desk_closes_a_request_and_says_why_when_it_was_not_moved(patient, booked, actor):
    made = services.move_request_make(
        actor=portal_actor(patient), patient=patient, appointment_id=booked.pk, preferred="Tuesday"
    )
    with pytest.raises(ValidationError) as why:
        services.move_request_close(actor=actor, request=made, moved=False, note="")
    assert "note" in why.value.message_dict
    closed = services.move_request_close(actor=actor, request=made, moved=False, note="No chair free; called")
    assert closed.status == MoveRequest.Status.NOT_MOVED and closed.handled_by == actor.user
    with pytest.raises(ValidationError):
        services.move_request_close(actor=actor, request=made, moved=True, note="")
    # Closed: the patient may ask again.
    services.move_request_make(
        actor=portal_actor(patient), patient=patient, appointment_id=booked.pk, preferred="Thursday"
    )
    assert MoveRequest.objects.filter(status=MoveRequest.Status.OPEN).count() == 1


def test_a_questionnaire_due_is_answered_from_the_portal_once_and_item_9_raises_its_alert(
    patient, nurse_actor, register
):
    link, _ = measures.self_report_link_create(actor=nurse_actor, patient=patient, instrument="phq9")
    answers = [1] * 8 + [2]
    submitted = measures.self_report_submit_own(
        actor=portal_actor(patient), link_id=link.pk, patient_id=patient.pk, answers=answers
    )
    assert submitted.show_crisis_resources and submitted.response.total == 10
    assert SafetyAlert.objects.filter(response=submitted.response).exists()
    with pytest.raises(measures.LinkUnusable) as used:
        measures.self_report_submit_own(
            actor=portal_actor(patient), link_id=link.pk, patient_id=patient.pk, answers=answers
        )
    assert used.value.code == "used"
    other = register(given_name="Ben", family_name="Other", email="ben@example.com")
    theirs, _ = measures.self_report_link_create(actor=nurse_actor, patient=patient, instrument="gad7")
    with pytest.raises(measures.LinkUnusable):  # another patient's questionnaire
        measures.self_report_submit_own(
            actor=portal_actor(other), link_id=theirs.pk, patient_id=other.pk, answers=[0] * 7
        )
    assert QuestionnaireResponse.objects.count() == 1


def test_a_physician_shares_the_progress_report_and_only_that_patient_opens_it_while_shared(
    patient, doctor, actor, register
):
    with pytest.raises(ValidationError):  # the front desk may not share clinical documents
        services.document_share(actor=actor, patient=patient, kind="progress_report")
    shared = services.document_share(actor=doctor, patient=patient, kind="progress_report")
    assert bytes(shared.pdf).startswith(b"%PDF") and shared.title.startswith("Progress report")
    event = AuditEvent.objects.get(object_type="portal.shareddocument", action="create")
    assert event.detail["disclosed_to"] == "patient" and event.patient_id == patient.pk
    other = register(given_name="Ben", family_name="Other", email="ben@example.com")
    with pytest.raises(SharedDocument.DoesNotExist):
        services.document_open(actor=portal_actor(other), patient=other, document_id=shared.pk)
    opened = services.document_open(actor=portal_actor(patient), patient=patient, document_id=shared.pk)
    assert opened.first_opened_at is not None
    services.document_unshare(actor=doctor, document=shared)
    with pytest.raises(SharedDocument.DoesNotExist):
        services.document_open(actor=portal_actor(patient), patient=patient, document_id=shared.pk)
    assert SharedDocument.objects.filter(pk=shared.pk).exists()  # the copy stays for the record


def test_a_consultation_letter_is_shared_only_from_the_patients_own_decision(patient, doctor, register):
    decision = make_eligible(doctor, patient)
    shared = services.document_share(
        actor=doctor, patient=patient, kind="consultation_letter", decision_id=decision.pk
    )
    assert bytes(shared.pdf).startswith(b"%PDF") and shared.about == f"decision:{decision.pk}"
    other = register(given_name="Ben", family_name="Other", email="ben@example.com")
    with pytest.raises(ValidationError) as wrong:
        services.document_share(
            actor=doctor, patient=other, kind="consultation_letter", decision_id=decision.pk
        )
    assert "decision" in wrong.value.message_dict
    with pytest.raises(ValidationError) as kind:
        services.document_share(actor=doctor, patient=patient, kind="discharge_summary")
    assert "kind" in kind.value.message_dict
    assert SharedDocument.objects.count() == 1


# -- The pages -----------------------------------------------------------------------------------


def _portal(patient) -> Client:
    """A browser signed in to the portal as the patient, by the e-mailed code."""
    cache.clear()  # the per-address limits of the sign-in form
    client = Client()
    client.post(
        "/my/sign-in/", {"contact": patient.email, "date_of_birth": f"{patient.date_of_birth:%Y-%m-%d}"}
    )
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    assert client.post("/my/code/", {"code": code}).status_code == 302
    return client


def test_the_patient_asks_from_their_page_and_the_front_desk_sees_and_closes_it(
    patient, booked, client_as, front_desk
):
    client = _portal(patient)
    page = client.get("/my/").content.decode()
    assert f"/my/appointments/{booked.pk}/move/" in page
    assert client.get(f"/my/appointments/{booked.pk}/move/").status_code == 200
    refused = client.post(f"/my/appointments/{booked.pk}/move/", {"preferred": ""})
    assert refused.status_code == 422 and "Say which days or times would suit you" in refused.content.decode()
    sent = client.post(f"/my/appointments/{booked.pk}/move/", {"preferred": "Any morning next week"})
    assert sent.status_code == 302 and sent["Location"] == "/my/"
    home = client.get("/my/").content.decode()
    assert "the front desk: they will contact you" in home and "you asked to move it" in home
    again = client.post(f"/my/appointments/{booked.pk}/move/", {"preferred": "Friday"})
    assert again.status_code == 422 and "asked to move this appointment already" in again.content.decode()

    desk = client_as(front_desk)
    queue = desk.get("/enquiries/").content.decode()
    assert "Patients asking to move an appointment" in queue and "Any morning next week" in queue
    move = MoveRequest.objects.get()
    unexplained = desk.post(f"/enquiries/moves/{move.pk}/not-moved/", {"note": ""}, follow=True)
    assert "Say why it was not moved" in unexplained.content.decode()
    desk.post(f"/enquiries/moves/{move.pk}/moved/")
    move.refresh_from_db()
    assert move.status == MoveRequest.Status.MOVED and move.handled_by == front_desk
    assert "No requests waiting" in desk.get("/enquiries/").content.decode()


def test_another_patients_appointment_cannot_be_asked_about_from_the_portal(patient, booked, register):
    other = register(given_name="Ben", family_name="Other", email="ben@example.com")
    client = _portal(other)
    assert client.get(f"/my/appointments/{booked.pk}/move/").status_code == 404
    assert client.post(f"/my/appointments/{booked.pk}/move/", {"preferred": "Monday"}).status_code == 404
    assert not MoveRequest.objects.exists()


def test_a_questionnaire_due_is_listed_and_answered_on_the_patients_page(patient, nurse_actor, nurse):
    link, _ = measures.self_report_link_create(actor=nurse_actor, patient=patient, instrument="phq9")
    client = _portal(patient)
    home = client.get("/my/").content.decode()
    assert "Questionnaires to fill in" in home and f"/my/questionnaires/{link.pk}/" in home
    page = client.get(f"/my/questionnaires/{link.pk}/")
    assert page.status_code == 200 and "These questions ask about the last 2 weeks" in page.content.decode()
    answers = {f"item_{n}": "1" for n in range(1, 9)} | {"item_9": "2"}
    done = client.post(f"/my/questionnaires/{link.pk}/", answers)
    assert done.status_code == 200
    text = done.content.decode()
    assert "Please reach out now" in text and "Thank you" in text
    response = QuestionnaireResponse.objects.get()
    assert response.total == 10 and SafetyAlert.objects.filter(response=response).exists()
    closed = client.get(f"/my/questionnaires/{link.pk}/")
    assert closed.status_code == 410 and "Already done" in closed.content.decode()
    assert "Questionnaires to fill in" not in client.get("/my/").content.decode()


def test_a_physician_shares_the_report_the_patient_downloads_it_and_staff_see_that_it_was_opened(
    patient, client_as, physician, nurse, front_desk, register
):
    doctor = client_as(physician)
    assert doctor.get(f"/patients/{patient.pk}/shared/").status_code == 200
    assert "Share a letter or report" in doctor.get(f"/patients/{patient.pk}/").content.decode()
    shared = doctor.post(f"/patients/{patient.pk}/shared/", {"document": "progress_report"})
    assert shared.status_code == 302
    document = SharedDocument.objects.get()
    client = _portal(patient)
    home = client.get("/my/").content.decode()
    assert "Letters and reports" in home and f"/my/documents/{document.pk}.pdf" in home
    pdf = client.get(f"/my/documents/{document.pk}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "no-store" in pdf["Cache-Control"]
    listing = client_as(nurse).get(f"/patients/{patient.pk}/shared/").content.decode()
    assert "Progress report" in listing and "not yet" not in listing  # opened, with its time
    assert (
        client_as(nurse).post(f"/patients/{patient.pk}/shared/", {"document": "progress_report"}).status_code
        == 403
    )
    assert client_as(front_desk).get(f"/patients/{patient.pk}/shared/").status_code == 403
    other = register(given_name="Ben", family_name="Other", email="ben@example.com")
    assert _portal(other).get(f"/my/documents/{document.pk}.pdf").status_code == 404
    assert client_as(physician).post(f"/patients/{patient.pk}/shared/{document.pk}/stop/").status_code == 302
    assert client.get(f"/my/documents/{document.pk}.pdf").status_code == 404
    assert "Letters and reports" not in client.get("/my/").content.decode()


def test_a_double_click_shares_one_copy_and_a_later_sharing_makes_a_new_one(patient, doctor):
    first = services.document_share(actor=doctor, patient=patient, kind="progress_report")
    with pytest.raises(ValidationError) as again:
        services.document_share(actor=doctor, patient=patient, kind="progress_report")
    assert "a moment ago already" in str(again.value.message_dict["document"])
    SharedDocument.objects.filter(pk=first.pk).update(
        shared_at=timezone.now() - datetime.timedelta(seconds=services.RESHARE_SECONDS + 1)
    )
    services.document_share(actor=doctor, patient=patient, kind="progress_report")
    assert SharedDocument.objects.count() == 2


def test_a_request_for_an_appointment_cancelled_since_is_closed_in_one_press(
    patient, booked, client_as, front_desk, actor
):
    from ketacare.treatment.services import appointment_cancel

    services.move_request_make(
        actor=portal_actor(patient), patient=patient, appointment_id=booked.pk, preferred="Friday"
    )
    appointment_cancel(actor=actor, appointment=booked, reason="Patient unwell; will call back")
    desk = client_as(front_desk)
    queue = desk.get("/enquiries/").content.decode()
    assert "Close: the appointment was cancelled" in queue and "Moved on the calendar" not in queue
    move = MoveRequest.objects.get()
    desk.post(f"/enquiries/moves/{move.pk}/not-moved/", {"note": "The appointment was cancelled."})
    move.refresh_from_db()
    assert (
        move.status == MoveRequest.Status.NOT_MOVED and move.status_note == "The appointment was cancelled."
    )
