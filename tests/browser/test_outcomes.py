"""A physician reads the clinic's outcomes, filters them by route, and tries a wrong date range."""

import pytest
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD
from tests.outcome_helpers import treated  # noqa: F401  (the cohort builder)
from tests.outcomes.test_figures import cohort  # noqa: F401  (the hand-worked cohort)


@pytest.mark.django_db(transaction=True)
def test_physician_filters_the_outcome_dashboard(live_server, page, make_user, cohort):  # noqa: F811
    doctor = make_user(Role.PHYSICIAN, username="droutcomes")
    page.goto(f"{live_server.url}/outcomes/")
    page.get_by_label("Username").fill(doctor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    enter_code(page, doctor.username)

    expect(page.get_by_role("heading", name="Outcomes: does ketamine work for our patients?")).to_be_visible()
    first = page.get_by_role("row", name="After the first treatment (first score from 20 hours after")
    expect(first).to_contain_text("80.0%")
    expect(first).to_contain_text("4 of 5; 95% CI 37.6%–96.4%")
    expect(first).to_contain_text("4 of 7")  # intention to treat, beside it
    expect(page.locator("#claim")).to_contain_text("50–70%")
    expect(page.locator("#claim")).to_contain_text("intention to treat")
    expect(page.locator("#same-day")).to_contain_text("not a response")
    expect(page.locator("figure.plot svg").first).to_be_visible()

    # Filter by route with the keyboard-friendly form; the filter lands in the URL.
    page.get_by_label("Route").select_option("esketamine")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(
        f"{live_server.url}/outcomes/?instrument=phq9&start=&end=&condition=&route=esketamine"
    )
    expect(
        page.get_by_role("row", name="After the first treatment (first score from 20 hours after")
    ).to_contain_text("1 of 1")
    csv_link = page.get_by_role("link", name="CSV").first
    expect(csv_link).to_have_attribute(
        "href", "/outcomes/rates.csv?instrument=phq9&start=&end=&condition=&route=esketamine"
    )

    # A wrong range: the message names the field and the typed dates stay.
    page.get_by_label("First treatment from").fill("2026-06-01")
    page.get_by_label("First treatment to").fill("2026-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "First treatment to: The end date must be on or after the start date."
    )
    expect(page.get_by_label("First treatment from")).to_have_value("2026-06-01")
