"""Under the Content-Security-Policy (config/csp.py) Chromium blocks nothing on the pages a nurse
and a physician use at the chair, and what used to be inline script still works: the chart's
score plot is drawn, choosing a rating to skip fills the form (also after an htmx update), the
patient search updates as one types, and the REMS record prints."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.sessions import services as sessions
from tests.conftest import sign_in
from tests.treatment_helpers import (
    ago,
    check_in,
    make_chair,
    make_eligible,
    ready_to_start,
    run_to_discharge,
    start_plan,
)

# Runs in every page before its own scripts (through the DevTools protocol, so the policy does not
# apply to it): records each violation the page reports, and stands in for the print dialog.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " line " + e.lineNumber);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


def signed_in(page, base_url, user):
    """Sign in by the session cookie, as after a password and an authenticator code: sign-in
    itself is not what this test is about (tests/accounts/test_two_factor.py drives it)."""
    client = sign_in(Client(), user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def violations(page):
    return page.evaluate("window.__violations")


def to_skip(form):
    """The rating the skip form will record as not done, worded as its select's options."""
    what, minutes = (form.locator(f"input[name={name}]").input_value() for name in ("what", "minutes"))
    return f"{what} at {minutes} min"


@pytest.mark.django_db(transaction=True)
def test_chair_pages_run_under_the_policy_with_nothing_blocked(live_server, page, make_user, register):
    doctor = Actor(user=make_user(Role.PHYSICIAN, username="drcsp"))
    nurse_user = make_user(Role.NURSE, username="nursecsp")
    nurse = Actor(user=nurse_user)
    made = {}
    for name, protocol in (
        ("Ada", "iv_ketamine_standard"),
        ("Bea", "iv_ketamine_standard"),
        ("Cai", "esketamine_nasal"),
    ):
        patient = register(given_name=name)
        make_eligible(doctor, patient)
        plan = start_plan(doctor, patient, make_chair(f"Chair {name}"), protocol=protocol)
        made[name] = check_in(nurse, plan, minutes_ago=140)
    run_to_discharge(doctor, nurse, made["Ada"], minutes=125)  # PHQ-9 16 before, 8 after: a plot
    ready_to_start(doctor, nurse, made["Bea"])
    sessions.dose_start(actor=nurse, session=made["Bea"], at=ago(12))  # ratings due at 20, 40, 60 min
    run_to_discharge(doctor, nurse, made["Cai"], minutes=125)

    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)
    signed_in(page, live_server.url, nurse_user)

    # The chart: the score plot is drawn inline, with its colours.
    response = page.goto(f"{live_server.url}/patients/{made['Ada'].patient_id}/")
    directives = {d.strip() for d in response.headers["content-security-policy"].split(";")}
    assert "script-src 'self'" in directives  # in whatever order the header lists them
    plot = page.locator("figure.trajectory svg")
    expect(plot).to_be_visible()
    assert violations(page) == []
    band = plot.locator("path[fill='#e8f5e9']").first  # the lowest severity band, shaded green
    assert band.evaluate("e => getComputedStyle(e).fill") == "rgb(232, 245, 233)"

    # The session mid-infusion: choosing the rating that cannot be done fills the hidden fields.
    page.goto(f"{live_server.url}/sessions/{made['Bea'].pk}/")
    skip = page.locator("#sedation details")
    skip.locator("summary").click()
    due = skip.get_by_label("Rating")
    options = due.locator("option").all_inner_texts()
    assert len(options) >= 2
    assert to_skip(skip) == options[0]
    due.select_option(index=1)
    assert to_skip(skip) == options[1]

    # After an htmx update of the session (a sedation rating), the new select works the same.
    page.get_by_label("MOAA/S").select_option("5")
    page.get_by_role("button", name="Rate sedation").click()
    expect(page.locator("#sedation")).to_contain_text("MOAA/S 5")
    skip = page.locator("#sedation details")
    if not skip.get_attribute("open"):
        skip.locator("summary").click()
    due = skip.get_by_label("Rating")
    options = due.locator("option").all_inner_texts()
    assert len(options) >= 2 and to_skip(skip) == options[0]
    due.select_option(index=len(options) - 1)
    assert to_skip(skip) == options[-1]
    assert violations(page) == []

    # The patient search: htmx updates the results as the nurse types (its trigger needs no eval).
    page.goto(f"{live_server.url}/patients/")
    page.get_by_label("Find a patient by name, MRN or date of birth").fill("smith, bea")
    expect(page).to_have_url(f"{live_server.url}/patients/?q=smith%2C%20bea")
    expect(page.locator("#results")).to_contain_text("Smith, Bea")
    expect(page.locator("#results")).not_to_contain_text("Smith, Ada")
    assert violations(page) == []

    # The REMS monitoring record: the Print button prints.
    page.goto(f"{live_server.url}/sessions/{made['Cai'].pk}/rems/")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    assert violations(page) == []
    assert [text for text in console if "Content Security Policy" in text] == []
