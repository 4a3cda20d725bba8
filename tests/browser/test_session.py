"""A physician plans a course; a nurse runs the first infusion at the chair from check-in to
discharge, the physician orders the dose and signs, and the session locks."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.measures.models import QuestionnaireResponse
from ketacare.sessions.models import TreatmentSession
from ketacare.sessions.services import signature_valid
from tests.conftest import PASSWORD
from tests.treatment_helpers import make_chair, make_eligible


def sign_in(page, url, username):
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def answer_phq9(page, answers):
    for n, value in enumerate(answers, start=1):
        page.locator(f"input[name=item_{n}][value='{value}']").check()
    page.get_by_role("button", name="Record PHQ9").click()


@pytest.mark.django_db(transaction=True)
def test_nurse_runs_an_infusion_from_check_in_to_discharge_and_the_physician_signs(
    live_server, page, browser, make_user, register
):
    doctor = make_user(Role.PHYSICIAN, username="drkim")
    nurse = make_user(Role.NURSE, username="nurseann")
    patient = register(given_name="Rosa", family_name="Marek")
    make_eligible(Actor(user=doctor), patient, routes=("iv_ketamine",))
    make_chair("Chair 3", "Room B")

    # The physician starts the plan: the first infusion today.
    doc_context = browser.new_context(viewport={"width": 1280, "height": 900})
    doc = doc_context.new_page()
    sign_in(doc, f"{live_server.url}/patients/{patient.pk}/", doctor.username)
    doc.get_by_role("button", name="Start a treatment plan").click()
    today = timezone.localdate()
    doc.get_by_label("First treatment").fill(today.isoformat())
    doc.get_by_label("Time").fill("00:00")  # earlier today: still listed and checked in today
    for box in doc.locator("input[name=weekdays]").all():
        box.set_checked(box.get_attribute("value") == str(today.weekday()))
    doc.get_by_role("button", name="Start the plan and book the induction").click()
    expect(doc.get_by_text("Plan started: 6 treatments booked.")).to_be_visible()

    # The nurse checks the patient in from the appointments list; a typing error comes back first.
    sign_in(page, f"{live_server.url}/appointments/", nurse.username)
    page.get_by_role("row", name="Marek, Rosa").first.get_by_role("link", name="Check in").click()
    page.get_by_label("Weight today (kg)").fill("80")
    page.get_by_label("Height (cm)").fill("175")
    page.get_by_label("Systolic (mmHg)").fill("80")
    page.get_by_label("Diastolic (mmHg)").fill("124")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Diastolic must be below systolic.")).to_be_visible()
    expect(page.get_by_label("Weight today (kg)")).to_have_value("80")
    page.get_by_label("Systolic (mmHg)").fill("124")
    page.get_by_label("Diastolic (mmHg)").fill("80")
    page.get_by_label("Heart rate (/min)").fill("72")
    page.get_by_label("SpO2 (%)").fill("98")
    page.get_by_label("Resp. rate (/min)").fill("14")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_text("within the gate 140/90 mmHg")).to_be_visible()
    session = TreatmentSession.objects.get(patient=patient)

    # Pre-session PHQ-9.
    page.get_by_role("button", name="PHQ-9 (Patient Health Questionnaire)").click()
    answer_phq9(page, [2, 2, 2, 2, 2, 2, 2, 2, 0])
    expect(page.get_by_text("Pre-session scale: PHQ9 16")).to_be_visible()

    # The physician orders the dose at their own screen.
    doc.goto(f"{live_server.url}/sessions/{session.pk}/")
    doc.get_by_label("Lot number").fill("KT55120")
    doc.get_by_role("button", name="Order", exact=True).click()
    expect(doc.locator("#order")).to_contain_text("156 mL/h")

    # The nurse starts the infusion and charts it (htmx: the page is updated in place).
    page.reload()
    expect(page.locator("#order")).to_contain_text("draw 4 mL")
    page.get_by_role("button", name="Start the infusion").click()
    expect(page.get_by_role("button", name="Stop the infusion")).to_be_visible()
    for systolic, diastolic, hr in (("138", "88", "80"), ("146", "94", "84")):
        page.get_by_label("Systolic (mmHg)").fill(systolic)
        page.get_by_label("Diastolic (mmHg)").fill(diastolic)
        page.get_by_label("Heart rate (/min)").fill(hr)
        page.get_by_label("SpO2 (%)").fill("97")
        page.get_by_label("Resp. rate (/min)").fill("15")
        page.get_by_role("button", name="Add the reading").click()
        expect(page.locator("#vitals table")).to_contain_text(f"{systolic}/{diastolic}")
    expect(page.locator("#vitals td span.out").first).to_have_text("146")  # over the gate: highlighted
    page.get_by_label("MOAA/S").select_option("4")
    page.get_by_role("button", name="Rate sedation").click()
    expect(page.locator("#sedation")).to_contain_text("MOAA/S 4")
    page.get_by_text("Record an adverse event").click()
    page.locator("#event select[name=kind]").select_option("nausea")
    page.locator("#event input[name=action_taken]").fill("Ondansetron 4 mg IV")
    page.get_by_role("button", name="Record the event").click()
    expect(page.locator("#event")).to_contain_text("Nausea · mild")
    page.get_by_role("button", name="Stop the infusion").click()
    expect(page.get_by_role("button", name="Discharge")).to_be_visible()

    # Forty-five minutes later (the clock is moved rather than waited on).
    shift = datetime.timedelta(minutes=45)
    s = TreatmentSession.objects.get(pk=session.pk)
    TreatmentSession.objects.filter(pk=s.pk).update(
        checked_in_at=s.checked_in_at - shift, dose_started_at=s.dose_started_at - shift
    )
    s.vitals.update(taken_at=timezone.now() - shift)
    QuestionnaireResponse.objects.filter(patient=patient).update(
        administered_at=timezone.now() - shift - shift
    )
    page.reload()
    page.get_by_label("Systolic (mmHg)").fill("126")
    page.get_by_label("Diastolic (mmHg)").fill("82")
    page.get_by_label("SpO2 (%)").fill("98")
    page.get_by_role("button", name="Add the reading").click()
    expect(page.locator("#vitals table")).to_contain_text("126/82")

    # Discharge is refused until the post-session scale is in and every criterion is met.
    for label in (
        "Vital signs back near baseline",
        "Alert and oriented",
        "Walking steadily",
        "SpO2 above 92%",
    ):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Discharge").click()
    expect(page.get_by_text("Record the post-session scale first.")).to_be_visible()
    expect(
        page.locator("#discharge").get_by_text("Not met: the patient cannot leave until it is.").first
    ).to_be_visible()
    page.get_by_role("button", name="PHQ-9 (Patient Health Questionnaire)").click()
    answer_phq9(page, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    for label in (
        "Vital signs back near baseline",
        "Alert and oriented",
        "Walking steadily",
        "SpO2 above 92%",
        "A responsible adult escort is present",
        "Told not to drive or operate machinery until the next day after restful sleep",
    ):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Discharge").click()
    expect(page.locator("#discharge")).to_contain_text("every criterion met")

    # Both sign; the session locks.
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign the session").click()
    expect(page.locator("#sign")).to_contain_text("Nurse: Nurse Tester")
    doc.goto(f"{live_server.url}/sessions/{session.pk}/")
    doc.get_by_label("Your password").fill(PASSWORD)
    doc.get_by_role("button", name="Sign the session").click()
    expect(doc.get_by_text("Signed and locked")).to_be_visible()
    doc_context.close()

    signed = TreatmentSession.objects.get(pk=session.pk)
    assert signed.locked and signature_valid(signed)
    assert signed.orders.get().dose_mg == 40
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.locator("#treatment")).to_contain_text("40 mg (0.5 mg/kg)")
    expect(page.locator("#treatment")).to_contain_text("Nausea (mild)")
    # the pre-session score is the baseline and the post-session one halves it: a response
    expect(page.locator("#measures table").first).to_contain_text("-8 (-50.0%)")
