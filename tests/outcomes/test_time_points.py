"""Honest time points on the pages (clinical reference section 2): a same-day score is never a
response, intention to treat stands beside every completers' figure and drives the claim, and a
figure read sooner than its scale's recall period says so."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

from django.core.management import call_command

from ketacare.outcomes import selectors, services
from ketacare.outcomes.models import PatientOutcome


def test_20_then_8_at_90_minutes_then_19_next_morning_is_no_responder(treated, client_as, physician):
    # The patient: a PHQ-9 of 20 before, 8 an hour and a half after the first infusion
    # (before discharge) and 19 the next morning.
    patient = treated([(-3, 20), (1.5 / 24, 8), (1, 19)])
    o = PatientOutcome.objects.get(patient=patient, instrument="phq9")
    assert (o.same_day_total, o.first_total, o.first_response, o.days_to_response) == (8, 19, False, None)
    chart = client_as(physician).get(f"/patients/{patient.pk}/").content.decode()
    panel = chart.split('id="outcomes"')[1]
    assert "First response after" not in panel and "after 1 hours" not in panel
    assert "none yet" in panel
    dashboard = client_as(physician).get("/outcomes/?instrument=phq9").content.decode()
    rates = dashboard.split('id="rates"')[1].split("</table>")[0]
    assert '0.0%</strong> <span class="muted">(0 of 1;' in rates
    same_day = dashboard.split('id="same-day"')[1].split("</article>")[0]
    assert "(1 of 1;" in same_day and "not a response" in same_day


def test_intention_to_treat_counts_the_stopped_and_the_unscored_as_not_responding(treated):
    treated([(-3, 20), (1, 8), (12, 6)])  # responds after the first treatment and the course
    treated([(-3, 20), (1, 9)], days=(0, 2))  # responds once, then stops after two infusions
    treated([(-3, 20)])  # never scored after treatment
    figures = selectors.dashboard(selectors.Filters()).as_json()
    first, course = figures["first_treatment"], figures["course"]
    assert (first["n"], first["responders"], first["itt"]["n"], first["itt"]["responders"]) == (2, 2, 3, 2)
    course_counts = (course["n"], course["responders"], course["itt"]["n"], course["itt"]["responders"])
    assert course_counts == (1, 1, 3, 1)
    # Wilson 95% for 2 of 3 (z = 1.96): centre (2/3 + 0.6403) / 2.2805 = 0.5731, half width
    # 1.96 * sqrt(2/9/3 + 0.1067) / 2.2805 = 0.3654: 0.2077-0.9385.
    assert first["itt"]["response_ci95"] == [0.2077, 0.9385]


def test_a_time_point_not_reached_yet_is_not_in_the_itt_denominator(treated):
    from datetime import timedelta

    from django.utils import timezone

    from tests import outcome_helpers

    # A patient whose first infusion was two days ago, with no second dose and no score since:
    # the first-treatment window (7 days) is still open, so they count nowhere yet.
    days_ago = (timezone.now() - outcome_helpers.T0 - timedelta(days=2)).total_seconds() / 86_400
    treated([(days_ago - 3, 20)], days=(days_ago,))
    itt = selectors.dashboard(selectors.Filters()).as_json()["first_treatment"]["itt"]
    assert itt["n"] == 0


def test_the_claim_sentence_uses_the_intention_to_treat_interval(treated, client_as, physician):
    # 3 scored patients respond; 9 more were never scored after treatment: 3 of 12 intention to
    # treat. Wilson by hand: centre (0.25 + 0.1601) / 1.3201 = 0.3106, half width
    # 1.96 * sqrt(0.25 * 0.75 / 12 + 3.8416 / 576) / 1.3201 = 0.2217: upper end 53.2%.
    for _ in range(3):
        treated([(-3, 20), (1, 8)])
    for _ in range(9):
        treated([(-3, 20)])
    html = client_as(physician).get("/outcomes/?instrument=phq9").content.decode()
    claim = html.split('id="claim"')[1].split("</article>")[0]
    assert "(3 of 12;" in claim and "intention to treat" in claim
    itt = selectors.dashboard(selectors.Filters()).points["first"].itt
    assert itt is not None and itt.response.ci95 is not None
    assert round(itt.response.ci95[1], 4) == 0.5323
    assert "The interval overlaps the advertised range" in claim


def test_the_claim_is_below_the_range_when_the_itt_interval_is(treated, client_as, physician):
    # 2 of 2 scored respond (completers: 34.2-100%, which overlaps 50-70%); with 14 never scored
    # after treatment, intention to treat is 2 of 16 (Wilson upper end 36.0%): below the range.
    for _ in range(2):
        treated([(-3, 20), (1, 8)])
    for _ in range(14):
        treated([(-3, 20)])
    html = client_as(physician).get("/outcomes/?instrument=phq9").content.decode()
    claim = html.split('id="claim"')[1].split("</article>")[0]
    assert "Below the advertised range" in claim


def test_a_figure_read_sooner_than_the_recall_period_says_so(treated, client_as, physician):
    treated([(-3, 20), (1, 8)])  # read a day after the first infusion: a PHQ-9 asks about 2 weeks
    data = selectors.dashboard(selectors.Filters()).as_json()
    caveat = data["recall_caveats"]["first_treatment"]
    assert caveat == (
        "The PHQ-9 asks about the last 2 weeks; these scores were taken 1 day after the first "
        "treatment on average, so most of that period was before it."
    )
    assert "course" not in data["recall_caveats"]  # no course figure, no caveat
    html = client_as(physician).get("/outcomes/?instrument=phq9").content.decode()
    assert "asks about the last 2 weeks; these scores were taken 1 day after" in html


def test_csv_and_json_carry_both_analyses(treated, client_as, physician):
    treated([(-3, 20), (1, 8)])
    treated([(-3, 20)])
    rows = list(csv.DictReader(io.StringIO(client_as(physician).get("/outcomes/rates.csv").content.decode())))
    first = {r["analysis"]: r for r in rows if r["time_point"] == "first" and r["measure"] == "response"}
    assert (first["completers"]["n"], first["intention_to_treat"]["n"]) == ("1", "2")
    assert {r["analysis"] for r in rows if r["time_point"] == "same_day"} == {"completers"}
    out = StringIO()
    call_command("outcomes", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["first_treatment"]["itt"]["n"] == 2
    assert set(data["same_day"]) == {
        "n",
        "responders",
        "response_rate",
        "response_ci95",
        "remitters",
        "remission_rate",
        "remission_ci95",
    }
    assert services.catch_up().patients == 0  # nothing left to do


def test_the_pdf_report_carries_both_analyses_and_the_claim(treated, client_as, physician):
    import pypdf

    treated([(-3, 20), (1, 8)])
    treated([(-3, 20)])
    response = client_as(physician).get("/outcomes/report.pdf?instrument=phq9")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Response, intention to treat" in text
    assert "(1 of 1;" in text and "(1 of 2;" in text  # scored, then intention to treat
    assert "Same-day change (not a response)" in text
    assert "respond after the first treatment, intention to treat" in text
    assert client_as(physician).get("/outcomes/report.pdf?start=yesterday").status_code == 400


def test_a_patient_never_scored_on_the_scale_counts_as_not_responding_in_intention_to_treat(treated):
    treated([(-3, 20), (1, 8)])
    never = treated([])  # treated, never scored on the PHQ-9
    figures = selectors.dashboard(selectors.Filters())
    assert (figures.patients, figures.never_scored, figures.sessions) == (2, 1, 12)
    first = figures.points["first"]
    assert (first.response.n, first.response.events) == (1, 1)  # the patients scored there
    assert first.itt is not None
    assert (first.itt.response.n, first.itt.response.events) == (2, 1)  # every patient treated
    assert figures.excluded["first"]["not_measured"] == 1
    listed = selectors.left_out(selectors.Filters())
    assert (listed[0]["patient"].pk, listed[0]["reason"]) == (never.pk, "Never scored on this scale")
    assert [r["reason"] for r in listed[1:]] == ["No score after the last induction treatment"]


def test_a_patient_recomputed_alone_matches_the_whole_clinic_rebuild(treated):
    from django.forms.models import model_to_dict

    a = treated([(-3, 20), (1, 8), (12, 6), (30, 15)])
    treated([(-3, 18), (1, 12)], days=(0, 2, 4))
    alone = [model_to_dict(o, exclude=["id"]) for o in PatientOutcome.objects.filter(patient=a)]
    services.rebuild()
    rebuilt = [model_to_dict(o, exclude=["id"]) for o in PatientOutcome.objects.filter(patient=a)]
    assert alone == rebuilt
    assert [o["instrument"] for o in rebuilt] == ["phq9"]  # no row for scales never scored
