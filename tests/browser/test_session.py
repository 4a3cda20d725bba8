"""A physician plans a course; a nurse runs the first infusion at the chair from check-in to
discharge, the physician orders the dose and signs, and the session locks."""

import datetime

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.measures.models import QuestionnaireResponse
from ketacare.sessions.models import (
    AdverseEvent,
    AlarmAcknowledgement,
    DeviceDose,
    DoseOrder,
    SedationRating,
    TreatmentSession,
    VitalSign,
)
from ketacare.sessions.services import signature_valid
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD
from tests.treatment_helpers import (
    ALL_CLEAR,
    ESCORT,
    make_chair,
    make_eligible,
    rate_on_schedule,
    sign_consent,
)


def sign_in(page, url, username):
    page.goto(url)
    if not page.get_by_label("Username").count():  # the clinic's public front page, at "/"
        page.get_by_role("link", name="Staff sign in").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    enter_code(page, username)


def answer_checklist(page, answers=ALL_CLEAR, escort=ESCORT):
    """Answer the pre-dose checklist shown on the page ({code: True for yes}) and the escort."""
    for code, yes in answers.items():
        page.locator(f"input[name=check_{code}][value={'yes' if yes else 'no'}]").check()
    page.get_by_label("Escort's name").fill(escort["escort_name"])
    page.get_by_label("Escort's phone").fill(escort["escort_phone"])


def move_clock_back(session, minutes):
    """Move every time recorded in the session `minutes` back: the clock is moved rather than
    waited on. Differences between times (minutes after the dose) stay as they were."""
    back = datetime.timedelta(minutes=minutes)
    TreatmentSession.objects.filter(pk=session.pk).update(
        checked_in_at=F("checked_in_at") - back,
        dose_started_at=F("dose_started_at") - back,
        dose_stopped_at=F("dose_stopped_at") - back,
    )
    DoseOrder.objects.filter(session=session).update(ordered_at=F("ordered_at") - back)
    VitalSign.objects.filter(session=session).update(taken_at=F("taken_at") - back)
    SedationRating.objects.filter(session=session).update(rated_at=F("rated_at") - back)
    DeviceDose.objects.filter(session=session).update(given_at=F("given_at") - back)
    AdverseEvent.objects.filter(session=session).update(
        onset_at=F("onset_at") - back, recorded_at=F("recorded_at") - back
    )
    AlarmAcknowledgement.objects.filter(session=session).update(acknowledged_at=F("acknowledged_at") - back)
    QuestionnaireResponse.objects.filter(patient_id=session.patient_id).update(
        administered_at=F("administered_at") - back
    )


def answer_phq9(page, answers):
    for n, value in enumerate(answers, start=1):
        page.locator(f"input[name=item_{n}][value='{value}']").check()
    page.get_by_role("button", name="Record PHQ-9").click()


@pytest.mark.django_db(transaction=True)
def test_nurse_runs_an_infusion_from_check_in_to_discharge_and_the_physician_signs(
    live_server, page, browser, make_user, register
):
    doctor = make_user(Role.PHYSICIAN, username="drkim")
    nurse = make_user(Role.NURSE, username="nurseann")
    patient = register(given_name="Rosa", family_name="Marek")
    make_eligible(Actor(user=doctor), patient, routes=("iv_ketamine",))
    # The patient has signed the consent in the portal (tests/browser/test_patient_journey.py).
    sign_consent(patient)
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
    # 80 kg is more than 10% over the registered 72.5 kg: re-weighed, and confirmed.
    page.get_by_label("The weight is right (re-weighed in kg)").check()
    answer_checklist(page)
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
    expect(page.get_by_text("Pre-session scale: PHQ-9 16")).to_be_visible()

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

    # Forty-one minutes later the infusion has run its course and is stopped.
    move_clock_back(session, 41)
    page.reload()
    page.get_by_role("button", name="Stop the infusion").click()
    expect(page.get_by_role("button", name="Discharge")).to_be_visible()

    # An hour later (the clock is moved rather than waited on), every scheduled rating done.
    move_clock_back(session, 60)
    s = TreatmentSession.objects.get(pk=session.pk)
    rate_on_schedule(Actor(user=nurse), s, s.dose_started_at)
    page.reload()
    page.get_by_label("Systolic (mmHg)").fill("126")
    page.get_by_label("Diastolic (mmHg)").fill("82")
    page.get_by_label("SpO2 (%)").fill("98")
    page.get_by_role("button", name="Add the reading").click()
    expect(page.locator("#vitals table")).to_contain_text("126/82")

    # Discharge is refused until the post-session scale is in and every criterion is met.
    for label in ("Alert and oriented", "Walking steadily"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Discharge").click()
    expect(page.get_by_text("Record the post-session scale first.")).to_be_visible()
    expect(
        page.locator("#discharge").get_by_text("Not met: the patient cannot leave until it is.").first
    ).to_be_visible()
    page.get_by_role("button", name="PHQ-9 (Patient Health Questionnaire)").click()
    answer_phq9(page, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    for label in (
        "Alert and oriented",
        "Walking steadily",
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
    # The pre-session score is the baseline; the post-session one halves it, but it measures the
    # acute state: shown as the latest, same day as the dose, and never read as a response.
    expect(page.locator("#measures table").first).to_contain_text("same day as a dose")
    expect(page.locator("#measures table").first).not_to_contain_text("-50.0%")
