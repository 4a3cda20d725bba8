import datetime

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.measures import services
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert, SelfReportLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(register):
    return register()


def test_positive_item_9_stores_the_response_and_one_urgent_alert_together(actor, patient):
    response = services.response_record(
        actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [1], context="follow_up"
    )
    alert = SafetyAlert.objects.get()
    assert (response.total, response.band, response.flags) == (1, "minimal", ["suicidal_ideation"])
    assert (alert.response_id, alert.priority, alert.flags) == (response.pk, 1, ["suicidal_ideation"])
    assert alert.is_open
    events = AuditEvent.objects.filter(action="create", patient_id=patient.pk).values_list(
        "object_type", flat=True
    )
    assert {"measures.questionnaireresponse", "measures.safetyalert"} <= set(events)


def test_severe_band_raises_a_follow_up_alert_and_a_clean_form_none(actor, patient):
    services.response_record(
        actor=actor, patient=patient, instrument="gad7", answers=[3] * 7, context="baseline"
    )
    assert SafetyAlert.objects.get().priority == SafetyAlert.Priority.FOLLOW_UP
    services.response_record(
        actor=actor, patient=patient, instrument="gad7", answers=[1] * 7, context="baseline"
    )
    assert SafetyAlert.objects.count() == 1


def test_answers_are_stored_as_given_with_the_score_of_the_day(actor, patient):
    response = services.response_record(
        actor=actor,
        patient=patient,
        instrument="epds",
        answers=[0, 0, 3, 0, 3, 3, 3, 3, 3, 3],
        context="baseline",
    )
    response.refresh_from_db()
    assert response.answers == [0, 0, 3, 0, 3, 3, 3, 3, 3, 3]
    assert response.item_scores == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert (response.total, response.complete) == (0, True)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"instrument": "phq9", "answers": [1, 2]}, "answers", "phq9 takes 9 or 10 answers, got 2"),
        ({"instrument": "phq9", "answers": [0] * 8 + [7]}, "answers", "item 9: answer 7 is out of range 0-3"),
        ({"instrument": "phq99", "answers": [0]}, "instrument", "unknown scale"),
        ({"instrument": "phq9", "answers": [0] * 9, "context": "lunch"}, "context", "not a context"),
        (
            {"instrument": "phq9", "answers": [0] * 9, "minutes_after_dose": 40},
            "minutes_after_dose",
            "post-session",
        ),
    ],
)
def test_invalid_input_names_the_field_and_stores_nothing(actor, patient, kwargs, field, message):
    kwargs = {"context": "follow_up", **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        services.response_record(actor=actor, patient=patient, **kwargs)
    assert message in " ".join(excinfo.value.message_dict[field])
    assert QuestionnaireResponse.objects.count() == 0
    assert SafetyAlert.objects.count() == 0


def test_a_rating_dated_in_the_future_is_refused(actor, patient):
    with pytest.raises(ValidationError) as excinfo:
        services.response_record(
            actor=actor,
            patient=patient,
            instrument="gad7",
            answers=[0] * 7,
            context="follow_up",
            administered_at=timezone.now() + datetime.timedelta(hours=2),
        )
    assert "future" in excinfo.value.message_dict["administered_at"][0]


def test_acknowledgement_needs_a_note_and_happens_once(actor, patient, physician):
    from ketacare.audit.context import Actor

    services.response_record(
        actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [2], context="follow_up"
    )
    alert = SafetyAlert.objects.get()
    doctor = Actor(user=physician)
    with pytest.raises(ValidationError) as excinfo:
        services.alert_acknowledge(actor=doctor, alert=alert, note="   ")
    assert "Write what was done" in excinfo.value.message_dict["note"][0]
    assert SafetyAlert.objects.get().is_open
    services.alert_acknowledge(actor=doctor, alert=alert, note="Called; safety plan reviewed; seen tomorrow.")
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledgement_note) == (
        physician,
        "Called; safety plan reviewed; seen tomorrow.",
    )
    with pytest.raises(ValidationError) as excinfo:
        services.alert_acknowledge(actor=actor, alert=alert, note="again")
    assert f"Already acknowledged by {physician.username}" in excinfo.value.message_dict["note"][0]
    assert AuditEvent.objects.filter(object_type="measures.safetyalert", action="update").count() == 1


# --- self-report links --------------------------------------------------------------------------


def test_link_opens_once_and_submitting_records_a_patient_response(actor, patient):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    assert services.self_report_link_open(token).pk == link.pk
    assert link.expires_at - link.created_at == datetime.timedelta(hours=72)
    done = services.self_report_submit(token=token, answers=[1] * 9, ip="10.0.0.9", user_agent="phone")
    assert done.show_crisis_resources is True
    assert (done.response.source, done.response.entered_by) == ("patient_link", None)
    link.refresh_from_db()
    assert (link.response_id, link.used_at is not None) == (done.response.pk, True)
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.self_report_submit(token=token, answers=[0] * 9, ip=None, user_agent="")
    assert excinfo.value.code == "used"
    assert QuestionnaireResponse.objects.count() == 1


def test_expired_link_stores_nothing(actor, patient, settings):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    SelfReportLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.self_report_submit(token=token, answers=[0] * 7, ip=None, user_agent="")
    assert excinfo.value.code == "expired"
    assert QuestionnaireResponse.objects.count() == 0


def test_a_token_changed_by_one_character_opens_nothing(actor, patient):
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.self_report_link_open(tampered)
    assert excinfo.value.code == "invalid"


def test_a_signed_token_naming_a_link_opens_nothing(actor, patient, register):
    """The old token shape (a signed payload naming link and patient) is no key any more: such a
    link is shown as expired, and nothing is stored."""
    other = register(given_name="Other", family_name="Person")
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    forged = signing.dumps({"l": link.pk, "p": other.pk, "n": "x" * 32}, salt="ketacare.measures.self-report")
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.self_report_submit(token=forged, answers=[0] * 7, ip=None, user_agent="")
    assert excinfo.value.code == "expired"
    assert QuestionnaireResponse.objects.count() == 0


def test_clinician_rated_scales_cannot_be_sent_to_patients(actor, patient):
    with pytest.raises(ValidationError) as excinfo:
        services.self_report_link_create(actor=actor, patient=patient, instrument="madrs")
    assert "rated by a clinician" in excinfo.value.message_dict["instrument"][0]
    assert SelfReportLink.objects.count() == 0
