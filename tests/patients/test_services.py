import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.mrn import is_valid_mrn
from ketacare.patients.models import Allergy, BodyMeasurement, Diagnosis, Patient
from ketacare.patients.services import allergy_record, measurement_record, patient_register, patient_update
from tests.conftest import patient_details

pytestmark = pytest.mark.django_db


def test_register_gives_a_valid_unique_mrn_and_records_everything_with_audit(register, front_desk):
    first = register()
    second = register(given_name="Ben", family_name="Jones", diagnoses=("F43.12", "F41.1"))
    assert is_valid_mrn(first.mrn) and is_valid_mrn(second.mrn) and first.mrn != second.mrn
    assert first.family_name_key == "smith"
    assert [(d.code, d.is_primary) for d in second.diagnoses.order_by("code")] == [
        ("F41.1", False),
        ("F43.12", True),
    ]
    measurement = BodyMeasurement.objects.get(patient=first)
    assert (measurement.weight_kg, measurement.height_cm) == (Decimal("72.5"), Decimal("168.0"))
    events = AuditEvent.objects.filter(patient_id=first.pk, action="create")
    assert sorted(e.object_type for e in events) == [
        "patients.bodymeasurement",
        "patients.diagnosis",
        "patients.patient",
    ]
    assert {e.actor_id for e in events} == {front_desk.pk}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        # Tomorrow, reckoned when the test runs (a run may cross midnight after collection).
        (
            {"date_of_birth": lambda: timezone.localdate() + datetime.timedelta(days=1)},
            "date_of_birth",
            "future",
        ),
        ({"date_of_birth": datetime.date(1899, 12, 31)}, "date_of_birth", "1900"),
        ({"given_name": ""}, "given_name", "blank"),
        ({"sex": "x"}, "sex", "not a valid choice"),
        ({"phone": "call me"}, "phone", "phone number"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_invalid_registration_names_the_field_and_saves_nothing(actor, overrides, field, message):
    before = AuditEvent.objects.count()  # the actor's account, made and audited
    overrides = {k: v() if callable(v) else v for k, v in overrides.items()}
    with pytest.raises(ValidationError) as excinfo:
        patient_register(actor=actor, details=patient_details(**overrides))
    assert field in excinfo.value.message_dict
    assert message in " ".join(excinfo.value.message_dict[field])
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_implausible_weight_rolls_back_the_whole_registration(actor):
    with pytest.raises(ValidationError) as excinfo:
        patient_register(actor=actor, details=patient_details(), weight_kg=Decimal("700"))
    assert "at most 350" in excinfo.value.message_dict["weight_kg"][0]
    assert Patient.objects.count() == 0 and BodyMeasurement.objects.count() == 0


def test_primary_diagnosis_must_be_among_the_diagnoses(actor):
    with pytest.raises(ValidationError) as excinfo:
        patient_register(
            actor=actor, details=patient_details(), diagnoses=["F33.1"], primary_diagnosis="F41.1"
        )
    assert "primary_diagnosis" in excinfo.value.message_dict
    assert Patient.objects.count() == 0


def test_unknown_diagnosis_code_is_refused(actor):
    with pytest.raises(ValidationError) as excinfo:
        patient_register(actor=actor, details=patient_details(), diagnoses=["F99"])
    assert "F99" in excinfo.value.message_dict["diagnoses"][0]
    assert Diagnosis.objects.count() == 0


def test_update_audits_the_names_of_changed_fields_but_not_values(register, actor):
    patient = register()
    patient_update(actor=actor, patient=patient, details={"phone": "(555) 000-1111", "city": "Boston"})
    event = AuditEvent.objects.get(patient_id=patient.pk, action="update")
    assert event.detail == {"fields": ["city", "phone"]}
    assert "555" not in str(event.detail)
    patient.refresh_from_db()
    assert patient.city == "Boston"


def test_update_without_change_writes_no_event(register, actor):
    patient = register()
    before = AuditEvent.objects.count()
    patient_update(actor=actor, patient=patient, details={"city": ""})
    assert AuditEvent.objects.count() == before


def test_update_replaces_diagnoses_and_primary(register, actor):
    patient = register(diagnoses=("F33.1", "F41.1"))
    patient_update(
        actor=actor, patient=patient, details={}, diagnoses=["F41.1", "F43.12"], primary_diagnosis="F43.12"
    )
    assert [(d.code, d.is_primary) for d in patient.diagnoses.order_by("code")] == [
        ("F41.1", False),
        ("F43.12", True),
    ]
    assert (
        AuditEvent.objects.filter(
            patient_id=patient.pk, action="delete", object_type="patients.diagnosis"
        ).count()
        == 1
    )


def test_renaming_updates_the_search_keys(register, actor):
    patient = register()
    updated = patient_update(actor=actor, patient=patient, details={"family_name": "O'Neill"})
    assert updated.family_name_key == "oneill"


def test_measurement_out_of_range_is_refused_and_not_saved(register, actor):
    patient = register(weight_kg=None, height_cm=None)
    with pytest.raises(ValidationError) as excinfo:
        measurement_record(actor=actor, patient=patient, weight_kg=Decimal("12"), height_cm=None)
    assert "at least 25" in excinfo.value.message_dict["weight_kg"][0]
    with pytest.raises(ValidationError):
        measurement_record(actor=actor, patient=patient, weight_kg=None, height_cm=None)
    assert BodyMeasurement.objects.filter(patient=patient).count() == 0


def test_recording_an_allergy_clears_no_known_allergies(register, actor):
    patient = register(no_known_allergies=True)
    allergy_record(actor=actor, patient=patient, substance=" Penicillin ", reaction="Rash", severity="severe")
    patient.refresh_from_db()
    assert patient.no_known_allergies is False
    assert Allergy.objects.get(patient=patient).substance == "Penicillin"


def test_no_known_allergies_is_refused_while_allergies_are_on_record(register, actor):
    patient = register()
    allergy_record(actor=actor, patient=patient, substance="Latex")
    with pytest.raises(ValidationError) as excinfo:
        patient_update(actor=actor, patient=patient, details={"no_known_allergies": True})
    assert "no_known_allergies" in excinfo.value.message_dict
    patient.refresh_from_db()
    assert patient.no_known_allergies is False
