"""A physician takes a referred patient through the consultation to a signed decision and a letter."""

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from ketacare.accounts.roles import Role
from ketacare.clinical.contraindications import checklist
from ketacare.screening.models import CandidacyDecision
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_physician_completes_a_consultation_and_downloads_the_letter(live_server, page, make_user, register):
    doctor = make_user(Role.PHYSICIAN, username="drwong")
    patient = register(given_name="Lena", family_name="Okafor")

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_label("Username").fill(doctor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    enter_code(page, doctor.username)
    expect(page.get_by_text("No signed candidacy decision: treatment cannot start.")).to_be_visible()

    # Referral intake.
    page.get_by_role("button", name="Record a referral").click()
    page.get_by_text("A referring clinician not yet on the list").click()
    page.get_by_label("New referring clinician: name").fill("Dr Ada Osei")
    page.get_by_label("Practice").fill("Riverside Family Practice")
    page.get_by_label("Reason for referral").fill(
        "Recurrent depression; sertraline and venlafaxine did not help."
    )
    page.get_by_label("Treatment-resistant depression").check()
    page.get_by_label("The patient consents to assessment and treatment").check()
    page.get_by_label("The patient consents to reports being shared with the referring clinician").check()
    page.get_by_role("button", name="Record the referral").click()
    expect(page.get_by_text("Referral recorded.")).to_be_visible()

    # The consultation: episode, trials, history checklist.
    page.get_by_role("button", name="Start a consultation").click()
    page.get_by_label("Length of the current episode (months)").fill("18")
    page.get_by_label("Severity of the current episode").select_option("moderate")
    page.get_by_role("button", name="Save the episode").click()
    for drug, dose, start, stop in (
        ("sertraline", "150", "2025-06-01", "2025-08-01"),
        ("venlafaxine", "150", "2025-09-01", "2025-11-01"),
    ):
        page.get_by_text("Add a trial").click()
        page.get_by_label("Drug").select_option(drug)
        page.get_by_label("Highest daily dose").fill(dose)
        page.get_by_label("Started on").fill(start)
        page.get_by_label("Stopped on").fill(stop)
        page.get_by_label("Outcome").select_option("no_response")
        page.get_by_role("button", name="Add the trial").click()
        expect(page.get_by_text("Trial recorded.")).to_be_visible()
    # The one Yes (an MAOI), then "none of the rest" ticks No everywhere else, leaving the Yes.
    page.locator("input[name=maoi][value=True]").check()
    page.get_by_role("button", name="None of the rest").click()
    for rule in checklist():  # every question on the page; age comes from the date of birth
        expected = "True" if rule.code == "maoi" else "False"
        expect(page.locator(f"input[name={rule.code}][value={expected}]")).to_be_checked()
    page.get_by_role("button", name="Save the history").click()
    expect(page.locator("#staging")).to_contain_text("treatment-resistant")
    expect(page.locator("#staging")).to_contain_text("Taking a monoamine oxidase inhibitor")

    # A plain "eligible" is refused while a precaution applies; the form keeps what was typed.
    page.get_by_label("Eligible", exact=True).check()
    page.get_by_label("IV ketamine").check()
    page.get_by_label("Reasons").fill("Treatment-resistant depression; no absolute contraindication.")
    page.get_by_label("Your password, to sign").fill(PASSWORD)
    page.get_by_role("button", name="Sign the decision").click()
    expect(page.get_by_text("choose eligible with precautions")).to_be_visible()
    expect(page.get_by_label("Reasons")).to_have_value(
        "Treatment-resistant depression; no absolute contraindication."
    )
    assert not CandidacyDecision.objects.exists()

    page.get_by_label("Eligible with precautions").check()
    page.get_by_label("Precautions", exact=True).fill(
        "Review the MAOI with the prescriber; blood pressure every 10 minutes."
    )
    page.get_by_label("Proposed plan (for the letter)").fill(
        "Six IV ketamine infusions at 0.5 mg/kg over three weeks."
    )
    page.get_by_label("Your password, to sign").fill(PASSWORD)
    page.get_by_role("button", name="Sign the decision").click()
    expect(page.get_by_text("Decision signed: Eligible with precautions.")).to_be_visible()

    with page.expect_download() as download:
        page.locator("#decision").get_by_role("link", name="Letter (PDF)").click()
    text = " ".join(
        " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(open(download.value.path(), "rb").read())).pages
        ).split()
    )
    assert "Lena Okafor" in text and "Dear Dr Ada Osei" in text
    assert "Eligible with precautions for IV ketamine" in text
