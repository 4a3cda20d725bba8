"""The clinic's public pages: open to visitors at /, their text the clinic admin's Markdown (never
HTML), the evidence page's published figures each with its definition, and the clinic's own
figures only when it chooses to publish them, intention to treat with their intervals."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from ketacare.audit.models import AuditEvent
from ketacare.portal.content import PAGES
from ketacare.portal.models import PublicPage
from tests.outcome_helpers import treated  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_the_clinics_front_page_and_staff_their_home(client_as, nurse):
    page = Client().get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ketamine treatment for depression" in text and "Staff sign in" in text
    assert all(f'href="/about/{p.slug}/"' in text for p in PAGES)
    assert "988" in text  # the crisis line on every public page
    assert "Today" in client_as(nurse).get("/").content.decode()


@pytest.mark.parametrize("slug", [p.slug for p in PAGES])
def test_every_page_shows_its_default_text_to_a_visitor(slug):
    response = Client().get(f"/about/{slug}/")
    assert response.status_code == 200
    assert next(p for p in PAGES if p.slug == slug).title in response.content.decode()


def test_an_unknown_page_is_404():
    assert Client().get("/about/nothing-here/").status_code == 404


def test_the_clinic_admins_markdown_is_shown_and_html_in_it_never_runs(client_as, clinic_admin):
    admin = client_as(clinic_admin)
    body = (
        "We treat **depression**.\n\n<script>alert('x')</script>\n\n"
        "[call us](tel:5550100) [bad](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    saved = admin.post("/site/conditions/", {"title": "What we treat", "body": body})
    assert saved.status_code == 302
    shown = Client().get("/about/conditions/").content.decode()
    assert "<strong>depression</strong>" in shown and 'href="tel:5550100"' in shown
    assert "<script>alert" not in shown and "&lt;script&gt;" in shown
    assert 'href="javascript' not in shown and "[bad](javascript:alert(1))" in shown  # left as text
    assert "<img" not in shown.split("<article", 1)[1]
    event = AuditEvent.objects.get(object_type="portal.publicpage")
    assert event.detail["page"] == "conditions" and "script" not in str(event.detail)
    # An empty text brings the default back.
    admin.post("/site/conditions/", {"title": "What we treat", "body": ""})
    assert not PublicPage.objects.exists()
    assert "treatment-resistant depression" in Client().get("/about/conditions/").content.decode()


def test_a_page_too_long_or_untitled_is_refused_naming_the_field(client_as, clinic_admin):
    admin = client_as(clinic_admin)
    refused = admin.post("/site/costs/", {"title": "", "body": "x" * 20_001})
    assert refused.status_code == 422 and {"title", "body"} <= set(refused.context["form"].errors)
    assert not PublicPage.objects.exists()


def test_only_the_clinic_admin_edits_the_public_pages(client_as, physician, nurse, front_desk):
    for user in (physician, nurse, front_desk):
        assert client_as(user).post("/site/costs/", {"title": "x", "body": "y"}).status_code == 403
    assert Client().get("/site/").status_code == 302  # a visitor is asked to sign in
    assert not PublicPage.objects.exists()


def test_the_evidence_page_lists_each_published_figure_with_its_definition():
    text = Client().get("/about/evidence/").content.decode()
    assert "Murrough 2013, Am J Psychiatry" in text and "MADRS &gt;= 50% reduction" in text
    # The advertising claim comes last, named as a claim, never as a study or this clinic's.
    assert "undefined: a claim, not a measured figure" in text
    assert text.index("Claim seen in clinics&#x27; advertising (not a study)") > text.index("STAR*D")
    assert "This clinic's own results" not in text


def test_the_clinics_own_figures_appear_only_when_published_and_count_everyone_treated(
    client_as,
    clinic_admin,
    treated,  # noqa: F811
):
    treated([(-1, 20), (1, 8)])  # responded after the first treatment
    treated([(-1, 20)], days=(0,))  # stopped after one: counts as not responding
    cache.clear()
    assert "own results" not in Client().get("/about/evidence/").content.decode()
    client_as(clinic_admin).post(
        "/site/",
        {
            "clinic_name": "Maple Ketamine Clinic",
            "phone": "",
            "email": "",
            "address": "",
            "show_own_figures": "on",
        },
    )
    text = Client().get("/about/evidence/").content.decode()
    assert "Maple Ketamine Clinic" in text and "This clinic's own results" in text
    assert "50% (1 of 2)" in text  # intention to treat: the patient who stopped counts
    assert "% to " in text  # with its 95% interval
