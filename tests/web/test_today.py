"""The Today board: each chair's patient at their step with what is due, the day's arrivals, the
alarms that need a clinician; its queries bounded; its polling neither floods the audit trail
nor keeps an unattended screen signed in; the session page's live refresh."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ketacare.audit.models import AuditEvent
from ketacare.clinical.monitoring import Vitals
from ketacare.sessions import selectors as session_selectors
from ketacare.sessions import services as sessions
from ketacare.web import today
from tests.treatment_helpers import (
    ALL_MET,
    NORMAL,
    ago,
    check_in,
    infusing,
    make_chair,
    make_eligible,
    phq9,
    rate_on_schedule,
    ready_to_start,
    recovering_with_low_spo2,
    run_to_discharge,
    start_plan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def morning(doctor, nurse_actor, register):
    """Five patients booked today at 00:00 in five chairs: one checked in, one with the infusion
    running 15 minutes, one in recovery whose last SpO2 was 88%, one discharged and unsigned,
    and one not arrived."""
    people = {}
    for n, name in enumerate(("Checked", "Dosing", "Alarm", "Discharged", "Absent"), start=1):
        p = register(given_name=name, family_name=f"Board{name}", email=f"{name.lower()}@example.com")
        make_eligible(doctor, p)
        people[name] = start_plan(doctor, p, make_chair(f"Chair {n}"))
    made = {"Checked": check_in(nurse_actor, people["Checked"], minutes_ago=5)}
    made["Dosing"] = infusing(doctor, nurse_actor, people["Dosing"], checked_in_min_ago=35)
    made["Alarm"] = recovering_with_low_spo2(doctor, nurse_actor, people["Alarm"])
    discharged = check_in(nurse_actor, people["Discharged"], minutes_ago=150)
    made["Discharged"] = run_to_discharge(doctor, nurse_actor, discharged)
    return made


def _rows(b):
    return {row.chair.name: row for row in b.chairs}


def test_the_board_shows_each_chair_at_its_step_with_what_is_due_next(morning, physician):
    b = today.board(user=physician)
    rows = _rows(b)
    assert rows["Chair 1"].session.step == "checked in"
    assert rows["Chair 1"].session.next_action == "A physician orders the dose"
    assert rows["Chair 2"].session.step == "dosing"
    assert rows["Chair 2"].session.next_action.startswith("Vitals due ")
    assert rows["Chair 2"].session.warnings == []
    assert 34 <= rows["Chair 2"].session.in_chair_min <= 36
    # The patient discharged has left the chair: the record waits for its signatures.
    assert rows["Chair 4"].session is None
    assert [s.session.pk for s in b.to_sign] == [morning["Discharged"].pk]
    assert b.to_sign[0].next_action == "Sign the record (nurse and physician)"
    # Not arrived: still expected, late (booked at 00:00), in the chair's row as its next booking.
    assert [s.patient for s in b.expected] == ["BoardAbsent, Absent"]
    assert b.late == {b.expected[0].id}
    assert b.attended == 4


def test_an_unanswered_alarm_makes_the_chair_loud_until_it_is_answered(morning, physician, nurse_actor):
    row = _rows(today.board(user=physician))["Chair 3"].session
    assert row.step == "monitoring"
    assert any(w.startswith("Alarm: SpO2") for w in row.warnings)
    assert today.board(user=physician).alarms == 1
    sessions.alarm_acknowledge(
        actor=nurse_actor, session=morning["Alarm"], alarm="spo2_low", note="Repositioned; SpO2 96% on air"
    )
    after = today.board(user=physician)
    assert not any(w.startswith("Alarm") for w in _rows(after)["Chair 3"].session.warnings)
    assert after.alarms == 0


def test_vitals_overdue_show_on_the_board(morning, physician):
    # Vitals every 10 minutes from the dose 62 minutes ago: none recorded since it started.
    morning["Alarm"].vitals.update(taken_at=ago(75))
    row = _rows(today.board(user=physician))["Chair 3"].session
    assert any(w.startswith("Vitals overdue since ") for w in row.warnings)
    assert row.next_action.startswith("Vitals overdue since ")


def test_a_rating_due_shows_on_the_board_once_its_minute_has_come(morning, physician):
    # The infusion started 15 minutes ago; MOAA/S is due at 20.
    assert _rows(today.board(user=physician))["Chair 2"].session.warnings == []
    later = today.board(user=physician, now=ago(-6))
    assert "MOAA/S due (20 min)" in _rows(later)["Chair 2"].session.warnings


def test_a_blood_pressure_over_the_gate_shows_before_the_dose(doctor, nurse_actor, register, physician):
    p = register(given_name="High", family_name="Pressure")
    make_eligible(doctor, p)
    session = check_in(
        nurse_actor,
        start_plan(doctor, p, make_chair("Chair 7")),
        vitals=Vitals(systolic=182, diastolic=96, heart_rate=80, spo2=98, resp_rate=14),
    )
    row = _rows(today.board(user=physician))["Chair 7"].session
    assert row.session.pk == session.pk
    assert row.next_action.startswith("Blood pressure 182/96 mmHg: over the gate")
    assert any("over the gate" in w for w in row.warnings)


def test_a_patient_ready_to_leave_is_listed(doctor, nurse_actor, register, physician):
    p = register(given_name="Ready", family_name="Toleave")
    make_eligible(doctor, p)
    session = check_in(nurse_actor, start_plan(doctor, p, make_chair("Chair 8")), minutes_ago=140)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(130)
    sessions.dose_start(actor=nurse_actor, session=session, at=start)
    sessions.dose_stop(actor=nurse_actor, session=session, at=ago(89))
    for minutes in range(130, -1, -10):
        sessions.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL, taken_at=ago(minutes))
    rate_on_schedule(nurse_actor, session, start)
    phq9(session, nurse_actor, "post", [1] * 8 + [0])
    b = today.board(user=physician)
    assert [r.session.pk for r in b.ready] == [session.pk]
    assert _rows(b)["Chair 8"].session.next_action == "Discharge: every criterion is met"
    sessions.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert today.board(user=physician).ready == []


def test_the_board_costs_the_same_queries_for_one_patient_or_four(
    morning, physician, doctor, nurse_actor, register
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            today.board(user=physician)
        return len(queries)

    four = count()
    for n in range(3):
        p = register(given_name=f"Extra{n}", family_name="Queries", email=f"q{n}@example.com")
        make_eligible(doctor, p)
        s = check_in(nurse_actor, start_plan(doctor, p, make_chair(f"Chair {10 + n}")), minutes_ago=30)
        ready_to_start(doctor, nurse_actor, s)
        sessions.dose_start(actor=nurse_actor, session=s, at=ago(10))
    assert count() == four


def test_the_front_desk_sees_arrivals_and_taken_chairs_but_no_clinical_detail(morning, client_as, front_desk):
    page = client_as(front_desk).get("/").content.decode()
    assert "BoardAbsent, Absent" in page and "late" in page
    assert "BoardDosing, Dosing" in page  # the chair is taken
    assert "Dosing</span>" not in page and "Vitals due" not in page and "Alarm:" not in page
    assert "/sessions/" not in page  # no way into a session record


def test_the_home_page_is_the_board_for_nurses(morning, client_as, nurse):
    response = client_as(nurse).get("/")
    page = response.content.decode()
    assert "<title>Today · KetaCare</title>" in page
    assert f'href="/sessions/{morning["Alarm"].pk}/"' in page
    assert "Alarm: SpO2" in page
    assert "1 needs a clinician now" in page


def _token(page_html: str) -> str:
    """The `seen` token the board's poll carries, as the page wrote it."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    url = unescape(page_html.split('id="today-board"')[1].split('hx-get="')[1].split('"')[0])
    return parse_qs(urlsplit(url).query)["seen"][0]


def test_a_poll_showing_the_same_patients_is_not_audited_again(morning, client_as, nurse):
    client = client_as(nurse)
    token = _token(client.get("/").content.decode())
    before = AuditEvent.objects.count()
    response = client.get("/today/board/", {"seen": token}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "BoardAlarm" in response.content.decode()
    assert AuditEvent.objects.count() == before
    # A forged token does not hide a read: the patients shown are recorded, and with what detail.
    client.get("/today/board/", {"seen": token[:-2] + "xx"}, HTTP_HX_REQUEST="true")
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "view" and sorted(event.detail["patients"]) == today.board(user=nurse).patient_ids
    assert event.detail["board"] == "clinical"


def test_a_token_from_another_users_page_or_an_old_one_hides_nothing(
    morning, client, nurse, physician, monkeypatch
):
    from django.core import signing

    from tests.conftest import sign_in

    token = _token(sign_in(client, nurse).get("/").content.decode())
    client.logout()
    doctor = sign_in(client, physician)
    before = AuditEvent.objects.count()
    doctor.get("/today/board/", {"seen": token}, HTTP_HX_REQUEST="true")
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.order_by("-seq").first().actor_id == physician.pk
    # The page itself always records what it shows, whatever it is given.
    before = AuditEvent.objects.count()
    doctor.get("/", {"seen": token})
    assert AuditEvent.objects.filter(seq__gt=before, detail__board="clinical").count() == 1
    # The physician's own token, half an hour and more later, hides nothing either.
    own = _token(doctor.get("/").content.decode())
    later = signing.time.time() + today.SEEN_MAX_AGE_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    before = AuditEvent.objects.count()
    doctor.get("/today/board/", {"seen": own}, HTTP_HX_REQUEST="true")
    assert AuditEvent.objects.filter(seq__gt=before, detail__board="clinical").count() == 1


def test_a_new_patient_on_the_board_is_audited_on_the_next_poll(morning, client_as, nurse, doctor, register):
    client = client_as(nurse)
    token = _token(client.get("/").content.decode())
    p = register(given_name="Newcomer", family_name="Board", email="new@example.com")
    make_eligible(doctor, p)
    start_plan(doctor, p, make_chair("Chair 9"))
    before = AuditEvent.objects.count()
    client.get("/today/board/", {"seen": token}, HTTP_HX_REQUEST="true")
    assert AuditEvent.objects.count() == before + 1
    assert p.pk in AuditEvent.objects.order_by("-seq").first().detail["patients"]


def test_polling_does_not_keep_an_unattended_screen_signed_in(client_as, nurse, monkeypatch):
    from ketacare.accounts import middleware

    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client = client_as(nurse)
    client.get("/")
    first = Session.objects.get().expire_date
    for _ in range(10):  # ten minutes of the board polling on its own
        clock[0] += 61
        client.get("/today/board/", HTTP_HX_REQUEST="true", HTTP_X_KETACARE_POLL="1")
    assert Session.objects.get().expire_date == first
    clock[0] += 61
    client.get("/")  # a person at the screen
    assert Session.objects.get().expire_date > first


def test_a_poll_after_the_session_ended_sends_the_whole_window_to_sign_in(client):
    response = client.get("/today/board/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_the_session_page_refreshes_when_another_clinician_records(morning, client_as, nurse, nurse_actor):
    session = morning["Dosing"]
    client = client_as(nurse)
    page = session_selectors.session_page(session_id=session.pk)
    version = session_selectors.version_of(page)
    assert (
        f"/sessions/{session.pk}/live/?v={version}" in client.get(f"/sessions/{session.pk}/").content.decode()
    )
    url = f"/sessions/{session.pk}/live/"
    assert client.get(url, {"v": version}, HTTP_HX_REQUEST="true").status_code == 204
    sessions.vitals_record(
        actor=nurse_actor,
        session=session,
        vitals=Vitals(systolic=151, diastolic=93, heart_rate=90, spo2=97, resp_rate=14),
        taken_at=datetime.datetime.now(datetime.UTC),
    )
    response = client.get(url, {"v": version}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "151/93" in body
    assert "another clinician changed this record" in body
    assert body.startswith('<div id="session"')  # the fragment, swapped into the open page


def test_a_session_left_open_on_an_earlier_day_stays_on_the_board(morning, physician):
    # Checked in two days ago and never discharged: it must not drop out of view overnight.
    session = morning["Checked"]
    session.__class__.objects.filter(pk=session.pk).update(
        checked_in_at=session.checked_in_at - datetime.timedelta(days=2)
    )
    b = today.board(user=physician)
    row = _rows(b)["Chair 1"].session
    assert row.session.pk == session.pk and row.in_chair_min >= 2 * 24 * 60


def test_the_infusion_record_prints_the_whole_session(morning, doctor, nurse_actor, client_as, nurse):
    import io

    from pypdf import PdfReader

    from ketacare.sessions.models import TreatmentSession
    from tests.treatment_helpers import sign_both

    session = sign_both(doctor, nurse_actor, morning["Discharged"])
    response = client_as(nurse).get(f"/sessions/{session.pk}/record.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f"infusion-record-{session.patient.mrn}-session-1-" in response["Content-Disposition"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    for expected in (
        "Infusion record: session 1",
        session.patient.mrn,
        "Signed and locked",
        "Pre-dose checklist",
        "Escort home Tom Smith",
        "Verification",
        "Vital signs",
        "MOAA/S",
        "Dissociation (CADSS)",
        "every criterion met",
        "(matches the record)",
    ):
        assert expected in text, expected
    assert AuditEvent.objects.filter(
        object_type="treatment_sessions.treatmentsession", object_id=str(session.pk), detail__record="pdf"
    ).exists()
    # A record changed behind its signature says so on paper too.
    TreatmentSession.objects.filter(pk=session.pk).update(weight_kg=99)
    tampered = client_as(nurse).get(f"/sessions/{session.pk}/record.pdf")
    tampered_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(tampered.content)).pages)
    assert "does not match the record" in " ".join(tampered_text.split())
