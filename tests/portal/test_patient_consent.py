"""Consent in the patient portal: the patient reads the consent for their route and signs it by
typing their full name and ticking that they read and understood it; downloads a PDF copy of what
they signed; withdraws it. The clinic admin publishes a new version, which patients are then
asked to sign."""

from __future__ import annotations

import io
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.patients.models import ConsentDocument, ConsentSignature
from ketacare.patients.services import consent_publish
from tests.treatment_helpers import make_eligible, sign_consent, start_plan

pytestmark = pytest.mark.django_db

BORN = "1980-04-23"  # tests.conftest.patient_details
IV = "/my/consent/iv_ketamine/"
ESK = "/my/consent/esketamine_nasal/"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def signed_in(patient) -> Client:
    """A client signed in to the portal as `patient`, by the code e-mailed to them."""
    client = Client()
    client.post("/my/sign-in/", {"contact": patient.email, "date_of_birth": BORN})
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    assert client.post("/my/code/", {"code": code}).status_code == 302
    return client


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_patient_reads_signs_and_downloads_a_copy_of_the_consent_for_their_route(patient, doctor):
    make_eligible(doctor, patient, routes=("iv_ketamine",))
    client = signed_in(patient)
    home = client.get("/my/").content.decode()
    assert "To read and sign" in home
    assert '<a href="/my/consent/iv_ketamine/">Consent to IV ketamine treatment</a> (version 1)' in home
    assert ESK not in home  # the decision covers IV ketamine only
    page = client.get(IV)
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "<h2>What you may feel</h2>" in html and "Type your full name to sign" in html
    assert "I have read and understood this document" in html
    signed = client.post(IV, {"version": "1", "typed_name": "anna smith", "understood": "on"})
    assert signed.status_code == 302 and signed["Location"] == IV
    signature = ConsentSignature.objects.get()
    assert (signature.patient, signature.method, signature.typed_name) == (patient, "portal", "anna smith")
    html = client.get(IV).content.decode()
    assert "You signed this version on" in html and "Withdraw your consent" in html
    assert "Type your full name to sign" not in html
    home = client.get("/my/").content.decode()
    assert "To read and sign" not in home and "What you signed" in home
    copy = client.get(f"/my/consent/signatures/{signature.pk}/copy.pdf")
    assert copy.status_code == 200 and copy["Content-Type"] == "application/pdf"
    assert "no-store" in copy["Cache-Control"]
    signed_at = timezone.localtime(signature.signed_at)
    text = pdf_text(copy.content)
    for shown in (
        "Consent to IV ketamine treatment",
        "IV ketamine · version 1",
        "Signed by anna smith",
        f"Signed on {signed_at:%-d %B %Y} at {signed_at:%H:%M}",
        "Signed by the patient in the portal: the patient typed their full name and confirmed they had read "
        "and understood this document",
        "Dissociation",
        f"MRN {patient.mrn}",
        ConsentDocument.objects.get().digest[:20],
    ):
        assert shown in text, shown
    assert AuditEvent.objects.filter(
        object_type="patients.consentsignature",
        object_id=str(signature.pk),
        action="view",
        detail__copy="pdf",
    ).exists()


def test_a_name_not_as_on_record_is_refused_beside_the_field_keeping_what_was_typed(patient, eligible):
    client = signed_in(patient)
    refused = client.post(IV, {"version": "1", "typed_name": "Anna Smyth", "understood": "on"})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'id="id_typed_name_error">Type your full name as the clinic has it' in html
    assert 'value="Anna Smyth"' in html
    unticked = client.post(IV, {"version": "1", "typed_name": "Anna Smith"})
    assert "Tick the box to say you have read and understood the document." in unticked.content.decode()
    blank = client.post(IV, {"version": "1", "typed_name": ""}).content.decode()  # both said at once
    assert "Tick the box to say you have read and understood" in blank and "Type your full name as" in blank
    assert not ConsentSignature.objects.exists()


def test_a_version_published_while_the_page_was_open_is_not_signed_unread(patient, eligible, clinic_admin):
    client = signed_in(patient)
    client.get(IV)
    # The clinic's first text is version 2: version 1 is KetaCare's default, which the patient has open.
    consent_publish(actor=Actor(user=clinic_admin), kind="iv_ketamine", title="Consent v2", body="New words.")
    refused = client.post(IV, {"version": "1", "typed_name": "Anna Smith", "understood": "on"})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "Version 2 of the IV ketamine consent was published after version 1 was opened" in html
    assert "New words." in html and 'name="version" value="2"' not in html  # read it first
    assert not ConsentSignature.objects.exists()


def test_which_consents_a_patient_is_asked_to_sign(patient, doctor, chair, clinic_admin):
    client = signed_in(patient)
    home = client.get("/my/").content.decode()
    assert IV in home and ESK in home  # before any decision: every route, to read ahead
    make_eligible(doctor, patient)
    start_plan(doctor, patient, chair, protocol="esketamine_nasal")
    home = client.get("/my/").content.decode()
    assert "To read and sign" not in home  # the course's own consent is signed
    assert f'<a href="{ESK}">Consent to esketamine nasal spray treatment</a>, version 1' in home
    consent_publish(
        actor=Actor(user=clinic_admin), kind="esketamine_nasal", title="Esketamine v2", body="Revised."
    )
    home = client.get("/my/").content.decode()
    assert "To read and sign" in home and "updated since you signed version 1" in home
    assert IV not in home.split("To read and sign")[1].split("</section>")[0]


def test_a_patient_found_not_eligible_is_asked_to_sign_nothing(patient, doctor):
    make_eligible(doctor, patient, decision="not_eligible")
    assert "To read and sign" not in signed_in(patient).get("/my/").content.decode()


def test_the_patient_withdraws_their_consent_in_the_portal(patient, eligible):
    signature = sign_consent(patient)
    client = signed_in(patient)
    url = f"/my/consent/signatures/{signature.pk}/withdraw/"
    unticked = client.post(url, {"reason": ""})
    assert (
        unticked.status_code == 422 and "Tick the box to withdraw your consent." in unticked.content.decode()
    )
    assert not ConsentSignature.objects.get().withdrawn
    done = client.post(url, {"confirm": "on", "reason": "I have decided against it."})
    assert done.status_code == 302 and done["Location"] == IV
    withdrawn = ConsentSignature.objects.get()
    assert (withdrawn.withdrawn_how, withdrawn.withdrawn_reason) == ("portal", "I have decided against it.")
    html = client.get(IV).content.decode()
    assert "You withdrew your consent on" in html and "Type your full name to sign" in html
    home = client.get("/my/").content.decode()
    assert IV not in home.split("To read and sign")[1].split("</section>")[0]  # not asked again
    assert "<strong>withdrawn</strong>" in home.split("What you signed")[1]
    again = client.post(url, {"confirm": "on"})
    assert again.status_code == 422 and "This consent is already withdrawn." in again.content.decode()


def test_a_patient_reaches_only_their_own_signatures_and_only_when_signed_in(patient, register, doctor):
    other = register(given_name="Ben", email="ben@example.com")
    make_eligible(doctor, other)
    theirs = sign_consent(other)
    anonymous = Client()
    for url in (IV, f"/my/consent/signatures/{theirs.pk}/copy.pdf"):
        answer = anonymous.get(url)
        assert answer.status_code == 302 and answer["Location"] == "/my/sign-in/"
    assert (
        anonymous.post(f"/my/consent/signatures/{theirs.pk}/withdraw/", {"confirm": "on"}).status_code == 302
    )
    client = signed_in(patient)
    assert client.get(f"/my/consent/signatures/{theirs.pk}/copy.pdf").status_code == 404
    assert client.post(f"/my/consent/signatures/{theirs.pk}/withdraw/", {"confirm": "on"}).status_code == 404
    assert client.get("/my/consent/ketamine/").status_code == 404
    assert not ConsentSignature.objects.get().withdrawn


def test_the_clinic_admin_publishes_a_new_version_and_patients_are_asked_to_sign_it(
    client_as, clinic_admin, patient, eligible
):
    sign_consent(patient)
    client = client_as(clinic_admin)
    url = reverse("portal:consent-edit", args=["iv_ketamine"])
    page = client.get(url).content.decode()
    assert "Publish version 2" in page and "What you may feel" in page
    assert "KetaCare (the default text)" in page
    body = ConsentDocument.objects.get().body + "\n\nAsk us about costs."
    unconfirmed = client.post(url, {"title": "Consent to IV ketamine treatment", "body": body})
    assert unconfirmed.status_code == 422
    assert "Tick the box to publish" in unconfirmed.content.decode()
    assert ConsentDocument.objects.count() == 1
    published = client.post(url, {"title": "Consent to IV ketamine treatment", "body": body, "confirm": "on"})
    assert published.status_code == 302
    assert list(ConsentDocument.objects.values_list("version", flat=True)) == [2, 1]
    page = client.get(url).content.decode()
    assert "Version 2 is published" in page and "Ask us about costs." in page
    html = signed_in(patient).get(IV).content.decode()
    assert "You signed version 1" in html and "Sign version 2" in html
    site = client.get(reverse("portal:site")).content.decode()
    assert (
        "Consent to IV ketamine treatment" in site and "Consent to esketamine nasal spray treatment" in site
    )


def test_after_a_new_version_mid_course_the_patient_can_still_withdraw_what_they_signed(
    patient, eligible, clinic_admin
):
    signature = sign_consent(patient)
    consent_publish(actor=Actor(user=clinic_admin), kind="iv_ketamine", title="Consent v2", body="New words.")
    client = signed_in(patient)
    html = client.get(IV).content.decode()
    # Version 1 still stands (the course goes on): withdrawing it is offered, as signing version 2 is.
    assert "You signed version 1 on" in html and "Withdraw your consent" in html
    assert f'action="/my/consent/signatures/{signature.pk}/withdraw/#withdraw-h"' in html
    assert "Sign version 2" in html
    # What withdrawing does, said as it is, and what to do in the clinic.
    assert "will not start or continue" not in html
    assert "will not check you in, prepare a dose or give one for this treatment until you sign again" in html
    assert "If you are at the clinic or in a treatment now, tell the nurse." in html
    done = client.post(f"/my/consent/signatures/{signature.pk}/withdraw/", {"confirm": "on"})
    assert done.status_code == 302
    assert ConsentSignature.objects.get(pk=signature.pk).withdrawn_how == "portal"


def test_before_the_consultation_the_consent_is_there_to_read_not_to_sign(patient, doctor):
    client = signed_in(patient)
    html = client.get(IV).content.decode()
    assert "<h2>What you may feel</h2>" in html
    assert "You will be asked to sign it after your consultation" in html
    assert "Type your full name to sign" not in html and "Sign version 1" not in html
    home = client.get("/my/").content.decode()
    assert "to read now; you sign it after your consultation" in home
    refused = client.post(IV, {"version": "1", "typed_name": "Anna Smith", "understood": "on"})
    assert refused.status_code == 422
    assert (
        "No signed candidacy decision makes the patient eligible for IV ketamine" in refused.content.decode()
    )
    assert not ConsentSignature.objects.exists()
    make_eligible(doctor, patient, routes=("iv_ketamine",))
    assert "Type your full name to sign" in client.get(IV).content.decode()
    assert "You will be asked to sign it after your consultation" in client.get(ESK).content.decode()
