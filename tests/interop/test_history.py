"""`ketacare import-history`: three CSV files, all or nothing, every bad row named."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.mrn import format_mrn
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from ketacare.outcomes.models import PatientOutcome
from ketacare.patients.models import Patient
from ketacare.sessions.models import DoseOrder, TreatmentSession

NEW_1 = format_mrn(9_000_001)
NEW_2 = format_mrn(9_000_002)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def files(tmp_path: Path, patients: str, sessions: str, scores: str) -> list[str]:
    return [
        "--patients",
        str(write(tmp_path, "patients.csv", patients)),
        "--sessions",
        str(write(tmp_path, "sessions.csv", sessions)),
        "--scores",
        str(write(tmp_path, "scores.csv", scores)),
    ]


PATIENTS = f"""
mrn,given_name,family_name,birth_date,sex,notes
{NEW_1},Rosa,Diaz,1975-02-03,female,an extra column is fine
{NEW_2},Omar,Haddad,1988-11-30,male,
"""
SESSIONS = f"""
mrn,datetime,route,dose_mg
{NEW_1},2025-03-03T09:00:00,iv_ketamine,35
{NEW_1},2025-03-05T09:00:00,iv_ketamine,35
{NEW_2},2025-04-01T10:00:00+00:00,esketamine,56
"""
SCORES = f"""
mrn,datetime,instrument,total,item1,item2,item3,item4,item5,item6,item7,item8,item9,context
{NEW_1},2025-03-01T08:00:00,phq9,20,,,,,,,,,,baseline
{NEW_1},2025-03-03T13:00:00,phq9,,1,1,1,1,1,1,1,1,2,post_session
{NEW_2},2025-03-30T10:00:00,phq9,18,,,,,,,,,,
"""


def test_everything_is_imported_scored_matched_and_no_alert_is_raised(tmp_path, db, settings):
    settings.TIME_ZONE = "America/New_York"
    out = io.StringIO()
    call_command("import_history", *files(tmp_path, PATIENTS, SESSIONS, SCORES), stdout=out)
    assert "2 new patient(s) (0 matched by MRN), 3 session(s) and 3 score(s)" in out.getvalue()
    rosa = Patient.objects.get(mrn=NEW_1)
    assert (rosa.given_name, rosa.family_name, rosa.date_of_birth, rosa.sex) == (
        "Rosa",
        "Diaz",
        datetime.date(1975, 2, 3),
        "female",
    )
    sessions = list(TreatmentSession.objects.filter(patient=rosa).order_by("dose_started_at"))
    assert [s.number for s in sessions] == [1, 2]
    assert {s.source for s in sessions} == {"import"}
    # A datetime without an offset is in the clinic's time zone: 09:00 in New York is 14:00 UTC.
    assert sessions[0].dose_started_at == datetime.datetime(2025, 3, 3, 14, 0, tzinfo=datetime.UTC)
    assert DoseOrder.objects.get(session=sessions[0]).dose_mg == 35
    esk = TreatmentSession.objects.get(patient__mrn=NEW_2)
    assert (esk.route, esk.protocol) == ("esketamine", "esketamine_nasal")
    # Item answers are scored as at live entry; item 9 answered 2 is flagged but raises no alert.
    post = QuestionnaireResponse.objects.get(patient=rosa, context="post_session")
    assert (post.total, post.source) == (10, "import")
    assert "suicidal_ideation" in post.flags
    assert not SafetyAlert.objects.exists()
    total_only = QuestionnaireResponse.objects.get(patient=rosa, context="baseline")
    assert (total_only.total, total_only.band, total_only.answers) == (20, "severe", [])
    assert QuestionnaireResponse.objects.get(patient__mrn=NEW_2).context == "follow_up"
    # Audited, and in the outcome figures like live data: 10 is exactly half of 20, but rated after
    # the session, so the same-day change, never a response after the first treatment.
    (event,) = AuditEvent.objects.filter(actor_label__contains="import-history", patient_id=rosa.pk)
    assert (event.object_type, event.detail) == (
        "patients.patient",
        {"source": "import-history", "sessions": 2, "scores": 2},
    )
    outcome = PatientOutcome.objects.get(patient=rosa, instrument="phq9")
    assert (outcome.baseline_total, outcome.first_total, outcome.first_response) == (20, None, None)
    assert (outcome.same_day_total, outcome.same_day_response) == (10, True)
    # Later registrations are not given an imported MRN again.
    from ketacare.patients.services import mrn_allocate

    assert mrn_allocate()[0] == format_mrn(9_000_003)


def test_existing_mrns_are_matched_not_duplicated(tmp_path, patient):
    dob = patient.date_of_birth.isoformat()
    call_command(
        "import_history",
        *files(
            tmp_path,
            f"mrn,given_name,family_name,birth_date,sex\n{patient.mrn},Anna,SMITH,{dob},female",
            f"mrn,datetime,route,dose_mg\n{patient.mrn},2025-05-05T09:00,iv_ketamine,36",
            f"mrn,datetime,instrument,total\n{patient.mrn.lower()},2025-05-01T09:00,gad7,15",
        ),
        stdout=io.StringIO(),
    )
    assert Patient.objects.count() == 1
    assert TreatmentSession.objects.get().patient == patient
    assert QuestionnaireResponse.objects.get().patient == patient


def test_any_bad_row_rejects_everything_and_each_is_named(tmp_path, patient):
    future = (timezone.now() + datetime.timedelta(days=3)).isoformat()
    args = files(
        tmp_path,
        f"""
mrn,given_name,family_name,birth_date,sex
{NEW_1},Rosa,Diaz,1975-02-03,female
KC12345678,Bad,Mrn,1970-01-01,female
{patient.mrn},Anna,Jones,1980-04-23,female
{NEW_2},Omar,Haddad,03/02/1988,m
""",
        f"""
mrn,datetime,route,dose_mg
{NEW_1},2025-03-03T09:00:00,oral,35
{NEW_1},{future},iv_ketamine,35
{NEW_1},2025-03-04T09:00:00,esketamine,70
{NEW_1},2025-03-05T09:00:00,iv_ketamine,900
{format_mrn(9_000_777)},2025-03-05T09:00:00,iv_ketamine,30
""",
        f"""
mrn,datetime,instrument,total,context
{NEW_1},2025-03-01T08:00:00,phq9,28,
{NEW_1},2025-03-01T08:00:00,bdi,10,
{NEW_1},yesterday,phq9,10,
{NEW_1},2025-03-02T08:00:00,phq9,,
{NEW_1},2025-03-02T09:00:00,gad7,5,later
""",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="problem\\(s\\) found; nothing was imported") as failure:
        call_command("import_history", *args, stdout=io.StringIO(), stderr=err)
    assert failure.value.returncode == 2
    lines = err.getvalue().splitlines()
    expected = [
        "patients.csv line 3: mrn: 'KC12345678' is not a valid KetaCare MRN",
        f"patients.csv line 4: mrn: {patient.mrn} is on record with another family_name",
        "patients.csv line 5: birth_date: '03/02/1988' is not an ISO 8601 date",
        "patients.csv line 5: sex: 'm' is not one of",
        "sessions.csv line 2: route: 'oral' is not one of iv_ketamine, im_ketamine, esketamine",
        "sessions.csv line 3: datetime:",
        "sessions.csv line 4: dose_mg: 70 mg is not an esketamine dose",
        "sessions.csv line 5: dose_mg: 900 mg is more than 1.0 mg/kg at 350 kg",
        f"sessions.csv line 6: mrn: {format_mrn(9_000_777)} is neither in the patients file nor on record",
        "scores.csv line 2: total: '28' is not a whole number from 0 to 27",
        "scores.csv line 3: instrument: 'bdi' is not one of",
        "scores.csv line 4: datetime: 'yesterday' is not an ISO 8601 date and time",
        "scores.csv line 5: total: empty, and no item answers (item1..item10)",
        "scores.csv line 6: context: 'later' is not one of",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), start
    assert "is in the future" in lines[[line.startswith("sessions.csv line 3") for line in lines].index(True)]
    # Nothing was written: not even the good first patient.
    assert list(Patient.objects.values_list("mrn", flat=True)) == [patient.mrn]
    assert not TreatmentSession.objects.exists()
    assert not QuestionnaireResponse.objects.exists()


def test_a_missing_column_and_an_unreadable_file(tmp_path, db):
    args = files(tmp_path, "mrn,given_name,birth_date\n", "mrn,datetime,route,dose_mg\n", "mrn,datetime\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_history", *args, stderr=err)
    assert "patients.csv line 1: missing column(s): family_name, sex" in err.getvalue()
    assert "scores.csv line 1: missing column(s): instrument" in err.getvalue()
    args[1] = str(tmp_path / "absent.csv")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_history", *args, stderr=err)
    assert "absent.csv line 0: cannot read the file" in err.getvalue()


def test_history_already_on_record_is_left_as_it_is_and_a_second_import_adds_nothing(tmp_path, db):
    args = files(tmp_path, PATIENTS, SESSIONS, SCORES)
    call_command("import_history", *args, stdout=io.StringIO())
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("import_history", *args, stdout=out)
    assert "0 new patient(s) (2 matched by MRN), 0 session(s) and 0 score(s)." in out.getvalue()
    assert "3 session(s) and 3 score(s) were on record already and are left as they are" in out.getvalue()
    assert (TreatmentSession.objects.count(), QuestionnaireResponse.objects.count()) == (3, 3)
    assert AuditEvent.objects.count() == events  # nothing written, nothing to audit


def test_a_row_that_contradicts_the_record_is_refused(tmp_path, db):
    call_command("import_history", *files(tmp_path, PATIENTS, SESSIONS, SCORES), stdout=io.StringIO())
    sessions = SESSIONS.replace(
        f"{NEW_1},2025-03-03T09:00:00,iv_ketamine,35", f"{NEW_1},2025-03-03T09:00:00,esketamine,56"
    )
    scores = SCORES.replace(f"{NEW_2},2025-03-30T10:00:00,phq9,18", f"{NEW_2},2025-03-30T10:00:00,phq9,17")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_history", *files(tmp_path, PATIENTS, sessions, scores), stderr=err)
    assert (
        f"sessions.csv line 2: route: {NEW_1} has a session on record at this time by route iv_ketamine, "
        "not esketamine" in err.getvalue()
    )
    assert (
        f"scores.csv line 4: total: {NEW_2} has a phq9 of 18 on record at this time, not 17" in err.getvalue()
    )
    assert (TreatmentSession.objects.count(), QuestionnaireResponse.objects.count()) == (3, 3)


def test_an_import_stores_what_the_pages_store(tmp_path, db, nurse_actor):
    """The import writes through the services' bulk variants: an imported patient and score are
    stored as registration and staff entry store them (name keys, trimming, padded answers),
    sessions are numbered as check-in numbers them, and the MRN sequence moves past the MRNs
    imported, so a registration after the import is never handed one of them."""
    from ketacare.measures.services import response_record
    from ketacare.patients.services import patient_register

    live = patient_register(
        actor=nurse_actor,
        details={
            "given_name": "  Siobhán ",
            "family_name": "O'Neill-Testa",
            "date_of_birth": datetime.date(1980, 1, 2),
            "sex": "female",
        },
    )
    live_score = response_record(
        actor=nurse_actor,
        patient=live,
        instrument="phq9",
        answers=[1, 1, 1, 1, 1, 1, 1, 1, None],
        context="follow_up",
    )
    patients = f"""
mrn,given_name,family_name,birth_date,sex
{NEW_1},  Siobhán ,O'Neill-Testa,1981-01-02,female
"""
    scores = f"""
mrn,datetime,instrument,item1,item2,item3,item4,item5,item6,item7,item8,item9
{NEW_1},2025-03-01T08:00:00,phq9,1,1,1,1,1,1,1,1,
"""
    sessions = f"""
mrn,datetime,route,dose_mg
{NEW_1},2025-03-05T09:00:00,iv_ketamine,35
{NEW_1},2025-03-03T09:00:00,iv_ketamine,35
{NEW_1},2025-03-04T09:00:00,esketamine,56
"""
    call_command("import_history", *files(tmp_path, patients, sessions, scores), stdout=io.StringIO())
    imported = Patient.objects.get(mrn=NEW_1)
    for field in ("given_name", "given_name_key", "family_name", "family_name_key"):
        assert getattr(imported, field) == getattr(live, field)
    from ketacare.patients.selectors import patient_search

    assert sorted(p.pk for p in patient_search(text="testa")[1]) == sorted([live.pk, imported.pk])
    score = QuestionnaireResponse.objects.get(patient=imported)
    for field in ("answers", "item_scores", "total", "band", "flags", "complete", "prorated"):
        assert getattr(score, field) == getattr(live_score, field)
    assert score.answers[-2:] == [None, None] and len(score.answers) == 10  # padded to the scale's length
    numbered = TreatmentSession.objects.filter(patient=imported).order_by("dose_started_at")
    assert [(s.route, s.number) for s in numbered] == [
        ("iv_ketamine", 1),
        ("esketamine", 1),
        ("iv_ketamine", 2),
    ]
    later = patient_register(
        actor=nurse_actor,
        details={
            "given_name": "Ana",
            "family_name": "Lee",
            "date_of_birth": datetime.date(1990, 5, 6),
            "sex": "female",
        },
    )
    assert later.mrn == format_mrn(9_000_002)
