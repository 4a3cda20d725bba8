"""A clinic morning on two tablets: the physician's Today board shows three patients in three
chairs at their steps, one with an alarm; the nurse answers the alarm on her tablet and the
physician's board changes without a reload; then the nurse records vital signs and the
physician's open session page shows them without a reload."""

import pytest
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.clinical.monitoring import Vitals
from ketacare.sessions import services
from ketacare.sessions import views as session_views
from ketacare.web import today
from tests.browser.test_chair_safety import TABLET, fill_vitals, tablets  # noqa: F401  (the fixture)
from tests.browser.test_session import sign_in
from tests.treatment_helpers import (
    check_in,
    infusing,
    make_chair,
    make_eligible,
    recovering_with_low_spo2,
    start_plan,
)


def _morning(register, doctor, nurse):
    """Three patients in Chairs 1-3 (checked in; infusion running 15 minutes; in recovery with
    an SpO2 of 88%) and a fourth booked in Chair 4, not arrived."""
    plans = []
    for n, (given, family) in enumerate(
        (("Ada", "Quinn"), ("Ben", "Okafor"), ("Cleo", "Marsh"), ("Dev", "Arora")), start=1
    ):
        p = register(given_name=given, family_name=family, email=f"{given.lower()}@example.com")
        make_eligible(doctor, p, routes=("iv_ketamine",))
        plans.append(start_plan(doctor, p, make_chair(f"Chair {n}", "Room A")))
    check_in(nurse, plans[0], minutes_ago=5)
    dosing = infusing(doctor, nurse, plans[1])
    recovery = recovering_with_low_spo2(doctor, nurse, plans[2])
    return dosing, recovery


@pytest.mark.django_db(transaction=True)
def test_a_clinic_morning_on_two_tablets(live_server, tablets, make_user, register, monkeypatch):  # noqa: F811
    monkeypatch.setattr(today, "POLL_SECONDS", 1)
    monkeypatch.setattr(session_views, "LIVE_POLL_SECONDS", 1)
    nurse_page, doc_page = tablets
    doctor_user = make_user(Role.PHYSICIAN, username="drosei")
    nurse_user = make_user(Role.NURSE, username="nursebea")
    dosing, recovery = _morning(register, Actor(user=doctor_user), Actor(user=nurse_user))

    sign_in(doc_page, live_server.url + "/", "drosei")
    expect(doc_page.get_by_role("heading", level=1)).to_contain_text("Today")
    board = doc_page.locator("#today-board")
    chair = {n: board.locator(f"[data-chair='Chair {n}']") for n in (1, 2, 3, 4)}
    expect(chair[1]).to_contain_text("Quinn, Ada")
    expect(chair[1]).to_contain_text("Checked in")
    expect(chair[1]).to_contain_text("Next: A physician orders the dose")
    expect(chair[2]).to_contain_text("Dosing")
    expect(chair[2]).to_contain_text("Vitals due")
    expect(chair[3]).to_contain_text("Monitoring")
    expect(chair[3]).to_contain_text("Alarm: SpO2 91% or less")
    expect(chair[3]).to_have_class("chair-card step-monitoring has-alarm")
    expect(chair[4]).to_contain_text("Free")
    expected = board.get_by_role("table")
    expect(expected).to_contain_text("Arora, Dev")
    expect(expected).to_contain_text("late")
    assert doc_page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    doc_page.evaluate("window.notReloaded = true")

    # The nurse, on her tablet, opens Chair 3 from her board and answers the alarm.
    sign_in(nurse_page, live_server.url + "/", "nursebea")
    nurse_page.locator("[data-chair='Chair 3']").get_by_role("button", name="Open the session").click()
    expect(nurse_page.get_by_role("heading", name="Session 1")).to_be_visible()
    nurse_page.get_by_text("Acknowledge an alarm that is not an adverse event").click()
    nurse_page.get_by_label("Why no adverse event").fill("Repositioned, deep breaths: SpO2 96% on air")
    nurse_page.get_by_role("button", name="Acknowledge").click()
    expect(nurse_page.locator("#alarms")).to_contain_text("acknowledged by")

    # The physician's board changes on its own: the alarm is gone, nothing reloaded the page.
    expect(chair[3]).not_to_contain_text("Alarm:", timeout=8_000)
    expect(chair[3]).to_have_class("chair-card step-monitoring")
    expect(board).to_contain_text("nothing needs a clinician now")
    assert doc_page.evaluate("window.notReloaded") is True

    # The physician opens the running infusion; the nurse records a reading at her tablet and it
    # appears on the physician's page without a reload.
    chair[2].get_by_role("button", name="Open the session").click()
    expect(doc_page.get_by_role("heading", name="Session 1")).to_be_visible()
    doc_page.evaluate("window.notReloaded = true")
    nurse_page.goto(f"{live_server.url}/sessions/{dosing.pk}/")
    fill_vitals(nurse_page, "151", "93", "90", "97", "14")
    nurse_page.get_by_role("button", name="Add the reading").click()
    expect(nurse_page.locator("table.flowsheet")).to_contain_text("151")
    expect(doc_page.locator("table.flowsheet")).to_contain_text("151", timeout=8_000)
    expect(doc_page.locator("#session-live-notice")).to_contain_text("another clinician changed this record")
    assert doc_page.evaluate("window.notReloaded") is True

    # While the physician is typing, a change does not wipe the entry: the page says it changed.
    doc_page.get_by_label("Systolic (mmHg)").fill("140")
    services.vitals_record(
        actor=Actor(user=nurse_user),
        session=dosing,
        vitals=Vitals(systolic=149, diastolic=90, heart_rate=88, spo2=97, resp_rate=14),
    )
    expect(doc_page.locator("#session-live-notice")).to_contain_text(
        "Another clinician has changed this record", timeout=8_000
    )
    expect(doc_page.get_by_label("Systolic (mmHg)")).to_have_value("140")
    assert recovery.pk
