import datetime
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketacare.clinical.monitoring import Vitals
from ketacare.sessions import services
from ketacare.sessions.models import DoseOrder, RemsRecord, VitalSign
from tests.treatment_helpers import (
    NORMAL,
    ago,
    check_in,
    make_chair,
    make_eligible,
    ready_to_start,
    run_to_discharge,
    start_plan,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def session(doctor, nurse_actor, patient, eligible, chair):
    return check_in(nurse_actor, start_plan(doctor, patient, chair), minutes_ago=110)


def action(session, name):
    return reverse("sessions:action", args=[session.pk, name])


def test_htmx_action_returns_the_session_fragment(client_as, nurse, session):
    response = client_as(nurse).post(
        action(session, "vitals"),
        {"systolic": "128", "diastolic": "82", "heart_rate": "76", "spo2": "98", "resp_rate": "14"},
        **HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="session"') and "<html" not in html
    assert "128" in html and VitalSign.objects.filter(session=session).count() == 2


def test_bad_vitals_come_back_422_beside_the_field_keeping_the_input(client_as, nurse, session):
    response = client_as(nurse).post(
        action(session, "vitals"),
        {"systolic": "80", "diastolic": "120", "heart_rate": "76", "spo2": "", "resp_rate": ""},
        **HX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Diastolic must be below systolic." in html and 'value="120"' in html
    assert VitalSign.objects.filter(session=session).count() == 1


def test_front_desk_cannot_order_a_dose_or_open_the_session(client_as, front_desk, session):
    client = client_as(front_desk)
    assert client.post(action(session, "order"), {"dose_mg_per_kg": "0.5"}).status_code == 403
    assert client.get(reverse("sessions:session", args=[session.pk])).status_code == 403
    assert not DoseOrder.objects.exists()


def test_nurse_cannot_order_but_physician_can(client_as, nurse, physician, session):
    assert client_as(nurse).post(action(session, "order"), {"dose_mg_per_kg": "0.5"}).status_code == 403
    response = client_as(physician).post(
        action(session, "order"), {"dose_mg_per_kg": "0.5", "lot_number": "L1"}, **HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "40 mg" in html and "draw <strong>4 mL</strong>" in html and "<strong>156 mL/h</strong>" in html


def test_a_refused_start_shows_the_gate_loudly(
    client_as, nurse, doctor, nurse_actor, patient, register, chair
):
    other = register(given_name="Gail")
    make_eligible(doctor, other)
    s = check_in(
        nurse_actor, start_plan(doctor, other, make_chair("Chair 5")), vitals=Vitals(168, 96, 80, 98, 14)
    )
    ready_to_start(doctor, nurse_actor, s)
    response = client_as(nurse).post(action(s, "start"), {}, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Blood pressure 168/96 mmHg is over the gate 140/90 mmHg" in html
    assert "Refused actions kept on record (1)" in html


def test_session_page_query_count_is_flat_with_a_full_flowsheet(
    client_as, nurse, doctor, nurse_actor, session
):
    client = client_as(nurse)
    url = reverse("sessions:session", args=[session.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    # Before the dose the page also reads the suicide-risk gate: one query. An open session's
    # page also looks for a withdrawal of the patient's consent: one query.
    assert len(before.captured_queries) <= 21
    ready_to_start(doctor, nurse_actor, session)
    start = ago(55)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    with CaptureQueriesContext(connection) as empty:
        client.get(url)
    for minute in range(0, 50, 2):
        services.vitals_record(
            actor=nurse_actor,
            session=session,
            vitals=NORMAL,
            taken_at=start + datetime.timedelta(minutes=minute),
        )
        services.sedation_record(
            actor=nurse_actor, session=session, moaas=5, at=start + datetime.timedelta(minutes=minute)
        )
    services.adverse_event_record(
        actor=nurse_actor, session=session, kind="nausea", severity="mild", action_taken="observed"
    )
    with CaptureQueriesContext(connection) as full:
        html = client.get(url).content.decode()
    assert html.count("MOAA/S <strong") == 25
    assert len(full.captured_queries) == len(empty.captured_queries) <= 20


def test_rems_list_is_oldest_first_and_the_form_has_the_rems_fields(
    client_as, nurse, doctor, nurse_actor, register
):
    sessions = []
    for n in range(2):
        p = register(given_name=("Alba", "Brynn")[n])
        make_eligible(doctor, p)
        sessions.append(
            check_in(
                nurse_actor,
                start_plan(doctor, p, make_chair(f"Chair E{n}"), protocol="esketamine_nasal"),
                minutes_ago=140,
            )
        )
    RemsRecord.objects.filter(session=sessions[1]).update(due_on=datetime.date(2026, 1, 2))
    html = client_as(nurse).get(reverse("sessions:rems-pending")).content.decode()
    assert html.index("Smith, Brynn") < html.index("Smith, Alba") and "overdue" in html
    run_to_discharge(doctor, nurse_actor, sessions[0], minutes=125)
    page = client_as(nurse).get(reverse("sessions:rems-form", args=[sessions[0].pk])).content.decode()
    for text in (
        "First treatment</dt><dd>Yes",
        "56 mg (2 of 2 devices given",
        "BP about 40 minutes after</dt><dd>130/84 at 40 min",
        "Respiratory depression</dt><dd>No",
        "Serious adverse events</dt><dd>None",
        "sedation, dissociation and respiratory depression",
    ):
        assert text in page
    url = reverse("sessions:rems-form", args=[sessions[0].pk])
    refused = client_as(nurse).post(url, {"confirmation": "C-9", "setting": "Clinic"})
    assert refused.status_code == 422 and "Clinician who monitored" in refused.content.decode()
    response = client_as(nurse).post(
        url,
        {
            "confirmation": "C-9",
            "setting": "Clinic",
            "monitored_by": nurse_actor.user.pk,
            "prescriber_on_site": doctor.user.pk,
        },
    )
    assert response.status_code == 302
    assert RemsRecord.objects.get(session=sessions[0]).submitted_at is not None


def test_chart_lists_sessions_and_marks_them_on_the_plot(client_as, physician, doctor, nurse_actor, session):
    run_to_discharge(doctor, nurse_actor, session, minutes=100)
    html = client_as(physician).get(reverse("patients:chart", args=[session.patient_id])).content.decode()
    assert "40 mg (0.5 mg/kg)" in html and "PHQ-9 16" in html and "PHQ-9 8" in html and "discharged" in html


def test_plot_draws_a_marker_per_session():
    from ketacare.clinical import outcomes
    from ketacare.measures.plots import trajectory_svg
    from ketacare.measures.selectors import Trajectory

    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    points = [outcomes.Point(t0 + datetime.timedelta(days=d), 20 - d) for d in range(5)]

    def svg(times):
        return trajectory_svg(
            [
                Trajectory(
                    "phq9",
                    "PHQ-9",
                    points,
                    ((0, 27, "all"),),
                    27,
                    4,
                    outcomes.course(points, first_treatment_at=None, remission_max=4),
                    None,
                    tuple(times),
                )
            ]
        )

    assert svg([t0, t0 + datetime.timedelta(days=2)]).count("<use") == svg([]).count("<use") + 2


def test_overdue_vitals_are_shown_loudly(client_as, nurse, doctor, nurse_actor, session):
    ready_to_start(doctor, nurse_actor, session)
    services.dose_start(actor=nurse_actor, session=session, at=ago(30))
    url = reverse("sessions:session", args=[session.pk])
    assert "Vital signs are overdue" in client_as(nurse).get(url).content.decode()
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    assert "Vital signs are overdue" not in client_as(nurse).get(url).content.decode()


class _FlowsheetShape(HTMLParser):
    """The number of columns in the flowsheet's header and of cells in each of its body rows."""

    def __init__(self) -> None:
        super().__init__()
        self.columns, self.rows = 0, []
        self._table, self._part = False, ""

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "flowsheet" in (dict(attrs).get("class") or "").split():
            self._table = True
        elif self._table and tag in ("thead", "tbody"):
            self._part = tag
        elif self._table and tag == "th" and self._part == "thead":
            self.columns += 1
        elif self._table and tag == "tr" and self._part == "tbody":
            self.rows.append(0)
        elif self._table and tag == "td" and self._part == "tbody":
            self.rows[-1] += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = False


def test_every_flowsheet_row_has_a_cell_under_each_column(client_as, nurse, doctor, nurse_actor, session):
    ready_to_start(doctor, nurse_actor, session)
    start = ago(50)
    services.dose_start(actor=nurse_actor, session=session, at=start)

    def record(minutes, vitals):
        at = start + datetime.timedelta(minutes=minutes)
        return services.vitals_record(actor=nurse_actor, session=session, vitals=vitals, taken_at=at)

    # An alarm row with highlighted cells, a struck-out row, a reading without a blood pressure.
    record(10, Vitals(118, 74, 64, 90, 8))
    typo = record(20, Vitals(213, 84, 80))
    services.vitals_strike(
        actor=nurse_actor, session=session, vital_ids=[typo.pk], reason="typed 213 for 123"
    )
    record(30, Vitals(spo2=97))

    html = client_as(nurse).get(reverse("sessions:session", args=[session.pk])).content.decode()

    shape = _FlowsheetShape()
    shape.feed(html)
    assert shape.columns == 7
    assert shape.rows == [7, 7, 7, 7]
    assert '<tr class="alarm-row">' in html and '<tr class="struck">' in html
