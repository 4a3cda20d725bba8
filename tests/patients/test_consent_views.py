"""Staff and consent: the chart says, for each route, whether the current version is signed; the
patient's consent page shows what they signed, which version, when and how, and whether it counts
now; a nurse or physician records a paper signature or a withdrawal there."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.patients.models import ConsentSignature
from ketacare.patients.services import consent_publish
from tests.treatment_helpers import decided_at, sign_consent

# The patient is assessed first (a signed decision making them eligible for both routes): consent
# is signed after it (tests/patients/test_consent_decision.py drives the refusals before it).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eligible")]


def test_staff_see_what_the_patient_signed_which_version_when_and_how(
    client_as, front_desk, patient, clinic_admin
):
    signature = sign_consent(patient)
    consent_publish(
        actor=Actor(user=clinic_admin), kind="esketamine_nasal", title="Esketamine", body="Revised."
    )
    client = client_as(front_desk)
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    day = timezone.localtime(signature.signed_at).strftime("%Y-%m-%d")
    assert f"IV ketamine:\n    <strong>signed</strong> version 1 on {day} (in the portal)" in chart
    assert 'Esketamine nasal spray:\n    <strong class="alarm-text">not signed</strong> (version 2)' in chart
    page = client.get(reverse("patients:consent", args=[patient.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    day_time = timezone.localtime(signature.signed_at).strftime("%Y-%m-%d %H:%M")
    assert f"Signed version 1 on {day_time}, in the portal: a course may start." in html
    assert "Not signed: a course by Esketamine nasal spray cannot start." in html
    assert f"<strong>IV ketamine, version 1</strong><br>\n          {day_time}, in the portal<br>" in html
    assert "Name as signed: Anna Smith" in html and "<strong>Current</strong>: a course may start" in html
    # The front desk sees; only nurses and physicians record.
    assert "Record a signature on paper" not in html and "Record a withdrawal" not in html
    assert (
        client.post(reverse("patients:consent-withdraw", args=[patient.pk, signature.pk])).status_code == 403
    )
    event = AuditEvent.objects.filter(object_type="patients.consentsignature", action="view").latest("seq")
    assert event.detail == {"list": True, "ids": [signature.pk], "patients": [patient.pk]}


def test_a_nurse_records_a_paper_signature_witnessed_and_errors_come_back_beside_the_fields(
    client_as, nurse, patient
):
    client = client_as(nurse)
    html = client.get(reverse("patients:consent", args=[patient.pk])).content.decode()
    assert "Record a signature on paper of version 1" in html and "What you may feel" in html
    url = reverse("patients:consent-paper", args=[patient.pk, "iv_ketamine"])
    refused = client.post(url, {"iv_ketamine-version": "1", "iv_ketamine-typed_name": "Anna Smyth"})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert (
        'id="id_iv_ketamine-typed_name_error">The name signed must be the patient&#x27;s name on record'
        in html
    )
    assert "Tick to confirm that you saw the patient sign this version of the document." in html
    assert 'value="Anna Smyth"' in html and not ConsentSignature.objects.exists()
    done = client.post(
        url,
        {
            "iv_ketamine-version": "1",
            "iv_ketamine-typed_name": "Anna Smith",
            "iv_ketamine-signed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "iv_ketamine-witnessed": "on",
        },
    )
    assert done.status_code == 302
    signature = ConsentSignature.objects.get()
    assert (signature.method, signature.witness) == ("paper", nurse)
    html = client.get(done["Location"]).content.decode()
    assert "witnessed by you" in html and "on paper, witnessed by Nurse Tester: a course may start." in html
    assert client.post(reverse("patients:consent-paper", args=[patient.pk, "ketamine"])).status_code == 404


def test_a_physician_records_a_withdrawal_told_by_phone(client_as, physician, patient):
    signature = sign_consent(patient)
    client = client_as(physician)
    url = reverse("patients:consent-withdraw", args=[patient.pk, signature.pk])
    refused = client.post(url, {f"w{signature.pk}-reason": ""})
    assert refused.status_code == 422 and "This field is required." in refused.content.decode()
    assert client.post(url, {f"w{signature.pk}-reason": "By phone: no reason given"}).status_code == 302
    withdrawn = ConsentSignature.objects.get()
    assert (withdrawn.withdrawn_how, withdrawn.withdrawn_by, withdrawn.withdrawn_reason) == (
        "staff",
        physician,
        "By phone: no reason given",
    )
    html = client.get(reverse("patients:consent", args=[patient.pk])).content.decode()
    assert "No course starts and no session is checked in until the patient signs again." in html
    assert '<strong class="alarm-text">Withdrawn</strong>' in html and "told to a member of staff" in html
    again = client.post(url, {f"w{signature.pk}-reason": "Again"})  # a form sent twice
    assert again.status_code == 422 and "This consent is already withdrawn." in again.content.decode()
    assert ConsentSignature.objects.get().withdrawn_reason == "By phone: no reason given"


def test_the_staff_copy_is_the_signed_version_with_the_name_time_and_witness(
    client_as, nurse, nurse_actor, patient
):
    from pypdf import PdfReader

    from ketacare.patients.services import consent_record_paper

    signature = consent_record_paper(
        actor=nurse_actor,
        patient=patient,
        kind="esketamine_nasal",
        version=1,
        typed_name="ANNA SMITH",
        witnessed=True,
        decided_at=decided_at(patient, "esketamine_nasal"),
    )
    response = client_as(nurse).get(reverse("patients:consent-copy", args=[patient.pk, signature.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # The file name says what it is and when, and nothing of who: it shows in download lists.
    day = f"{timezone.localtime(signature.signed_at):%Y%m%d}"
    assert response["Content-Disposition"] == f'attachment; filename="consent-esketamine-nasal-v1-{day}.pdf"'
    assert patient.mrn not in response["Content-Disposition"]
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages).split())
    signed = timezone.localtime(signature.signed_at)
    for shown in (
        "Consent to esketamine nasal spray treatment",
        "Signed by ANNA SMITH",
        f"Signed on {signed:%-d %B %Y} at {signed:%H:%M}",
        "How Signed on paper in the clinic, witnessed by Nurse Tester",
        "monitors you for at least 2 hours after each dose",
    ):
        assert shown in text, shown
    other = sign_consent(patient, "iv_ketamine")
    # A signature is reached only under its own patient's address.
    assert (
        client_as(nurse).get(reverse("patients:consent-copy", args=[patient.pk + 1, other.pk])).status_code
        == 404
    )


def test_a_withdrawal_is_offered_once_per_route_on_its_newest_signature(
    client_as, physician, patient, clinic_admin
):
    sign_consent(patient)
    consent_publish(actor=Actor(user=clinic_admin), kind="iv_ketamine", title="IV ketamine", body="Revised.")
    newest = sign_consent(patient)
    html = client_as(physician).get(reverse("patients:consent", args=[patient.pk])).content.decode()
    assert html.count("<summary>Record a withdrawal</summary>") == 1
    assert f"/consent/signatures/{newest.pk}/withdraw/" in html
