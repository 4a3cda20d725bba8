"""A nurse rates the CADSS on a tablet at the chair: one row per item, nothing wider than the
screen, the answers reachable with the keyboard; the same page on a phone and at a desk."""

import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.sessions.models import SessionScale
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD
from tests.treatment_helpers import check_in, make_chair, make_eligible, start_plan

TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ONE_LINE_ROW_PX = 70
# Screenshots for a person to look at: /tmp/cadss-tablet.png, -phone.png and -desktop.png.
SHOTS = Path(tempfile.gettempdir())

# What is wider than the window: nothing in the CADSS form, nothing outside the site header.
LAYOUT = """() => {
    const edge = window.innerWidth + 0.5;
    const beyond = [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > edge)
        .map(e => e.tagName + '.' + e.className);
    return {
        mainScrollWidth: document.querySelector('main').scrollWidth,
        mainClientWidth: document.querySelector('main').clientWidth,
        beyond: beyond,
        outsideHeaderBeyond: [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('header') && e.getBoundingClientRect().right > edge).length,
        rows: [...document.querySelectorAll('.cadss-row')].map(row => {
            const box = row.getBoundingClientRect();
            const label = row.querySelector('.cadss-label').getBoundingClientRect();
            const scale = row.querySelector('.cadss-scale').getBoundingClientRect();
            return {id: row.id, height: box.height, right: box.right,
                    oneLine: scale.top < label.bottom - 1};
        }),
    };
}"""
SCROLL = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"


def sign_in(page, url, username):
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    enter_code(page, username)


def assert_fits(layout):
    assert layout["beyond"] == []
    assert layout["outsideHeaderBeyond"] == 0
    assert layout["mainScrollWidth"] <= layout["mainClientWidth"]


@pytest.fixture
def cadss_page(live_server, make_user, register):
    doctor = make_user(Role.PHYSICIAN, username="drcadss")
    nurse = make_user(Role.NURSE, username="nursecadss")
    patient = register(given_name="Ida", family_name="Novak")
    make_eligible(Actor(user=doctor), patient, routes=("iv_ketamine",))
    session = check_in(Actor(user=nurse), start_plan(Actor(user=doctor), patient, make_chair()))
    url = live_server.url + reverse("sessions:scale", args=[session.pk]) + "?purpose=dissociation"
    return url, nurse, session


@pytest.mark.django_db(transaction=True)
def test_nurse_rates_the_cadss_on_a_tablet_one_row_per_item(browser, cadss_page):
    url, nurse, session = cadss_page
    context = browser.new_context(viewport=TABLET, has_touch=True)
    page = context.new_page()
    sign_in(page, url, nurse.username)
    expect(page.get_by_role("heading", name="CADSS")).to_be_visible()

    # Nothing of the page's own is wider than the tablet (the header: see the test below); each
    # item is one row, its label then its five answers, under 70 px.
    layout = page.evaluate(LAYOUT)
    assert_fits(layout)
    assert len(layout["rows"]) == 23
    for row in layout["rows"]:
        assert row["oneLine"] and row["height"] < ONE_LINE_ROW_PX, row
    # The answer names once, as the column header; every radio still has its own name.
    expect(page.locator(".cadss-head")).to_have_count(1)
    for degree in ("Not at all", "Slightly", "Moderately", "Considerably", "Extremely"):
        expect(page.locator(".cadss-head")).to_contain_text(degree)
    shown_on_rows = page.locator(".cadss-row .cadss-choice [aria-hidden=true]").all_inner_texts()
    assert shown_on_rows == ["0", "1", "2", "3", "4"] * 23
    expect(page.get_by_role("radio")).to_have_count(115)
    expect(page.get_by_role("radiogroup", name="3. Cut off from events, as if in a film")).to_be_visible()

    # Keyboard: arrows choose within a row, Tab moves on to the next row.
    page.get_by_role("radio", name="Item 1: Not at all").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Item 1: Slightly")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="Item 2: Not at all")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="Item 2: Not at all")).to_be_checked()
    # A tap on a segment chooses it.
    page.locator("label[for=id_item_3_2]").tap()
    expect(page.get_by_role("radio", name="Item 3: Moderately")).to_be_checked()
    page.screenshot(path=SHOTS / "cadss-tablet.png", full_page=True)

    for n in range(4, 24):
        page.get_by_role("radio", name=f"Item {n}: Not at all").check()
    page.get_by_role("button", name="Record CADSS").click()
    expect(
        page.get_by_text("CADSS (Clinician-Administered Dissociative States Scale, 23 items): 3.").first
    ).to_be_visible()
    link = SessionScale.objects.select_related("response").get(session=session)
    assert link.response.answers == [1, 0, 2] + [0] * 20
    context.close()


@pytest.mark.django_db(transaction=True)
def test_cadss_page_fits_a_phone_and_a_desktop(browser, cadss_page):
    url, nurse, _ = cadss_page
    for viewport, name in ((PHONE, "cadss-phone.png"), (DESKTOP, "cadss-desktop.png")):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        sign_in(page, url, nurse.username)
        expect(page.get_by_role("heading", name="CADSS")).to_be_visible()
        layout = page.evaluate(LAYOUT)
        # On a phone the answers may wrap under the label, but nothing may spill past the edge.
        assert_fits(layout)
        assert all(row["right"] <= viewport["width"] for row in layout["rows"])
        if viewport is DESKTOP:
            assert page.evaluate(SCROLL)[0] <= viewport["width"]
            assert all(row["oneLine"] and row["height"] < ONE_LINE_ROW_PX for row in layout["rows"])
        page.get_by_role("radio", name="Item 2: Considerably").check()
        page.screenshot(path=SHOTS / name, full_page=True)
        context.close()


@pytest.mark.django_db(transaction=True)
def test_tablet_page_has_no_horizontal_scroll_with_the_site_header(browser, cadss_page):
    url, nurse, _ = cadss_page
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    sign_in(page, url, nurse.username)
    expect(page.get_by_role("heading", name="CADSS")).to_be_visible()
    scroll_width, inner_width = page.evaluate(SCROLL)
    context.close()
    assert scroll_width <= inner_width
