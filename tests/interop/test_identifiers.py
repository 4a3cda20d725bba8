"""Patients known by another system's ids: `ketacare identifier-systems` and
`ketacare import-history --source NAME` (issue 17, part 1)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import IdentifierSystem, Patient, PatientIdentifier
from ketacare.sessions.models import TreatmentSession
from tests.interop.test_history import files

PATIENTS = """
mrn,given_name,family_name,birth_date,sex
H00000,Rosa,Diaz,1975-02-03,female
H00001,Omar,Haddad,1988-11-30,male
"""
SESSIONS = """
mrn,datetime,route,dose_mg
H00000,2025-03-03T09:00:00,iv_ketamine,35
H00000,2025-03-05T09:00:00,iv_ketamine,35
H00001,2025-04-01T10:00:00+00:00,esketamine,56
"""
SCORES = """
mrn,datetime,instrument,total,context
H00000,2025-03-01T08:00:00,phq9,20,baseline
H00000,2025-03-04T08:00:00,phq9,9,follow_up
H00001,2025-03-30T10:00:00,phq9,18,
"""


@pytest.fixture
def osmind(db):
    call_command("identifier_systems", "--add", "osmind", "--label", "Osmind", stdout=io.StringIO())
    return IdentifierSystem.objects.get(name="osmind")


def run(tmp_path, patients=PATIENTS, sessions=SESSIONS, scores=SCORES, source="osmind") -> str:
    out = io.StringIO()
    call_command(
        "import_history", *files(tmp_path, patients, sessions, scores), "--source", source, stdout=out
    )
    return out.getvalue()


def test_new_ids_register_patients_with_new_mrns_and_keep_the_ids(tmp_path, osmind, register):
    earlier = register()  # MRNs go on from the clinic's own sequence
    out = run(tmp_path)
    assert "Imported 2 new patient(s) (0 matched by Osmind id), 3 session(s) and 3 score(s)." in out
    rosa = PatientIdentifier.objects.get(system=osmind, value="H00000").patient
    omar = PatientIdentifier.objects.get(system=osmind, value="H00001").patient
    assert (rosa.family_name, omar.family_name) == ("Diaz", "Haddad")
    assert sorted([rosa.mrn, omar.mrn]) == sorted(
        Patient.objects.exclude(pk=earlier.pk).values_list("mrn", flat=True)
    )
    assert rosa.mrn > earlier.mrn and omar.mrn > earlier.mrn
    assert TreatmentSession.objects.filter(patient=rosa).count() == 2
    assert QuestionnaireResponse.objects.filter(patient=omar).get().total == 18
    # One audit event per patient, naming the system and what came with the patient.
    (event,) = AuditEvent.objects.filter(actor_label__contains="import-history", patient_id=rosa.pk)
    assert event.detail == {"source": "import-history", "system": "osmind", "sessions": 2, "scores": 2}


def test_a_second_import_of_the_same_files_adds_nothing(tmp_path, osmind):
    run(tmp_path)
    counts = (
        Patient.objects.count(),
        TreatmentSession.objects.count(),
        QuestionnaireResponse.objects.count(),
    )
    events = AuditEvent.objects.count()
    out = run(tmp_path)
    assert "0 new patient(s) (2 matched by Osmind id), 0 session(s) and 0 score(s)." in out
    assert "3 session(s) and 3 score(s) were on record already" in out
    assert (
        Patient.objects.count(),
        TreatmentSession.objects.count(),
        QuestionnaireResponse.objects.count(),
    ) == counts
    assert AuditEvent.objects.count() == events


def test_a_later_file_adds_only_what_is_new_and_matches_by_id(tmp_path, osmind):
    run(tmp_path)
    later_sessions = SESSIONS + "H00000,2025-03-07T09:00:00,iv_ketamine,35\n"
    run(tmp_path, patients="mrn,given_name,family_name,birth_date,sex", sessions=later_sessions)
    rosa = PatientIdentifier.objects.get(value="H00000").patient
    assert TreatmentSession.objects.filter(patient=rosa).count() == 3
    assert Patient.objects.count() == 2
    (event,) = AuditEvent.objects.filter(object_type="history", patient_id=rosa.pk)
    assert event.detail == {"source": "import-history", "system": "osmind", "sessions": 1, "scores": 0}


def test_an_id_on_record_for_another_person_is_refused_with_its_line(tmp_path, osmind):
    run(tmp_path)
    clash = PATIENTS.replace("H00001,Omar,Haddad,1988-11-30", "H00001,Omar,Haddad,1988-11-03")
    clash = clash.replace("H00000,Rosa,Diaz", "H00000,Rosa,Diaz-Ortega")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command(
            "import_history", *files(tmp_path, clash, SESSIONS, SCORES), "--source", "osmind", stderr=err
        )
    rosa = PatientIdentifier.objects.get(value="H00000").patient
    assert (
        f"patients.csv line 2: mrn: Osmind id H00000 (patient {rosa.mrn}) is on record with another "
        "family_name: check the Osmind id before importing"
    ) in err.getvalue()
    assert "patients.csv line 3: mrn: Osmind id H00001" in err.getvalue()
    assert "another birth_date" in err.getvalue()
    assert Patient.objects.count() == 2 and TreatmentSession.objects.count() == 3


def test_ids_are_checked_like_mrns_are(tmp_path, osmind):
    patients = PATIENTS + "H00000,Ana,Lee,1990-05-06,female\n" + " ,Ben,Cho,1991-05-06,male\n"
    sessions = SESSIONS + "H99999,2025-03-03T09:00:00,iv_ketamine,35\n"
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_history", *files(tmp_path, patients, sessions, SCORES), "--source", "osmind", stderr=err
        )
    text = err.getvalue()
    assert "patients.csv line 4: mrn: H00000 appears twice in the file" in text
    assert "patients.csv line 5: mrn: '' is not an id of Osmind: 1 to 64 printable characters" in text
    assert "sessions.csv line 5: mrn: H99999 is neither in the patients file nor on record" in text
    assert not Patient.objects.exists() and not PatientIdentifier.objects.exists()


def test_an_unknown_source_is_refused_before_anything_is_read(tmp_path, osmind):
    with pytest.raises(
        CommandError, match=r"source: 'epic' is not an identifier system on record \(known: osmind"
    ):
        run(tmp_path, source="epic")
    assert not Patient.objects.exists()


def test_kc_mrns_in_a_source_file_are_that_systems_ids_not_mrns(tmp_path, osmind, patient):
    """With --source the column is the other system's id, even when it looks like an MRN: the
    patient on record under that MRN is not matched."""
    patients = f"mrn,given_name,family_name,birth_date,sex\n{patient.mrn},Rosa,Diaz,1975-02-03,female"
    run(
        tmp_path,
        patients=patients,
        sessions="mrn,datetime,route,dose_mg",
        scores="mrn,datetime,instrument,total",
    )
    kept = PatientIdentifier.objects.get(value=patient.mrn)
    assert kept.patient != patient and kept.patient.family_name == "Diaz"


def test_identifier_systems_are_listed_and_a_bad_name_is_refused(db):
    out = io.StringIO()
    call_command("identifier_systems", stdout=out)
    assert "No identifier systems yet" in out.getvalue()
    call_command("identifier_systems", "--add", "old-ehr", "--label", "Old EHR", stdout=io.StringIO())
    call_command("identifier_systems", stdout=out)
    assert "old-ehr\tOld EHR\turn:ketacare:identifier-system:old-ehr" in out.getvalue()
    with pytest.raises(CommandError, match="name: Use 1 to 40 lower-case letters"):
        call_command("identifier_systems", "--add", "Old EHR", "--label", "x")
    with pytest.raises(CommandError, match="name: Identifier system with this Name already exists"):
        call_command("identifier_systems", "--add", "old-ehr", "--label", "again")
    with pytest.raises(CommandError, match="--label"):
        call_command("identifier_systems", "--add", "new")
    assert IdentifierSystem.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="patients.identifiersystem").count() == 1


def test_the_chart_shows_the_other_identifiers(tmp_path, osmind, client_as, physician):
    run(tmp_path)
    rosa = PatientIdentifier.objects.get(value="H00000").patient
    page = client_as(physician).get(reverse("patients:chart", args=[rosa.pk]))
    assert page.status_code == 200
    assert (
        '<span class="identifier" title="Osmind patient id">Osmind <strong>H00000</strong></span>'
        in page.content.decode()
    )
