"""A nurse rates the CADSS at the chair: 23 labelled rows of five answers, nothing left over from
placeholders, and a wrong answer comes back beside its row with the rest still ticked."""

import re

import pytest
from django.urls import reverse

from ketacare.clinical import instruments
from ketacare.clinical.instruments.cadss import CADSS
from ketacare.measures.models import QuestionnaireResponse
from ketacare.sessions.models import SessionScale
from tests.treatment_helpers import check_in, start_plan

pytestmark = pytest.mark.django_db

DEGREES = ("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")
VISUALLY_HIDDEN = re.compile(r'<span class="visually-hidden">[^<]*</span>')


@pytest.fixture
def session(doctor, nurse_actor, patient, eligible, chair):
    return check_in(nurse_actor, start_plan(doctor, patient, chair), minutes_ago=60)


@pytest.fixture
def url(session):
    return reverse("sessions:scale", args=[session.pk]) + "?purpose=dissociation"


def rows(html):
    """The HTML of each item's row, keyed by item number."""
    parts = re.split(r'(?=<div class="cadss-row)', html)[1:]
    found = {}
    for part in parts:
        number = int(re.search(r'id="id_item_(\d+)_group"', part).group(1))
        found[number] = part.split("</div>\n  </div>")[0]
    return found


def answers(values):
    return {f"item_{n}": str(v) for n, v in enumerate(values, start=1) if v is not None}


def checked(html, number):
    """The value ticked on an item's row (None when none is)."""
    match = re.search(rf'value="(\d)" id="id_item_{number}_\d" checked', html)
    return int(match.group(1)) if match else None


def test_cadss_page_shows_23_labelled_rows_of_five_radios(client_as, nurse, url):
    response = client_as(nurse).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    by_item = rows(html)
    assert sorted(by_item) == list(range(1, 24))
    for n, item in enumerate(CADSS.items, start=1):
        assert f'<span id="id_item_{n}_label">{n}. {item.label}</span>' in by_item[n]
        assert by_item[n].count(f'type="radio" name="item_{n}"') == 5
    assert html.count('type="radio"') == 23 * 5


def test_answer_names_are_a_header_once_and_each_radio_keeps_its_own_name(client_as, nurse, url):
    html = client_as(nurse).get(url).content.decode()
    assert html.count('class="cadss-head"') == 1
    shown = VISUALLY_HIDDEN.sub("", html)
    for degree in DEGREES:
        assert shown.count(f"</b> {degree}</span>") == 1
        assert shown.count(degree) == 1
    assert '<span class="visually-hidden">Item 3: Moderately</span>' in html
    assert '<span class="visually-hidden">Item 23: Extremely</span>' in html


def test_no_placeholder_text_is_left_on_the_page(client_as, nurse, url):
    html = client_as(nurse).get(url).content.decode()
    assert "placeholder" not in html.lower()
    assert "CADSS item" not in html
    assert "numbered items only" not in html
    assert "Unknown" not in html
    assert "None" not in html
    assert "{{" not in html and "{%" not in html
    assert not re.search(r'<small class="error"[^>]*>\s*</small>', html)


def test_a_complete_cadss_is_recorded_and_the_nurse_is_sent_back_to_the_session(
    client_as, nurse, session, url
):
    values = [1, 2, 0, 0, 1] + [0] * 14 + [1, 0, 0, 0]
    response = client_as(nurse).post(url, answers(values))
    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:session", args=[session.pk]) + "#scales"
    link = SessionScale.objects.select_related("response").get(session=session)
    assert link.purpose == "dissociation"
    assert link.response.instrument == "cadss"
    assert link.response.answers == values
    assert link.response.total == 5 and link.response.complete


def test_a_wrong_answer_comes_back_422_beside_its_row_with_the_others_kept(client_as, nurse, session, url):
    values = [(n % 5) for n in range(23)]
    data = answers(values)
    data["item_7"] = "9"  # not one of 0-4 (a tampered or mistyped post)
    response = client_as(nurse).post(url, data)
    assert response.status_code == 422
    html = response.content.decode()
    by_item = rows(html)
    assert 'class="cadss-row has-error"' in by_item[7]
    assert (
        '<small class="error" id="id_item_7_error" role="alert">'
        "Select a valid choice. 9 is not one of the available choices.</small>"
    ) in by_item[7]
    assert 'aria-describedby="id_item_7_error"' in by_item[7]
    assert html.count('class="error"') == 1
    assert checked(html, 7) is None
    for n in range(1, 24):
        if n != 7:
            assert checked(html, n) == values[n - 1], n
    assert not SessionScale.objects.filter(session=session).exists()
    assert not QuestionnaireResponse.objects.exists()


def test_a_blank_item_is_recorded_but_left_unscored_as_the_staff_form_allows(client_as, nurse, session, url):
    # Staff entry lets an item stay blank (AnswersForm), and the CADSS has no missing-item rule:
    # the rating is kept, unscored, and the nurse is told so.
    values = [1] * 23
    values[9] = None
    response = client_as(nurse).post(url, answers(values), follow=True)
    assert response.status_code == 200
    link = SessionScale.objects.select_related("response").get(session=session)
    assert link.response.total is None and not link.response.complete
    assert link.response.answers[9] is None
    assert "not scored (too many blanks)" in response.content.decode()


def test_other_scales_keep_the_one_fieldset_per_item_form(client_as, nurse, session):
    url = reverse("sessions:scale", args=[session.pk]) + "?purpose=pre&instrument=phq9"
    html = client_as(nurse).get(url).content.decode()
    assert html.count('<fieldset class="item"') == len(instruments.get("phq9").items)
    assert "cadss-row" not in html
