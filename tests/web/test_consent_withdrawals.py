"""A withdrawal of consent the patient makes in the portal reaches the clinic (hazard H-080): it
stays on the staff home page until a nurse or physician acknowledges it on the patient's consent
page (who and when, audited), and shows on the page of a session open for that patient and on the
Today board, so a dose is not prepared or continued in ignorance of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import ConsentSignature
from ketacare.patients.services import consent_withdraw
from ketacare.web import today
from tests.treatment_helpers import check_in, portal_actor, sign_consent, start_plan

pytestmark = pytest.mark.django_db

BANNER = "Consent withdrawn in the portal"


def withdraw_in_portal(patient):
    signature = ConsentSignature.objects.get(patient=patient, withdrawn_at__isnull=True)
    return consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)


def test_a_withdrawal_in_the_portal_stays_on_the_home_page_until_a_nurse_acknowledges_it(
    client_as, nurse, front_desk, physician, patient, eligible
):
    sign_consent(patient)
    withdrawn = withdraw_in_portal(patient)
    consent_page = reverse("patients:consent", args=[patient.pk])
    for someone in (front_desk, nurse):  # the front desk sees it too (the patient may be arriving)
        home = client_as(someone).get("/").content.decode()
        assert BANNER in home
        assert f'href="{consent_page}#withdrawal-{withdrawn.pk}">Smith, Anna</a>' in home
    page = client_as(nurse).get(consent_page).content.decode()
    assert "Anna Smith withdrew their consent to IV ketamine in the portal" in page
    assert "I have seen this withdrawal" in page
    acknowledge = reverse("patients:consent-acknowledge", args=[patient.pk, withdrawn.pk])
    assert client_as(front_desk).post(acknowledge).status_code == 403
    assert ConsentSignature.objects.get(pk=withdrawn.pk).withdrawal_seen_at is None
    done = client_as(nurse).post(acknowledge)
    assert done.status_code == 302 and done["Location"] == consent_page
    seen = ConsentSignature.objects.get(pk=withdrawn.pk)
    assert seen.withdrawal_seen_by == nurse and seen.withdrawal_seen_at is not None
    event = AuditEvent.objects.get(
        object_type="patients.consentsignature", detail__fields__0="withdrawal_seen_at"
    )
    assert (event.action, event.object_id, event.patient_id) == ("update", str(withdrawn.pk), patient.pk)
    assert BANNER not in client_as(physician).get("/").content.decode()
    # Acknowledged once: a second press says so, and changes nothing.
    again = client_as(physician).post(acknowledge)
    assert again.status_code == 422 and "already acknowledged" in again.content.decode()
    assert ConsentSignature.objects.get(pk=withdrawn.pk).withdrawal_seen_by == nurse


def test_a_withdrawal_told_to_staff_needs_no_acknowledgement(
    client_as, nurse, nurse_actor, patient, eligible
):
    signature = sign_consent(patient)
    consent_withdraw(actor=nurse_actor, signature=signature, reason="By phone, no reason given")
    assert BANNER not in client_as(nurse).get("/").content.decode()


def test_a_withdrawal_shows_on_the_open_session_and_on_the_today_board(
    client_as, nurse, nurse_actor, doctor, patient, eligible, chair
):
    session = check_in(nurse_actor, start_plan(doctor, patient, chair))
    page = client_as(nurse).get(reverse("sessions:session", args=[session.pk])).content.decode()
    assert "Consent withdrawn." not in page
    assert not any(
        "Consent withdrawn" in w
        for row in today.board(user=nurse).chairs
        if row.session
        for w in row.session.warnings
    )
    withdraw_in_portal(patient)  # on the phone, in the chair
    page = client_as(nurse).get(reverse("sessions:session", args=[session.pk])).content.decode()
    assert 'id="consent-withdrawn"' in page
    assert "Anna Smith withdrew their consent to IV ketamine" in page
    board = today.board(user=nurse)
    warnings = [w for row in board.chairs if row.session for w in row.session.warnings]
    assert (
        warnings
        and warnings[0].startswith("Consent withdrawn ")
        and "no dose; talk with the patient" in warnings[0]
    )
    assert board.alarms == 1
    assert "Consent withdrawn" in client_as(nurse).get("/").content.decode()
