"""The patient's side meets WCAG 2.1 AA as axe-core (in Chromium) checks it, on a phone (390 px)
and on a desktop: the clinic's public pages, the "talk to a doctor" form (blank, refused with its
errors, and the crisis answer), and the self-report pages a patient opens from a link."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from ketacare.audit.context import Actor
from ketacare.measures.services import self_report_link_create
from ketacare.portal.content import PAGES
from tests.browser.conftest import portal_sign_in

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
WIDTHS = {"phone": 390, "desktop": 1280}


def _violations(page: Any) -> list[str]:
    results = Axe().run(page, options=WCAG_21_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_public_pages_and_the_enquiry_form_have_no_wcag_violations(
    live_server, page, width, register, nurse
):
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    found: dict[str, list[str]] = {}
    paths = ["/", *(f"/about/{p.slug}/" for p in PAGES), "/talk-to-a-doctor/", "/my/sign-in/", "/my/code/"]
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        found[path] = _violations(page)
    # The form refused (every error shown beside its field), then the crisis answer.
    page.goto(f"{live_server.url}/talk-to-a-doctor/")
    page.get_by_role("button", name="Ask for a call back").click()
    found["the refused form"] = _violations(page)
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Delgado")
    page.get_by_label("Date of birth").fill("1984-06-02")
    page.get_by_label("Phone").fill("555 301 2020")
    page.get_by_label("Depression", exact=True).check()
    for fieldset in page.locator("fieldset.question").all()[:4]:
        fieldset.get_by_label("No", exact=True).check()
    page.get_by_text("Optional: how you have been feeling").click()
    for n in range(1, 10):
        page.locator(f"input[name=phq9_{n}][value='{2 if n == 9 else 1}']").check()
    page.get_by_role("button", name="Ask for a call back").click()
    assert "Please get help now" in page.content()
    found["the crisis answer"] = _violations(page)
    # A patient's self-report link, on the same screen.
    _, token = self_report_link_create(actor=Actor(user=nurse), patient=register(), instrument="phq9")
    page.goto(f"{live_server.url}/r/{token}/")
    found["a self-report form"] = _violations(page)
    assert {where: v for where, v in found.items() if v} == {}


@pytest.mark.django_db(transaction=True)
def test_the_signed_in_portal_and_the_consent_pages_have_no_wcag_violations_on_a_phone(
    live_server, page, register, doctor
):
    from tests.treatment_helpers import make_eligible

    patient = register()
    make_eligible(doctor, patient, routes=("iv_ketamine",))
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
    portal_sign_in(page, live_server.url, patient)
    found: dict[str, list[str]] = {"the patient's page, a consent to sign": _violations(page)}
    page.get_by_role("link", name="Consent to IV ketamine treatment").click()
    found["the consent to read and sign"] = _violations(page)
    page.get_by_role("button", name="Sign version 1").click()  # nothing typed: refused
    assert "Tick the box to say you have read and understood" in page.content()
    found["the signature refused"] = _violations(page)
    page.get_by_label("Type your full name to sign").fill(patient.full_name)
    page.get_by_label("I have read and understood this document").check()
    page.get_by_role("button", name="Sign version 1").click()
    page.get_by_text("Withdraw your consent", exact=True).click()  # the withdrawal, opened
    found["the consent signed, with the withdrawal"] = _violations(page)
    page.goto(f"{live_server.url}/my/")
    found["the patient's page, what they signed"] = _violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"]
    assert {where: v for where, v in found.items() if v} == {}


@pytest.mark.django_db(transaction=True)
def test_the_portals_requests_questionnaires_and_documents_have_no_wcag_violations_on_a_phone(
    live_server, page, register, doctor, nurse, chair
):
    import datetime

    from django.utils import timezone

    from ketacare.portal.services import document_share
    from tests.treatment_helpers import make_eligible, start_plan

    patient = register()
    make_eligible(doctor, patient)
    start_plan(doctor, patient, chair, start_on=timezone.localdate() + datetime.timedelta(days=2))
    self_report_link_create(actor=Actor(user=nurse), patient=patient, instrument="gad7")
    document_share(actor=doctor, patient=patient, kind="progress_report")
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
    portal_sign_in(page, live_server.url, patient)
    found: dict[str, list[str]] = {"the patient's page, with all its parts": _violations(page)}
    assert "Letters and reports" in page.content()
    page.get_by_role("link", name="GAD-7").click()
    found["a questionnaire due"] = _violations(page)
    page.get_by_role("button", name="Send my answers").click()  # nothing answered: refused
    found["the questionnaire refused"] = _violations(page)
    page.goto(f"{live_server.url}/my/")
    page.get_by_role("link", name="ask to move it").first.click()
    page.get_by_role("button", name="Send my request").click()  # nothing written: refused
    assert "Say which days or times would suit you instead" in page.content()
    found["the request to move, refused"] = _violations(page)
    page.get_by_label("When would suit you instead").fill("Any morning next week")
    page.get_by_role("button", name="Send my request").click()
    assert "they will contact you" in page.content()
    found["the patient's page, the request sent"] = _violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"]
    assert {where: v for where, v in found.items() if v} == {}
