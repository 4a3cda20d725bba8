import pytest
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import BodyMeasurement, Patient

pytestmark = pytest.mark.django_db

FORM = {
    "given_name": "Rosa",
    "family_name": "Diaz",
    "date_of_birth": "1986-07-14",
    "sex": "female",
    "phone": "(555) 303-4455",
    "email": "",
    "diagnoses": ["F33.2", "F41.1"],
    "primary_diagnosis": "F33.2",
    "weight_kg": "64.2",
    "height_cm": "160",
    "emergency_contact_name": "Luis Diaz",
    "emergency_contact_phone": "(555) 303-0000",
}


def test_front_desk_registers_a_patient_and_lands_on_the_chart(client_as, front_desk):
    response = client_as(front_desk).post(reverse("patients:create"), FORM)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:chart", args=[patient.pk])
    chart = client_as(front_desk).get(response["Location"])
    assert chart.status_code == 200
    assert patient.mrn in chart.content.decode()
    assert "BMI <strong>25.1</strong>" in chart.content.decode()


def test_invalid_field_keeps_the_input_names_the_field_and_saves_nothing(client_as, front_desk):
    response = client_as(front_desk).post(reverse("patients:create"), {**FORM, "weight_kg": "700"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "Weight must be at most 350" in html
    assert 'id="id_weight_kg_error"' in html
    assert 'value="Rosa"' in html
    assert Patient.objects.count() == 0
    assert not AuditEvent.objects.filter(action="create").exclude(object_type="accounts.user").exists()


def test_missing_required_fields_are_each_named(client_as, front_desk):
    response = client_as(front_desk).post(reverse("patients:create"), {})
    html = response.content.decode()
    assert response.status_code == 422
    for message in (
        "given (first) name",
        "family (last) name",
        "Enter the date of birth",
        "Choose the patient",
    ):
        assert message in html


def test_opening_a_chart_is_audited_as_a_view(client_as, nurse, register):
    patient = register()
    client_as(nurse).get(reverse("patients:chart", args=[patient.pk]))
    event = AuditEvent.objects.filter(action="view").get()
    assert (event.actor_id, event.patient_id, event.object_type) == (nurse.pk, patient.pk, "patients.patient")


def test_unknown_patient_is_404(client_as, nurse):
    assert client_as(nurse).get(reverse("patients:chart", args=[999999])).status_code == 404


def test_htmx_measurement_returns_the_fragment(client_as, nurse, register):
    patient = register(weight_kg=None, height_cm=None)
    url = reverse("patients:measurement-add", args=[patient.pk])
    response = client_as(nurse).post(url, {"weight_kg": "81.0", "height_cm": ""}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "81.0 kg" in html
    bad = client_as(nurse).post(url, {"weight_kg": "181 lb"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    assert "Enter the weight as a number of kilograms" in bad.content.decode()
    assert BodyMeasurement.objects.filter(patient=patient).count() == 1


def test_htmx_search_returns_only_the_results(client_as, front_desk, register):
    register()
    response = client_as(front_desk).get(
        reverse("patients:list"), {"q": "smi"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    html = response.content.decode()
    assert "<html" not in html and "Smith, Anna" in html and "1 patient matches “" in html


def test_edit_form_saves_and_shows_message(client_as, physician, register):
    patient = register()
    url = reverse("patients:edit", args=[patient.pk])
    page = client_as(physician).get(url)
    assert page.status_code == 200 and 'value="Anna"' in page.content.decode()
    data = {
        **FORM,
        "given_name": "Anne",
        "family_name": "Smith",
        "diagnoses": ["F33.1"],
        "primary_diagnosis": "F33.1",
    }
    response = client_as(physician).post(url, data, follow=True)
    assert "Changes saved." in response.content.decode()
    patient.refresh_from_db()
    assert patient.given_name == "Anne"


def test_patient_list_query_count_is_flat(client_as, front_desk, register, django_assert_max_num_queries):
    for i in range(30):
        register(given_name=f"Given{i}", family_name=f"Family{i}")
    client = client_as(front_desk)
    client.get(reverse("patients:list"))  # the first request renews the idle window (a session write)
    # session, user, user and group permissions, page, primary diagnoses, and the audit event
    # (lock chain head, insert, move head: five statements with the test's savepoint)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert "All patients, by family name: 1–25." in response.content.decode()
    for i in range(30, 60):
        register(given_name=f"Given{i}", family_name=f"Family{i}")
    with django_assert_max_num_queries(11):
        client.get(reverse("patients:list"), {"page": 2})


def test_a_search_result_page_is_audited_once_with_the_ids_shown(client_as, nurse, register):
    shown = [register(given_name="Ana", family_name=f"Smith{i}").pk for i in range(3)]
    register(given_name="Zed", family_name="Other")
    client_as(nurse).get(reverse("patients:list"), {"q": "smith"})
    event = AuditEvent.objects.get(action="view", actor_id=nurse.pk)
    assert event.detail == {"list": True, "ids": shown, "patients": sorted(shown)}


def test_chart_page_query_count_is_flat_as_history_grows(client_as, nurse, register, actor):
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ketacare.patients.services import allergy_record, measurement_record

    patient = register()
    client = client_as(nurse)
    url = reverse("patients:chart", args=[patient.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    from ketacare.measures.services import response_record

    for i in range(40):
        measurement_record(actor=actor, patient=patient, weight_kg=Decimal(60 + i), height_cm=Decimal(170))
        allergy_record(actor=actor, patient=patient, substance=f"Substance {i}")
        response_record(
            actor=actor, patient=patient, instrument="phq9", answers=[i % 4] * 8 + [0], context="follow_up"
        )
        response_record(actor=actor, patient=patient, instrument="gad7", answers=[1] * 7, context="follow_up")
    from ketacare.outcomes.services import catch_up

    catch_up()  # the scores' outcome marks, caught up as the timer would: the chart reads only
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert response.status_code == 200
    assert "<svg" in response.content.decode()
    # patient record (session, user, the second factor's device, chart, audit; permissions come
    # from the cache), the consent's two (the current documents, the patient's signatures), the
    # candidacy panel's three reads (latest referral, latest consultation, current decision), the
    # measures panel's three (latest responses, open alerts, live self-report links) and the
    # treatment panel's two (plans with their next appointment, sessions), the documents shared
    # with the patient in the portal (one). A history longer than
    # the responses listed adds one read for the plot (all its scores); a shorter one is drawn
    # from the list. The treatment times and whether there are outcomes to show come from the
    # sessions listed (none here: no outcome panel). The consents count from the patient's
    # current decision: one read.
    assert len(large.captured_queries) == len(small.captured_queries) + 1 <= 25


def test_a_short_history_is_drawn_from_the_responses_listed(client_as, nurse, register, actor):
    """The chart lists the newest responses; when that list holds all of them, the plot is drawn
    from it: the same points as a separate read of every score would give."""
    from ketacare.measures import selectors
    from ketacare.measures.services import response_record

    patient = register()
    for i in range(3):
        response_record(
            actor=actor, patient=patient, instrument="phq9", answers=[i] * 8 + [0], context="follow_up"
        )
    response_record(actor=actor, patient=patient, instrument="madrs", answers=[2] * 10, context="follow_up")
    listed = selectors.responses_page(patient_id=patient.pk, size=26)
    drawn = selectors.trajectories(patient_id=patient.pk, rows=selectors.score_rows(listed))
    read = selectors.trajectories(patient_id=patient.pk)
    assert drawn == read
    assert sorted(t.instrument for t in read) == ["madrs", "phq9"]
    assert [len(t.points) for t in read if t.instrument == "phq9"] == [3]
    html = client_as(nurse).get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "<svg" in html


def test_all_errors_show_on_the_first_submit(client_as, front_desk):
    data = {**FORM, "sex": "", "date_of_birth": "2090-01-01", "phone": "call me"}
    response = client_as(front_desk).post(reverse("patients:create"), data)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Choose the patient" in html
    assert "Date of birth cannot be in the future." in html
    assert "Enter a phone number of 7 to 20 digits" in html
    assert Patient.objects.count() == 0


def test_a_name_over_the_limit_is_refused_beside_the_field_not_cut(client_as, front_desk):
    client = client_as(front_desk)
    form = client.get(reverse("patients:create")).content.decode()
    assert "maxlength" not in form  # a browser would cut a pasted name silently
    response = client.post(reverse("patients:create"), {**FORM, "family_name": "D" * 300})
    html = response.content.decode()
    assert response.status_code == 422
    assert "at most 100 characters (it has 300)" in html
    assert Patient.objects.count() == 0


def test_a_page_number_past_any_registry_shows_the_first_page_not_an_error(client_as, nurse, register):
    register(given_name="Ada", family_name="Lovelace")
    client = client_as(nurse)
    for page in ("99999999999999999999", "-5", "1e9"):
        response = client.get("/patients/", {"page": page})
        assert response.status_code == 200, page
        assert "Lovelace" in response.content.decode()
    found = client.get("/patients/", {"q": "Lovelace", "page": "99999999999999999999"})
    assert found.status_code == 200 and "Lovelace" in found.content.decode()
