"""A front-desk shift: sign in, register a patient (one field wrong, then right), find and open them."""

import pytest
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.patients.models import Patient
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_front_desk_registers_finds_and_opens_a_patient(live_server, page, make_user):
    user = make_user(Role.FRONT_DESK, username="frontdesk")

    page.goto(f"{live_server.url}/patients/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/patients/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    enter_code(page, user.username)
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    page.get_by_role("link", name="Register patient", exact=True).click()
    page.get_by_label("Given name").fill("Marisol")
    page.get_by_label("Family name").fill("Quintero")
    page.get_by_label("Date of birth").fill("1984-05-06")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone", exact=True).fill("(555) 410-2020")
    page.get_by_label("Diagnoses").select_option(["F33.2", "F41.1"])
    page.get_by_label("Primary diagnosis").select_option("F33.2")
    page.get_by_label("Weight (kg)").fill("700")
    page.get_by_label("Height (cm)").fill("165")
    page.get_by_role("button", name="Register patient").click()

    expect(page.locator("#id_weight_kg_error")).to_have_text(
        "Weight must be at most 350 kg (is it in pounds?)."
    )
    expect(page.get_by_label("Given name")).to_have_value("Marisol")
    assert Patient.objects.count() == 0

    page.get_by_label("Weight (kg)").fill("70")
    page.get_by_role("button", name="Register patient").click()
    patient = Patient.objects.get()
    expect(page.get_by_role("heading", name="Quintero, Marisol")).to_be_visible()
    expect(page.get_by_text(f"Registered Marisol Quintero, MRN {patient.mrn}.")).to_be_visible()

    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Find a patient by name, MRN or date of birth").fill("quint")
    result = page.locator("#results").get_by_role("link", name="Quintero, Marisol")
    expect(result).to_be_visible()
    expect(page.locator("#results")).to_contain_text("1 patient matches")
    result.click()

    expect(page).to_have_url(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.get_by_text(patient.mrn)).to_be_visible()
    expect(page.get_by_text("BMI 25.7 kg/m²")).to_be_visible()
