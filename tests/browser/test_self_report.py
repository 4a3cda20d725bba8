"""A patient fills in a PHQ-9 on a phone with a positive item 9; a physician acts on the alert."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD

PHQ9_ANSWERS = ["Several days"] * 4 + ["Not at all"] * 4 + ["Several days"]


def sign_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/two-factor/**")
    enter_code(page, user.username)


@pytest.mark.django_db(transaction=True)
def test_phone_self_report_crisis_text_alert_acknowledged_and_charted(
    live_server, browser, page, make_user, register
):
    nurse = make_user(Role.NURSE, username="nurse")
    physician = make_user(Role.PHYSICIAN, username="doctor")
    patient = register()

    # The nurse creates a link from the chart.
    sign_in(page, live_server.url, nurse)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_label("Send a self-report link for").select_option("phq9")
    page.get_by_role("button", name="Create link").click()
    url = page.get_by_label("Link").input_value()
    assert "/r/" in url

    # The patient opens it on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.goto(url)
    # The page names the clinic and the scale, never the patient: the phone may be someone else's.
    expect(mobile.get_by_role("heading", name=f"{settings.CLINIC_NAME}: questionnaire")).to_be_visible()
    expect(mobile).to_have_title(f"{settings.CLINIC_NAME}: questionnaire")
    expect(mobile.locator("body")).not_to_contain_text("Anna")
    expect(mobile.locator("body")).not_to_contain_text("Smith")
    for number, answer in enumerate(PHQ9_ANSWERS, start=1):
        mobile.locator(f"#id_item_{number}_group").get_by_label(answer, exact=True).check()
    mobile.get_by_role("button", name="Send my answers").click()
    expect(mobile.get_by_role("alert")).to_contain_text("988")
    expect(mobile.get_by_role("heading", name="Please reach out now")).to_be_visible()
    mobile.screenshot(path="test-results/self_report_phone_crisis.png", full_page=True)
    mobile.goto(url)
    expect(mobile.get_by_role("heading", name="Already done")).to_be_visible()
    phone.close()

    response = QuestionnaireResponse.objects.get()
    assert (response.total, response.flags, response.source) == (5, ["suicidal_ideation"], "patient_link")

    # The physician sees the alert on the dashboard and acknowledges it.
    page.context.clear_cookies()
    sign_in(page, live_server.url, physician)
    alerts = page.locator("#alerts")
    expect(alerts).to_contain_text("Urgent: suicidal ideation")
    expect(alerts).to_contain_text("Smith, Anna")
    alerts.get_by_text("Acknowledge…").click()
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(alerts.locator(".error")).to_contain_text("Write what was done")
    alerts.get_by_label("What was done").fill(
        "Phoned the patient: safe, safety plan reviewed, seen tomorrow."
    )
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(alerts).to_contain_text("Acknowledged by doctor")
    assert SafetyAlert.objects.get().acknowledged_by == physician

    # The chart shows the new point.
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    measures = page.locator("#measures")
    expect(measures.locator("figure.trajectory svg")).to_be_visible()
    row = measures.locator("#response-rows tr").first
    expect(row).to_contain_text("PHQ-9")
    expect(row).to_contain_text("5")
    expect(row).to_contain_text("patient self-report")


@pytest.mark.django_db(transaction=True)
def test_a_link_sent_by_mistake_is_revoked_from_the_chart(live_server, browser, page, make_user, register):
    nurse = make_user(Role.NURSE, username="nurse")
    patient = register()

    sign_in(page, live_server.url, nurse)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_label("Send a self-report link for").select_option("gad7")
    page.get_by_role("button", name="Create link").click()
    url = page.get_by_label("Link").input_value()

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    links = page.locator("#self-report-links")
    expect(links.locator("tbody tr")).to_have_count(1)
    expect(links).to_contain_text("GAD-7")
    expect(links).to_contain_text("nurse")
    links.get_by_role("button", name="Revoke").click()
    expect(links).to_contain_text("Link revoked")
    expect(links).to_contain_text("No open self-report links.")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.goto(url)
    expect(mobile.get_by_role("heading", name="Link expired")).to_be_visible()
    phone.close()
    assert QuestionnaireResponse.objects.count() == 0
