"""FHIR R4 `Patient/{id}/$everything` (issue 17, part 3): every resource validates against the
FHIR models of fhir.resources (its R4B package: R4's definitions of every resource exported), and
carries the codes the clinical reference names."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from fhir.resources.R4B import get_fhir_model_class

from ketacare.audit.models import AuditEvent
from ketacare.measures.services import response_record
from ketacare.patients.models import Patient, PatientIdentifier
from ketacare.patients.services import identifier_system_add
from ketacare.sessions import services as sessions
from tests.treatment_helpers import check_in, make_chair, make_eligible, run_to_discharge, start_plan

pytestmark = pytest.mark.django_db(transaction=True)


def validated(bundle: dict) -> dict:
    """The Bundle and each resource in it, parsed by fhir.resources (raises on any invalid one)."""
    get_fhir_model_class("Bundle").model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return bundle


def of_type(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture
def treated_patient(doctor, nurse_actor, patient, actor):
    """A patient with an id in another system, a diagnosis, a baseline PHQ-9, an infusion run to
    discharge (dose, vitals, scales) and an adverse event."""
    system = identifier_system_add(actor=actor, name="old-ehr", label="Old EHR")
    PatientIdentifier.objects.create(patient=patient, system=system, value="H00042")
    response_record(
        actor=nurse_actor,
        patient=patient,
        instrument="phq9",
        answers=[2, 2, 2, 2, 2, 2, 2, 3, 0],
        context="baseline",
    )
    make_eligible(doctor, patient)
    plan = start_plan(doctor, patient, make_chair())
    session = check_in(nurse_actor, plan, minutes_ago=150)
    sessions.adverse_event_record(
        actor=nurse_actor, session=session, kind="nausea", severity="mild", action_taken="Ondansetron 4 mg"
    )
    run_to_discharge(doctor, nurse_actor, session)
    return patient


def everything(client, patient_id: int) -> dict:
    response = client.get(reverse("interop:patient-everything", args=[patient_id]))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json"
    return json.loads(response.content)


def test_everything_validates_and_holds_each_kind_of_record(client_as, physician, treated_patient):
    bundle = validated(everything(client_as(physician), treated_patient.pk))
    assert bundle["type"] == "searchset" and bundle["total"] == len(bundle["entry"])
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds >= {
        "Patient",
        "Condition",
        "Questionnaire",
        "QuestionnaireResponse",
        "Observation",
        "Encounter",
        "MedicationAdministration",
        "AdverseEvent",
        "CarePlan",
        "Consent",
    }
    (patient,) = of_type(bundle, "Patient")
    assert {(i["system"], i["value"]) for i in patient["identifier"]} == {
        ("urn:ketacare:mrn", treated_patient.mrn),
        ("urn:ketacare:identifier-system:old-ehr", "H00042"),
    }
    (condition,) = of_type(bundle, "Condition")
    systems = {c["system"]: c["code"] for c in condition["code"]["coding"]}
    assert systems == {"http://hl7.org/fhir/sid/icd-10-cm": "F33.1", "http://snomed.info/sct": "370143000"}
    # Every reference points at a resource in the Bundle.
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    text = json.dumps(bundle)
    import re

    for reference in re.findall(r'"reference": "([^"]+)"', text):
        assert reference in ids, reference


def test_a_phq9_is_a_response_and_an_observation_with_its_loinc_codes(client_as, physician, treated_patient):
    bundle = validated(everything(client_as(physician), treated_patient.pk))
    scores = [o for o in of_type(bundle, "Observation") if o["id"].startswith("score-")]
    baseline = next(o for o in scores if o["valueInteger"] == 17)  # 2 x 7 + 3, item 9 answered 0
    assert baseline["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "44261-6",
        "display": "PHQ-9 total score",
    }
    item9 = [c for c in baseline["component"] if c["code"].get("coding", [{}])[0].get("code") == "44260-8"]
    assert [c["valueInteger"] for c in item9] == [0]
    response_id = baseline["derivedFrom"][0]["reference"].split("/")[1]
    (answered,) = [r for r in of_type(bundle, "QuestionnaireResponse") if r["id"] == response_id]
    assert answered["questionnaire"].endswith("/fhir/Questionnaire/phq9")
    assert answered["item"][8]["answer"][0]["valueCoding"]["code"] == "0"
    assert answered["item"][7]["answer"][0]["valueCoding"] == {"code": "3", "display": "Nearly every day"}
    (phq9,) = [q for q in of_type(bundle, "Questionnaire") if q["id"] == "phq9"]
    assert phq9["code"][0]["code"] == "44249-1" and phq9["url"] == answered["questionnaire"]


def test_the_dose_and_the_vital_signs_carry_rxnorm_route_and_the_vital_signs_profile(
    client_as, physician, treated_patient
):
    bundle = validated(everything(client_as(physician), treated_patient.pk))
    (dose,) = of_type(bundle, "MedicationAdministration")
    assert dose["medicationCodeableConcept"]["coding"][0]["code"] == "6130"
    assert dose["dosage"]["route"]["coding"][0]["code"] == "47625008"
    assert dose["dosage"]["dose"]["unit"] == "mg" and dose["dosage"]["dose"]["value"] > 0
    assert dose["status"] == "completed" and dose["context"]["reference"].startswith("Encounter/")
    vitals = [o for o in of_type(bundle, "Observation") if o["id"].startswith("vitals-")]
    bp = [o for o in vitals if o["id"].endswith("-bp")]
    assert bp and bp[0]["code"]["coding"][0]["code"] == "85354-9"
    assert {c["code"]["coding"][0]["code"] for c in bp[0]["component"]} == {"8480-6", "8462-4"}
    assert all(c["valueQuantity"]["code"] == "mm[Hg]" for c in bp[0]["component"])
    spo2 = [o for o in vitals if o["id"].endswith("-spo2")]
    assert [c["code"] for c in spo2[0]["code"]["coding"]] == ["2708-6", "59408-5"]
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in vitals)
    (event,) = of_type(bundle, "AdverseEvent")
    assert event["severity"]["coding"][0]["code"] == "mild"
    assert event["suspectEntity"][0]["instance"]["reference"] == f"MedicationAdministration/{dose['id']}"


def test_everything_is_audited_and_kept_from_the_front_desk(
    client_as, physician, front_desk, treated_patient
):
    bundle = everything(client_as(physician), treated_patient.pk)
    event = AuditEvent.objects.filter(patient_id=treated_patient.pk, detail__fhir="Patient/$everything").get()
    assert event.detail["resources"] == bundle["total"]
    refused = client_as(front_desk).get(reverse("interop:patient-everything", args=[treated_patient.pk]))
    assert refused.status_code == 403


def test_an_unknown_patient_is_a_404_operation_outcome(client_as, physician):
    response = client_as(physician).get(reverse("interop:patient-everything", args=[999999]))
    assert response.status_code == 404
    outcome = json.loads(response.content)
    get_fhir_model_class("OperationOutcome").model_validate(outcome)
    assert outcome["issue"][0]["code"] == "not-found"


def test_the_endpoint_describes_itself(client_as, nurse):
    response = client_as(nurse).get(reverse("interop:metadata"))
    statement = json.loads(response.content)
    get_fhir_model_class("CapabilityStatement").model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["implementation"]["url"] == "http://testserver/fhir/"
    assert statement["rest"][0]["resource"][0]["operation"][0]["name"] == "everything"


def test_the_bulk_export_writes_one_ndjson_file_per_type_each_line_valid(tmp_path, treated_patient, register):
    register(family_name="Quiet")  # a patient with no history: a Patient line only
    out = io.StringIO()
    call_command("fhir_export", "--out", str(tmp_path), stdout=out)
    files = {p.name: p for p in tmp_path.iterdir()}
    assert not [name for name in files if name.endswith(".part")]
    counts = {}
    for name, path in files.items():
        kind = name.removesuffix(".ndjson")
        lines = path.read_text(encoding="utf-8").splitlines()
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == kind
            get_fhir_model_class(kind).model_validate(resource)
        counts[kind] = len(lines)
    assert counts["Patient"] == 2 and counts["Questionnaire"] >= 2  # PHQ-9 and the session's CADSS
    assert counts["MedicationAdministration"] == 1 and counts["Encounter"] == 1
    assert (
        "Exported 2 patient(s):" in out.getvalue()
        and f"{counts['Observation']} Observation" in out.getvalue()
    )
    questionnaire = json.loads((tmp_path / "QuestionnaireResponse.ndjson").read_text().splitlines()[0])
    assert questionnaire["questionnaire"].startswith("urn:ketacare:fhir:Questionnaire/")
    (event,) = AuditEvent.objects.filter(object_type="fhir-export")
    assert sorted(event.detail["patients"]) == sorted(Patient.objects.values_list("id", flat=True))


def test_a_bulk_export_since_a_date_holds_only_what_changed_from_then(tmp_path, treated_patient, register):
    import datetime

    from django.utils import timezone

    from ketacare.measures.models import QuestionnaireResponse
    from ketacare.patients.models import Patient as P

    quiet = register(family_name="Quiet")
    # Everything on record was made before today but the treated patient's latest score.
    P.objects.filter(pk=quiet.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    quiet.diagnoses.update(recorded_at=timezone.now() - datetime.timedelta(days=30))
    P.objects.filter(pk=treated_patient.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    latest = QuestionnaireResponse.objects.filter(patient=treated_patient).latest("administered_at")
    QuestionnaireResponse.objects.exclude(pk=latest.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    out = io.StringIO()
    call_command("fhir_export", "--out", str(tmp_path / "since"), "--since", since, stdout=out)
    lines = {
        p.name.removesuffix(".ndjson"): [json.loads(line) for line in p.read_text().splitlines()]
        for p in (tmp_path / "since").iterdir()
    }
    assert [p["id"] for p in lines["Patient"]] == [str(treated_patient.pk)]  # kept: its records refer to it
    assert [r["id"] for r in lines["QuestionnaireResponse"]] == [str(latest.pk)]
    assert "Exported 1 patient(s)" in out.getvalue()
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    call_command("fhir_export", "--out", str(tmp_path / "none"), "--since", tomorrow, stdout=io.StringIO())
    assert list((tmp_path / "none").iterdir()) == []
    with pytest.raises(CommandError, match="--since: 'soon' is not a date"):
        call_command("fhir_export", "--out", str(tmp_path), "--since", "soon")


@pytest.mark.parametrize(
    ("stored", "fhir"),
    [
        ("2026-07-14 09:48:49.178747", "2026-07-14T09:48:49.178747+00:00"),  # SQLite
        ("2026-07-14 09:48:49", "2026-07-14T09:48:49+00:00"),
        ("2026-07-14 09:48:49.178747+00", "2026-07-14T09:48:49.178747+00:00"),  # PostgreSQL in UTC
        ("2026-07-14 09:48:49+00:00", "2026-07-14T09:48:49+00:00"),
    ],
)
def test_a_stored_time_becomes_a_fhir_datetime(stored, fhir):
    from ketacare.interop.fhir import _utc_text

    assert _utc_text(stored) == fhir


def test_a_time_not_in_utc_is_refused_rather_than_shifted():
    from ketacare.interop.fhir import _utc_text

    with pytest.raises(ValueError, match="not a UTC time"):
        _utc_text("2026-07-14 09:48:49-05")


def write_bundle(tmp_path, bundle: dict):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def test_importing_a_patients_own_bundle_again_adds_nothing(tmp_path, client_as, physician, treated_patient):
    from ketacare.measures.models import QuestionnaireResponse
    from ketacare.sessions.models import TreatmentSession

    bundle = everything(client_as(physician), treated_patient.pk)
    counts = (
        Patient.objects.count(),
        TreatmentSession.objects.count(),
        QuestionnaireResponse.objects.count(),
    )
    out = io.StringIO()
    call_command("fhir_import", str(write_bundle(tmp_path, bundle)), stdout=out)
    text = out.getvalue()
    assert "0 new patient(s) (1 matched by MRN), 0 session(s) and 0 score(s)." in text
    assert f"1 session(s) and {counts[2]} score(s) were on record already" in text
    assert "Not imported (derived from these, or not imported yet):" in text and "Observation" in text
    assert (
        Patient.objects.count(),
        TreatmentSession.objects.count(),
        QuestionnaireResponse.objects.count(),
    ) == counts


def test_a_bundle_with_bad_resources_is_refused_naming_each_path(
    tmp_path, client_as, physician, treated_patient, register
):
    bundle = everything(client_as(physician), treated_patient.pk)
    entries = bundle["entry"]
    patient = entries[0]["resource"]
    patient["identifier"][0]["value"] = "KC9000001"  # a new MRN: would register a new patient
    patient["identifier"][1]["system"] = "urn:elsewhere"  # a system not on record
    patient["birthDate"] = "1990-02-30"
    first_response = next(
        i for i, e in enumerate(entries) if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    entries[first_response]["resource"]["subject"] = {"reference": "Patient/999"}
    err = io.StringIO()
    before = Patient.objects.count()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("fhir_import", str(write_bundle(tmp_path, bundle)), stderr=err)
    assert "Bundle.entry[0].resource: birthDate:" in err.getvalue()
    assert Patient.objects.count() == before
    # Valid FHIR, but not what KetaCare can take: each named by its path.
    patient["birthDate"] = "1990-02-03"
    with pytest.raises(CommandError):
        call_command("fhir_import", str(write_bundle(tmp_path, bundle)), stderr=(err := io.StringIO()))
    assert (
        "Bundle.entry[0].resource: identifier[1].system: 'urn:elsewhere' is not an identifier system "
        "on record" in err.getvalue()
    )
    assert (
        f"Bundle.entry[{first_response}].resource: subject: Patient/999 is not a Patient in the file"
        in err.getvalue()
    )
    assert Patient.objects.count() == before


@pytest.mark.slow
def test_the_demos_bulk_export_round_trips_into_an_empty_database_with_the_same_outcome_figures(tmp_path):
    """The demo's patients (live sessions charted at the chair, scores from every context) leave
    as Bulk Data NDJSON and come into an empty KetaCare through fhir-import: its outcome figures
    are the same, to the last patient."""
    import os
    import subprocess
    import sys

    call_command("seed_demo", "--patients", "24", "--seed", "5", stdout=io.StringIO())
    figures = io.StringIO()
    call_command("outcomes", "--json", stdout=figures)
    call_command("fhir_export", "--out", str(tmp_path / "export"), stdout=io.StringIO())
    env = {**os.environ, "KETACARE_VAR_DIR": str(tmp_path / "empty"), "KETACARE_HTTPS": "false"}
    env.pop("DATABASE_URL", None)  # a new SQLite database of its own
    ketacare = str(Path(sys.executable).parent / "ketacare")

    def run(*args: str) -> str:
        command = [ketacare, *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("migrate", "--verbosity", "0")
    imported = run("fhir-import", str(tmp_path / "export"))
    assert "24 new patient(s)" in imported
    assert json.loads(run("outcomes", "--json")) == json.loads(figures.getvalue())


def test_the_chart_lists_each_disclosure_of_the_record(
    tmp_path, client_as, physician, front_desk, treated_patient
):
    client = client_as(physician)
    page = client.get(reverse("web:disclosures", args=[treated_patient.pk])).content.decode()
    assert "The record has not left KetaCare." in page
    bundle = everything(client, treated_patient.pk)
    call_command("fhir_export", "--out", str(tmp_path), stdout=io.StringIO())
    from ketacare.audit.selectors import disclosures

    rows = disclosures(treated_patient.pk)
    assert [r.what for r in rows] == [
        "FHIR Bulk Data export of the clinic's records",
        "The whole record as FHIR (Patient/$everything)",
    ]
    assert (
        rows[0].to == str(tmp_path)
        and rows[0].resources is None
        and rows[0].by == "ketacare fhir-export (a command on the server)"
    )
    assert rows[1].resources == bundle["total"] and rows[1].by == physician.username
    page = client_as(front_desk).get(reverse("web:disclosures", args=[treated_patient.pk]))
    assert page.status_code == 200 and "FHIR Bulk Data export" in page.content.decode()
    chart = client.get(reverse("patients:chart", args=[treated_patient.pk])).content.decode()
    assert reverse("web:disclosures", args=[treated_patient.pk]) in chart


def test_the_letters_and_the_progress_report_are_document_references(client_as, physician, treated_patient):
    from ketacare.screening.models import CandidacyDecision

    bundle = validated(everything(client_as(physician), treated_patient.pk))
    documents = {d["id"]: d for d in of_type(bundle, "DocumentReference")}
    decision = CandidacyDecision.objects.get(patient=treated_patient)
    letter = documents[f"letter-{decision.pk}"]
    assert letter["status"] == "current"
    attachment = letter["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["url"] == f"http://testserver{reverse('screening:letter', args=[decision.pk])}"
    report = documents[f"progress-report-{treated_patient.pk}"]
    assert report["content"][0]["attachment"]["url"].endswith(
        reverse("outcomes:report", args=[treated_patient.pk])
    )
    # The addresses answer with the PDFs they name.
    pdf = client_as(physician).get(attachment["url"].removeprefix("http://testserver"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_a_signed_consent_is_a_consent_inactive_from_its_withdrawal(client_as, physician, treated_patient):
    from ketacare.patients.models import ConsentSignature
    from ketacare.patients.services import consent_withdraw
    from tests.treatment_helpers import portal_actor

    signature = ConsentSignature.objects.get(patient=treated_patient)
    (consent,) = of_type(validated(everything(client_as(physician), treated_patient.pk)), "Consent")
    assert (consent["status"], consent["scope"]["coding"][0]["code"], consent["patient"]["reference"]) == (
        "active",
        "treatment",
        f"Patient/{treated_patient.pk}",
    )
    assert consent["category"][0]["coding"][0]["code"] == "59284-0"
    assert consent["sourceAttachment"]["title"] == (
        "Consent to IV ketamine treatment, version 1 (Signed by the patient in the portal)"
    )
    assert consent["sourceAttachment"]["url"].endswith(
        f"/patients/{treated_patient.pk}/consent/signatures/{signature.pk}/copy.pdf"
    )
    assert "end" not in consent["provision"]["period"]
    consent_withdraw(actor=portal_actor(treated_patient), signature=signature, by_patient=True)
    (consent,) = of_type(validated(everything(client_as(physician), treated_patient.pk)), "Consent")
    assert consent["status"] == "inactive" and consent["provision"]["period"]["end"]
