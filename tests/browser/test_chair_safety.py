"""Chair-side safety on a tablet: a weight typed in pounds is refused at check-in, the checklist
flags a new benzodiazepine, the physician sees the prepared dose, a low SpO2 during the infusion
raises an alarm, and discharge waits until the readings recover and the alarm is answered."""

import pytest
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.patients.models import BodyMeasurement
from ketacare.sessions import services
from ketacare.sessions.models import TreatmentSession
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_session import answer_checklist, move_clock_back, sign_in
from tests.treatment_helpers import ALL_CLEAR, make_chair, make_eligible, phq9, rate_on_schedule, start_plan

TABLET = {"width": 820, "height": 1180}

# For every body row of the flowsheet: (cells in the row, columns in the header).
FLOWSHEET_SHAPE = """() => {
    const table = document.querySelector('table.flowsheet');
    const columns = table.querySelectorAll('thead tr th').length;
    return [...table.querySelectorAll('tbody tr')].map(row => [row.querySelectorAll('td').length, columns]);
}"""


# Nothing in the page's main part is wider than the tablet (the flowsheet scrolls in its own box).
MAIN_FITS = "() => document.querySelector('main').scrollWidth <= document.querySelector('main').clientWidth"


def assert_flowsheet_lines_up(page, rows):
    shape = page.evaluate(FLOWSHEET_SHAPE)
    assert len(shape) == rows
    assert all(cells == columns for cells, columns in shape), shape


def fill_vitals(page, systolic, diastolic, heart_rate, spo2, resp_rate):
    page.get_by_label("Systolic (mmHg)").fill(systolic)
    page.get_by_label("Diastolic (mmHg)").fill(diastolic)
    page.get_by_label("Heart rate (/min)").fill(heart_rate)
    page.get_by_label("SpO2 (%)").fill(spo2)
    page.get_by_label("Resp. rate (/min)").fill(resp_rate)


def tick_discharge_criteria(page):
    for label in (
        "Alert and oriented",
        "Walking steadily",
        "A responsible adult escort is present",
        "Told not to drive or operate machinery until the next day after restful sleep",
    ):
        page.get_by_label(label).check()


@pytest.fixture
def tablets(browser, request):
    """Two tablets at the chair, the nurse's and the physician's; screenshots kept for review."""
    contexts = [browser.new_context(viewport=TABLET, has_touch=True) for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(10_000)
    pages = [context.new_page() for context in contexts]
    yield pages
    SCREENSHOTS.mkdir(exist_ok=True)
    for who, page in zip(("nurse", "physician"), pages, strict=True):
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{who}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_weight_in_pounds_is_refused_and_discharge_waits_for_spo2_sedation_and_the_alarm(
    live_server, tablets, make_user, register
):
    nurse_page, doc = tablets
    doctor = make_user(Role.PHYSICIAN, username="drosei")
    nurse = make_user(Role.NURSE, username="nursebea")
    patient = register(given_name="Lena", family_name="Halvorsen")  # registered at 72.5 kg
    make_eligible(Actor(user=doctor), patient, routes=("iv_ketamine",))
    start_plan(Actor(user=doctor), patient, make_chair("Chair 2", "Room A"))
    weights_before = BodyMeasurement.objects.filter(patient=patient).count()

    # The nurse types the weight in pounds: refused, shown in kg and lb, asked to confirm.
    sign_in(nurse_page, f"{live_server.url}/appointments/", nurse.username)
    nurse_page.get_by_role("row", name="Halvorsen, Lena").first.get_by_role("link", name="Check in").click()
    nurse_page.get_by_label("Weight today (kg)").fill("160")
    nurse_page.get_by_label("Height (cm)").fill("168")
    fill_vitals(nurse_page, "124", "80", "72", "98", "14")
    answer_checklist(nurse_page, {**ALL_CLEAR, "new_benzodiazepine": True})
    nurse_page.get_by_role("button", name="Check in").click()
    expect(
        nurse_page.get_by_text(
            "160 kg (352.7 lb) is more than 10% from the last recorded 72.5 kg (159.8 lb). "
            "Was it typed in pounds?"
        )
    ).to_be_visible()
    expect(nurse_page.get_by_label("The weight is right (re-weighed in kg)")).not_to_be_checked()
    # Nothing is lost: the checklist answer and the vitals stay as typed.
    benzodiazepine = nurse_page.get_by_role("radiogroup", name="Benzodiazepine started or changed")
    expect(benzodiazepine.get_by_role("radio", name="Yes")).to_be_checked()
    expect(nurse_page.get_by_label("Systolic (mmHg)")).to_have_value("124")
    assert nurse_page.evaluate(MAIN_FITS)
    assert not TreatmentSession.objects.filter(patient=patient).exists()
    assert BodyMeasurement.objects.filter(patient=patient).count() == weights_before

    # Re-weighed in kilograms: 73 kg is within 10% and passes without the confirmation.
    nurse_page.get_by_label("Weight today (kg)").fill("73")
    nurse_page.get_by_role("button", name="Check in").click()
    expect(nurse_page.get_by_role("heading", name="Check-in")).to_be_visible()
    check_in = nurse_page.locator("#check-in")
    expect(check_in).to_contain_text("73 kg")
    expect(check_in).not_to_contain_text("a change of more than 10%")
    expect(check_in.locator(".warning-box")).to_have_text(
        "Checklist: Benzodiazepine started or changed: more sedation, and a dose-related loss of effect."
    )
    session = TreatmentSession.objects.get(patient=patient)
    assert session.weight_kg == 73 and not session.weight_confirmed
    assert session.checklist["new_benzodiazepine"] is True

    # The physician orders 0.5 mg/kg from the 50 mg/mL vial and sees what is drawn up.
    sign_in(doc, f"{live_server.url}/sessions/{session.pk}/", doctor.username)
    doc.get_by_label("Concentration (mg/mL)").fill("50")
    doc.get_by_label("Lot number").fill("KT50-0412")
    doc.get_by_role("button", name="Order", exact=True).click()
    order = doc.locator("#order .dose-order")
    expect(order).to_contain_text("Prepared 36.5 mg (= the ordered dose)")
    expect(order).to_contain_text("(0.5 mg/kg × 73 kg actual weight)")
    expect(order).to_contain_text("draw 0.73 mL of 50 mg/mL")

    # Pre-session scale, then the nurse starts the infusion.
    phq9(session, Actor(user=nurse), "pre")
    nurse_page.reload()
    expect(nurse_page.locator("#order .dose-order")).to_contain_text("Prepared 36.5 mg (= the ordered dose)")
    nurse_page.get_by_role("button", name="Start the infusion").click()
    expect(nurse_page.locator("#order")).to_contain_text("Dose started")

    # Twenty minutes in, the oximeter reads 90%: a loud alarm.
    move_clock_back(session, 20)
    nurse_page.reload()
    fill_vitals(nurse_page, "118", "74", "64", "90", "10")
    nurse_page.get_by_role("button", name="Add the reading").click()
    alarm = nurse_page.get_by_role("alert").filter(has_text="SpO2 91% or less")
    expect(alarm).to_be_visible()
    expect(alarm).to_contain_text("not answered")
    expect(nurse_page.locator("#vitals tbody tr.alarm-row")).to_have_count(1)
    assert_flowsheet_lines_up(nurse_page, rows=2)

    # The infusion runs to its end (41 minutes), the scheduled ratings are done, an hour passes.
    move_clock_back(session, 21)
    services.dose_stop(actor=Actor(user=nurse), session=TreatmentSession.objects.get(pk=session.pk))
    move_clock_back(session, 60)
    session.refresh_from_db()
    rate_on_schedule(Actor(user=nurse), session, session.dose_started_at)
    phq9(session, Actor(user=nurse), "post", [1] * 8 + [0])

    # Still 92% and drowsy: discharge is refused and says why.
    nurse_page.reload()
    fill_vitals(nurse_page, "122", "78", "70", "92", "13")
    nurse_page.get_by_role("button", name="Add the reading").click()
    expect(nurse_page.locator("#vitals table")).to_contain_text("122/78")
    nurse_page.get_by_label("MOAA/S").select_option("4")
    nurse_page.get_by_role("button", name="Rate sedation").click()
    expect(nurse_page.locator("#sedation")).to_contain_text("MOAA/S 4")
    tick_discharge_criteria(nurse_page)
    nurse_page.get_by_role("button", name="Discharge").click()
    discharge = nurse_page.locator("#discharge")
    expect(discharge.locator("li.unmet")).to_have_count(2)
    expect(discharge.locator("li.unmet").first).to_contain_text("✗ SpO2 above 92% in the last 15 minutes")
    expect(discharge.locator("li.unmet").first).to_contain_text(": it must be above 92%.")
    expect(discharge.locator("li.unmet").last).to_contain_text("✗ Latest MOAA/S after the dose is 5")
    expect(discharge.locator("li.unmet").last).to_contain_text(": it must be 5.")
    expect(discharge).to_contain_text(
        "Record the adverse event, or acknowledge with a note, for each alarm: SpO2 91% or less."
    )
    assert TreatmentSession.objects.get(pk=session.pk).discharged_at is None

    # The alarm is answered by the adverse event it shows.
    event = nurse_page.locator("#event")
    event.locator("select[name=kind]").select_option(
        label="Respiratory depression (low SpO2 or breathing rate)"
    )
    event.locator("select[name=severity]").select_option("moderate")
    event.get_by_label("Action taken").fill("Chin lift, oxygen 2 L/min by nasal cannula; infusion continued")
    event.get_by_role("button", name="Record the event").click()
    expect(event).to_contain_text("Respiratory depression (low SpO2 or breathing rate) · moderate")
    expect(nurse_page.locator("#alarms")).to_contain_text(
        "adverse event: Respiratory depression (low SpO2 or breathing rate)"
    )
    expect(nurse_page.locator("#alarms")).not_to_contain_text("not answered")

    # SpO2 and sedation recover: the patient goes home.
    fill_vitals(nurse_page, "120", "78", "68", "97", "14")
    nurse_page.get_by_role("button", name="Add the reading").click()
    expect(nurse_page.locator("#vitals table")).to_contain_text("120/78")
    nurse_page.get_by_label("MOAA/S").select_option("5")
    nurse_page.get_by_role("button", name="Rate sedation").click()
    expect(nurse_page.locator("#discharge li.unmet")).to_have_count(0)
    tick_discharge_criteria(nurse_page)
    nurse_page.get_by_role("button", name="Discharge").click()
    expect(discharge).to_contain_text("every criterion met")
    expect(discharge.locator("li.met").filter(has_text="SpO2 above 92%")).to_contain_text("Last SpO2 97%")
    assert TreatmentSession.objects.get(pk=session.pk).discharged_at is not None

    # Every flowsheet row, alarm and struck rows included, has a cell under each column.
    assert_flowsheet_lines_up(nurse_page, rows=4)
    assert nurse_page.evaluate(MAIN_FITS) and doc.evaluate(MAIN_FITS)
