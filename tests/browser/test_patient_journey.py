"""The patient's side, end to end in Chromium: a visitor on a phone reads the clinic's front page
and asks to talk to a doctor; the front desk, on a desktop, makes the enquiry a patient and their
self-referral; once a physician has screened them (done here through the services, as the other
browser tests drive those pages), the patient signs in on the phone with the code sent to them,
reads the consent for their treatment and signs it with their name; only then does the course
start (the physician's plan, refused before the signature), and the patient sees the appointment
and how to prepare, and the reminder goes out."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.patients.models import ConsentSignature, Patient
from ketacare.portal import reminders
from tests.browser.test_session import sign_in
from tests.treatment_helpers import make_chair, make_eligible, start_plan

PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
def test_a_visitor_becomes_a_patient_who_signs_in_and_is_reminded(live_server, browser, page, make_user):
    make_user(Role.FRONT_DESK, username="desk")
    doctor = Actor(user=make_user(Role.PHYSICIAN, username="drjones"))

    # A visitor on a phone.
    visitor = browser.new_context(viewport=PHONE).new_page()
    visitor.goto(f"{live_server.url}/")
    expect(visitor.get_by_role("heading", level=1)).to_contain_text("Ketamine treatment")
    visitor.get_by_role("link", name="What a treatment session is like").click()
    expect(visitor.get_by_text("Bring someone to take you home")).to_be_visible()
    visitor.get_by_role("button", name="Talk to a doctor", exact=True).click()  # a link styled as one
    visitor.get_by_label("First name").fill("Rosa")
    visitor.get_by_label("Last name").fill("Delgado")
    visitor.get_by_label("Date of birth").fill("1984-06-02")
    visitor.get_by_label("Phone").fill("(555) 301-2020")
    visitor.get_by_label("Email").fill("rosa@example.com")
    visitor.get_by_label("Treatment-resistant depression").check()
    for question in visitor.locator("fieldset.question").all()[:4]:
        question.get_by_label("No", exact=True).check()
    visitor.get_by_label("Anything you would like us to know (optional)").fill(
        "Three antidepressants, no help."
    )
    visitor.get_by_role("button", name="Ask for a call back").click()
    expect(visitor.get_by_role("heading", name="Thank you")).to_be_visible()

    # The front desk calls back and makes the referral.
    sign_in(page, f"{live_server.url}/", "desk")
    page.get_by_role("link", name="Enquiries").click()
    page.get_by_role("link", name="Delgado, Rosa").click()
    page.get_by_label("Sex (as asked on the call)").select_option("female")
    page.get_by_label("Agreed on the call to an assessment").check()
    page.get_by_role("button", name="Register and make the self-referral").click()
    patient = Patient.objects.get()
    expect(page).to_have_url(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.get_by_text(patient.mrn)).to_be_visible()

    # The physician's screening (their pages have browser tests of their own): IV ketamine. The
    # course cannot start yet: the patient has not signed the consent.
    make_eligible(doctor, patient, routes=("iv_ketamine",))
    start = timezone.localdate() + datetime.timedelta(days=2)
    chair = make_chair()

    def start_course():
        return start_plan(
            doctor, patient, chair, consent=False, start_on=start, start_time=datetime.time(9, 30)
        )

    with pytest.raises(ValidationError, match="has not signed the current consent for IV ketamine"):
        start_course()

    # The patient signs in on the phone with the code e-mailed to them.
    visitor.goto(f"{live_server.url}/")
    visitor.get_by_role("link", name="Your page").click()
    visitor.get_by_label("Your e-mail address or mobile number").fill("rosa@example.com")
    visitor.get_by_label("Date of birth").fill("1984-06-02")
    visitor.get_by_role("button", name="Send me a code").click()
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    visitor.get_by_label("The 6-digit code we sent you").fill(code)
    visitor.get_by_role("button", name="Sign in").click()
    expect(visitor.get_by_role("heading", name="Hello, Rosa")).to_be_visible()

    # The consent for the treatment planned: read, then signed with the name typed.
    expect(visitor.get_by_role("heading", name="To read and sign")).to_be_visible()
    visitor.get_by_role("link", name="Consent to IV ketamine treatment").click()
    expect(visitor.get_by_role("heading", name="What you may feel")).to_be_visible()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visitor.get_by_label("Type your full name to sign").fill("Rosa Delgada")  # a slip
    visitor.get_by_label("I have read and understood this document").check()
    visitor.get_by_role("button", name="Sign version 1").click()
    expect(visitor.get_by_text("Type your full name as the clinic has it")).to_be_visible()
    assert not ConsentSignature.objects.exists()
    visitor.get_by_label("Type your full name to sign").fill("rosa delgado")
    visitor.get_by_label("I have read and understood this document").check()
    visitor.get_by_role("button", name="Sign version 1").click()
    expect(visitor.get_by_text("You signed this version on")).to_be_visible()
    expect(visitor.get_by_role("link", name="Download your signed copy (PDF)")).to_be_visible()
    assert ConsentSignature.objects.get().patient == patient

    # Now the course starts, and the patient sees it.
    plan = start_course()
    first = plan.appointments.order_by("starts_at").first()
    visitor.get_by_role("link", name="Back to your page").click()
    expect(visitor.get_by_role("heading", name="What you signed")).to_be_visible()
    expect(visitor.get_by_role("heading", name="To read and sign")).to_have_count(0)
    expect(
        visitor.get_by_text(timezone.localtime(first.starts_at).strftime("%A %-d %B at 09:30"))
    ).to_be_visible()
    expect(visitor.get_by_role("heading", name="Preparing for a ketamine treatment")).to_be_visible()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll

    # Two days before, the reminder goes out (the console backend in the demo; the outbox here).
    run = reminders.send_due(first.starts_at - datetime.timedelta(hours=47))
    assert run.sent == 2
    assert "a reminder of your appointment" in mail.outbox[-1].body and mail.outbox[-1].to == [
        "rosa@example.com"
    ]
    visitor.context.close()
