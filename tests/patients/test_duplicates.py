"""A possible-duplicate warning at registration: the same given and family name and date of birth,
or the same phone number, refuses the registration until the user confirms a different person."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.patients.models import BodyMeasurement, Diagnosis, MrnSequence, Patient
from ketacare.patients.services import (
    DUPLICATES_SHOWN,
    MATCH_NAME_AND_BIRTH,
    MATCH_PHONE,
    PossibleDuplicateError,
    patient_register,
    possible_duplicates,
)
from tests.conftest import patient_details

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    sequence = MrnSequence.objects.filter(pk=1).values_list("last_serial", flat=True).first()
    return (
        Patient.objects.count(),
        Diagnosis.objects.count(),
        BodyMeasurement.objects.count(),
        AuditEvent.objects.count(),
        sequence or 0,
    )


def _create_event(patient: Patient) -> AuditEvent:
    return AuditEvent.objects.get(action="create", object_type="patients.patient", object_id=str(patient.pk))


def _someone_else(**overrides):
    """Details sharing nothing with patient_details(): another name, birth date and phone."""
    other = {
        "given_name": "Maya",
        "family_name": "Lindqvist",
        "date_of_birth": datetime.date(1992, 9, 30),
        "phone": "(555) 777-8080",
    }
    return patient_details(**{**other, **overrides})


# Service


def test_same_name_and_birth_date_is_refused_naming_the_patient_and_nothing_is_written(actor):
    existing = patient_register(actor=actor, details=patient_details())
    before = _counts()
    with pytest.raises(PossibleDuplicateError) as excinfo:
        patient_register(
            actor=actor,
            details=patient_details(phone="(555) 640-1122", email="a.smith@example.org"),
            diagnoses=["F33.1"],
            primary_diagnosis="F33.1",
            weight_kg=Decimal("70.0"),
        )
    error = excinfo.value
    assert list(error.message_dict) == ["duplicate"]
    assert error.error_dict["duplicate"][0].code == "possible_duplicate"
    assert error.message_dict["duplicate"] == [
        f"This may be a patient already registered: {existing.mrn} Anna Smith, born 1980-04-23 "
        "(same name and date of birth). Check before registering, and register anyway only if this "
        "is a different person."
    ]
    assert [(d.patient.pk, d.matched_on) for d in error.candidates] == [
        (existing.pk, (MATCH_NAME_AND_BIRTH,))
    ]
    assert _counts() == before


def test_a_confirmed_registration_is_saved_and_audits_the_mrns_confirmed_different(actor):
    same_name = patient_register(actor=actor, details=patient_details(phone=""))
    same_phone = patient_register(actor=actor, details=_someone_else(phone="(555) 201-3344"))
    patient = patient_register(
        actor=actor, details=patient_details(), diagnoses=["F33.1"], confirm_not_duplicate=True
    )
    assert Patient.objects.count() == 3
    assert _create_event(patient).detail == {"confirmed_not_duplicate_of": [same_name.mrn, same_phone.mrn]}
    # the confirmation belongs to the patient's event; the diagnosis's event is plain
    assert AuditEvent.objects.get(action="create", object_type="patients.diagnosis").detail == {}
    assert _create_event(same_name).detail == {}


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("(555) 201-3344", "555-201-3344"),
        ("(555) 201-3344", "+1 555 201 3344"),
        ("(555) 201-3344", "1 (555) 201.3344"),
        ("+1-555-201-3344", "5552013344"),
        ("1 555 201 3344", "(555) 201-3344"),
        ("+44 20 7946 0958", "+44 (20) 7946-0958"),
    ],
)
def test_the_same_phone_typed_differently_is_a_possible_duplicate(actor, stored, typed):
    existing = patient_register(actor=actor, details=patient_details(phone=stored))
    with pytest.raises(PossibleDuplicateError) as excinfo:
        patient_register(actor=actor, details=_someone_else(phone=typed))
    assert [(d.patient.pk, d.matched_on) for d in excinfo.value.candidates] == [(existing.pk, (MATCH_PHONE,))]
    assert "(same phone number)" in excinfo.value.message_dict["duplicate"][0]
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"date_of_birth": datetime.date(1980, 4, 24), "phone": "(555) 640-1122"},
        {"given_name": "Anne", "phone": "(555) 640-1122"},
        {"family_name": "Smyth", "phone": "(555) 201-3345"},
    ],
    ids=["other-birth-date", "other-given-name", "other-family-name-and-a-digit-off"],
)
def test_a_different_birth_date_or_name_and_another_phone_registers_without_a_warning(actor, overrides):
    patient_register(actor=actor, details=patient_details())
    patient = patient_register(actor=actor, details=patient_details(**overrides))
    assert Patient.objects.count() == 2
    assert _create_event(patient).detail == {}


def test_patients_without_a_phone_are_not_duplicates_of_each_other(actor):
    patient_register(actor=actor, details=patient_details(phone=""))
    patient_register(actor=actor, details=_someone_else(phone=""))
    assert Patient.objects.count() == 2


def test_case_accents_and_punctuation_in_the_name_still_match(actor):
    existing = patient_register(
        actor=actor, details=patient_details(given_name="José", family_name="García-Márquez", phone="")
    )
    with pytest.raises(PossibleDuplicateError) as excinfo:
        patient_register(
            actor=actor, details=patient_details(given_name="JOSÉ", family_name="garcia marquez", phone="")
        )
    assert [d.patient.pk for d in excinfo.value.candidates] == [existing.pk]
    assert Patient.objects.count() == 1


def test_a_number_shared_by_many_lists_the_first_ten_and_says_there_are_more(actor):
    shared = "(555) 100-2000"
    first = patient_register(actor=actor, details=_someone_else(phone=shared))
    for n in range(DUPLICATES_SHOWN):
        patient_register(
            actor=actor,
            details=_someone_else(given_name=f"Resident{n}", phone=shared),
            confirm_not_duplicate=True,
        )
    with pytest.raises(PossibleDuplicateError) as excinfo:
        patient_register(actor=actor, details=patient_details(phone=shared))
    assert len(excinfo.value.candidates) == DUPLICATES_SHOWN and excinfo.value.more
    assert excinfo.value.candidates[0].patient == first
    assert "; and others not listed." in excinfo.value.message_dict["duplicate"][0]
    patient = patient_register(actor=actor, details=patient_details(phone=shared), confirm_not_duplicate=True)
    detail = _create_event(patient).detail
    assert len(detail["confirmed_not_duplicate_of"]) == DUPLICATES_SHOWN and detail["more_not_listed"] is True


def test_name_matches_are_listed_before_phone_matches(actor):
    by_phone = patient_register(actor=actor, details=_someone_else(phone="(555) 201-3344"))
    by_name = patient_register(actor=actor, details=patient_details(phone=""))
    assert by_phone.mrn < by_name.mrn
    found = possible_duplicates(patient_details())
    assert [(d.patient.pk, d.matched_on) for d in found] == [
        (by_name.pk, (MATCH_NAME_AND_BIRTH,)),
        (by_phone.pk, (MATCH_PHONE,)),
    ]


def test_the_check_is_one_query_at_any_registry_size(actor, django_assert_num_queries):
    for n in range(30):
        patient_register(
            actor=actor, details=_someone_else(given_name=f"Given{n}", phone=f"(555) 300-{n:04d}")
        )
    with django_assert_num_queries(1):
        assert possible_duplicates(patient_details()) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_the_check_searches_the_name_and_phone_indexes_and_scans_no_table(actor):
    patient_register(actor=actor, details=patient_details())
    statements: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        possible_duplicates(_someone_else(phone="+1 555 201 3344"))
    [(sql, params)] = statements
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "USING INDEX patient_phone_digits" in plan
    assert "SCAN patients_patient" not in plan, plan


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_person_registered_at_the_same_moment_is_registered_once():
    # The check runs while the MRN sequence is locked (SQLite: IMMEDIATE transactions), so the
    # later registrations see the first one instead of all passing the check together.
    workers = 4
    outcomes: list[str] = []
    start = threading.Barrier(workers)

    def work(n: int) -> None:
        try:
            start.wait()
            patient_register(actor=Actor.command(f"desk-{n}"), details=patient_details())
            outcomes.append("registered")
        except PossibleDuplicateError:
            outcomes.append("refused")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * (workers - 1) + ["registered"]
    assert Patient.objects.count() == 1


# Web form

FORM = {
    "given_name": "Rosa",
    "family_name": "Diaz",
    "date_of_birth": "1986-07-14",
    "sex": "female",
    "phone": "(555) 303-4455",
    "diagnoses": ["F33.2"],
    "primary_diagnosis": "F33.2",
    "weight_kg": "64.2",
}


def _rosa(actor: Actor, **overrides) -> Patient:
    details = patient_details(
        given_name="Rosa", family_name="Diaz", date_of_birth=datetime.date(1986, 7, 14), phone="555 303 4455"
    )
    return patient_register(actor=actor, details={**details, **overrides})


def test_the_form_warns_with_links_and_registers_once_different_person_is_ticked(
    client_as, front_desk, actor
):
    existing = _rosa(actor)
    client = client_as(front_desk)
    url = reverse("patients:create")
    assert 'name="not_duplicate"' not in client.get(url).content.decode()

    refused = client.post(url, FORM)
    html = refused.content.decode()
    assert refused.status_code == 422
    assert '<div role="alert" class="error-box"><p>This may be a patient already registered: ' in html
    assert (
        f"{existing.mrn} Rosa Diaz, born 1986-07-14 (same name and date of birth, same phone number)" in html
    )
    chart = reverse("patients:chart", args=[existing.pk])
    assert f'<a href="{chart}" target="_blank" rel="noopener">{existing.mrn} Rosa Diaz</a>' in html
    assert '<input type="checkbox" name="not_duplicate" id="id_not_duplicate">' in html
    assert "This is a different person: register anyway" in html
    assert f'<input type="hidden" name="duplicates_shown" value="{existing.mrn}"' in html
    assert 'value="Rosa"' in html and 'value="64.2"' in html  # what was typed is kept
    assert Patient.objects.count() == 1
    # the warning showed the other patient: recorded like a search result
    shown = AuditEvent.objects.get(action="view", actor_id=front_desk.pk)
    assert shown.detail == {"list": True, "ids": [existing.pk], "patients": [existing.pk]}

    registered = client.post(url, {**FORM, "not_duplicate": "on", "duplicates_shown": existing.mrn})
    patient = Patient.objects.exclude(pk=existing.pk).get()
    assert registered.status_code == 302
    assert registered["Location"] == reverse("patients:chart", args=[patient.pk])
    assert _create_event(patient).detail == {"confirmed_not_duplicate_of": [existing.mrn]}


def test_a_tick_given_for_the_patients_shown_does_not_cover_one_found_after_an_edit(
    client_as, front_desk, actor
):
    rosa = _rosa(actor, phone="")
    other = patient_register(actor=actor, details=_someone_else(phone="(555) 909-1212"))
    client = client_as(front_desk)
    url = reverse("patients:create")
    first = client.post(url, FORM)
    assert first.status_code == 422 and other.mrn not in first.content.decode()

    edited = {**FORM, "phone": "555-909-1212", "not_duplicate": "on", "duplicates_shown": rosa.mrn}
    second = client.post(url, edited)
    html = second.content.decode()
    assert second.status_code == 422
    assert f"{other.mrn} Maya Lindqvist, born 1992-09-30 (same phone number)" in html
    assert '<input type="checkbox" name="not_duplicate" id="id_not_duplicate">' in html  # unticked
    assert f'name="duplicates_shown" value="{rosa.mrn} {other.mrn}"' in html
    assert Patient.objects.count() == 2

    third = client.post(url, {**edited, "duplicates_shown": f"{rosa.mrn} {other.mrn}"})
    assert third.status_code == 302 and Patient.objects.count() == 3


# API

NEW = {
    "given_name": "Lee",
    "family_name": "Park",
    "date_of_birth": "1991-03-05",
    "sex": "male",
    "phone": "555.303.4455",
    "diagnoses": ["F43.12"],
    "primary_diagnosis": "F43.12",
}


def test_the_api_answers_409_listing_the_candidates_then_201_when_confirmed(client_as, front_desk, actor):
    existing = patient_register(
        actor=actor,
        details=patient_details(
            given_name="Lee",
            family_name="Park",
            date_of_birth=datetime.date(1991, 3, 5),
            phone="(555) 303-4455",
        ),
    )
    client = client_as(front_desk)
    conflict = client.post("/api/v1/patients/", NEW, content_type="application/json")
    assert conflict.status_code == 409
    body = conflict.json()
    assert list(body["errors"]) == ["duplicate"] and existing.mrn in body["errors"]["duplicate"][0]
    assert body["candidates"] == [
        {
            "id": existing.pk,
            "mrn": existing.mrn,
            "name": "Lee Park",
            "date_of_birth": "1991-03-05",
            "matched_on": ["name_and_date_of_birth", "phone"],
        }
    ]
    assert body["more_not_listed"] is False
    assert Patient.objects.count() == 1
    assert AuditEvent.objects.get(action="view", actor_id=front_desk.pk).detail == {
        "list": True,
        "ids": [existing.pk],
        "patients": [existing.pk],
    }

    created = client.post(
        "/api/v1/patients/", {**NEW, "confirm_not_duplicate": True}, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    patient = Patient.objects.get(pk=created.json()["id"])
    assert _create_event(patient).detail == {"confirmed_not_duplicate_of": [existing.mrn]}
    assert "confirm_not_duplicate" not in created.json()


def test_the_schema_documents_the_confirmation_and_the_409(client_as, nurse):
    schema = client_as(nurse).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    post = schema["paths"]["/api/v1/patients/"]["post"]
    request_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    confirm = schema["components"]["schemas"][request_ref]["properties"]["confirm_not_duplicate"]
    assert confirm["type"] == "boolean" and confirm["default"] is False
    conflict_ref = post["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[
        -1
    ]
    conflict = schema["components"]["schemas"][conflict_ref]["properties"]
    assert set(conflict) == {"errors", "candidates", "more_not_listed"}
    patch = schema["paths"]["/api/v1/patients/{id}/"]["patch"]
    patch_ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "confirm_not_duplicate" not in schema["components"]["schemas"][patch_ref]["properties"]
