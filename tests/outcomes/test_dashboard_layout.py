"""The outcome dashboard reads as a page: "not enough data yet" rather than figures of nobody,
and a contents bar over sections that fold."""

import pytest

pytestmark = pytest.mark.django_db


def test_with_no_treated_patient_the_dashboard_says_not_enough_data(client_as, physician):
    html = client_as(physician).get("/outcomes/").content.decode()
    assert 'id="not-enough"' in html and "Not enough data yet." in html
    assert "respond" not in html.split('id="not-enough"')[1].split("</p>")[0].replace("response,", "")
    assert 'id="rates"' not in html and "no patients" not in html
    filtered = client_as(physician).get("/outcomes/?route=esketamine").content.decode()
    assert "No patient matching these filters has had a first treatment recorded" in filtered


def test_with_data_the_dashboard_has_contents_and_folded_sections(treated, client_as, physician):
    treated([(-3, 20), (1, 8)])
    html = client_as(physician).get("/outcomes/?instrument=phq9").content.decode()
    assert 'id="not-enough"' not in html
    contents = html.split('<nav class="contents" aria-label="Contents">')[1].split("</nav>")[0]
    for anchor in ("#rates-h", "#breakdown-h", "#durability-h", "#speed-h", "#prompts-h", "#excluded-h"):
        assert f'href="{anchor}"' in contents
        assert f'id="{anchor[1:]}"' in html  # every link has its heading
    assert html.count('<details class="fold">') == 3  # breakdown, speed, left out: folded at first
    rates = html.split('id="rates"')[1].split("</table>")[0]
    assert "not enough data yet" in rates  # the one-week and course points: no patient there yet
