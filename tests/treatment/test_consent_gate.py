"""The plan's consent gate: a course by a route starts only when the patient has signed the
current version of that route's consent and not withdrawn it (hazard H-080). Every refusal names
the `consent` field, says which version is missing, and writes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.patients import services as patients
from ketacare.patients.models import ConsentSignature
from ketacare.treatment.models import Appointment, TreatmentPlan
from tests.treatment_helpers import decided_at, portal_actor, sign_consent, start_plan

pytestmark = pytest.mark.django_db

NEXT_WEEK = timezone.localdate() + datetime.timedelta(days=7)


def refused(doctor, patient, chair, **kw) -> dict[str, list[str]]:
    """The refusal's errors; nothing of a plan is written, nor audited."""
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, patient, chair, consent=False, start_on=NEXT_WEEK, **kw)
    assert not TreatmentPlan.objects.exists() and not Appointment.objects.exists()
    assert AuditEvent.objects.count() == events
    return err.value.message_dict


@pytest.fixture
def admin(clinic_admin):
    return Actor(user=clinic_admin)


def test_without_consent_the_course_is_refused_and_nothing_is_written(doctor, patient, eligible, chair):
    assert refused(doctor, patient, chair) == {
        "consent": [
            "The patient has not signed the current consent for IV ketamine, version 1: they sign it in "
            "the portal, or a nurse or physician records their signature on paper."
        ]
    }


def test_consent_to_the_other_route_does_not_start_a_course(doctor, patient, eligible, chair):
    sign_consent(patient, "esketamine_nasal")
    assert list(refused(doctor, patient, chair)) == ["consent"]
    sign_consent(patient, "iv_ketamine")
    assert list(refused(doctor, patient, chair, protocol="im_ketamine")) == ["protocol"]  # disabled
    plan = start_plan(doctor, patient, chair, protocol="esketamine_nasal", consent=False, start_on=NEXT_WEEK)
    assert plan.route == "esketamine"


def test_an_old_version_signed_before_a_new_one_was_published_does_not_start_a_course(
    doctor, patient, eligible, chair, admin
):
    sign_consent(patient)
    patients.consent_publish(
        actor=admin, kind="iv_ketamine", title="Consent to IV ketamine", body="Revised: new risks named."
    )
    assert refused(doctor, patient, chair) == {
        "consent": [
            "The patient has not signed the current consent for IV ketamine, version 2 (they signed "
            "version 1, since replaced): they sign it in the portal, or a nurse or physician records "
            "their signature on paper."
        ]
    }
    sign_consent(patient)
    assert start_plan(doctor, patient, chair, consent=False, start_on=NEXT_WEEK).route == "iv_ketamine"


def test_a_withdrawn_consent_does_not_start_a_course(doctor, patient, eligible, chair):
    signature = sign_consent(patient)
    patients.consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)
    day = timezone.localtime(ConsentSignature.objects.get().withdrawn_at)
    assert refused(doctor, patient, chair) == {
        "consent": [
            f"The patient withdrew their consent to IV ketamine on {day:%Y-%m-%d}: a course starts only "
            "after they sign the current consent (version 1) again."
        ]
    }


def test_the_current_version_signed_starts_the_course_under_that_signature(doctor, patient, eligible, chair):
    signature = sign_consent(patient)
    plan = start_plan(doctor, patient, chair, consent=False, start_on=NEXT_WEEK)
    assert plan.appointments.count() == 6
    event = AuditEvent.objects.get(object_type="treatment.treatmentplan", action="create")
    assert event.detail["consent"] == signature.pk


def test_a_paper_signature_witnessed_by_a_nurse_starts_a_course_too(
    doctor, nurse_actor, patient, eligible, chair
):
    patients.consent_record_paper(
        actor=nurse_actor,
        patient=patient,
        kind="iv_ketamine",
        version=1,
        typed_name="Anna Smith",
        witnessed=True,
        decided_at=decided_at(patient),
    )
    assert start_plan(doctor, patient, chair, consent=False, start_on=NEXT_WEEK).status == "active"


def test_every_refusal_is_given_at_once_with_the_consent(doctor, patient, eligible, chair):
    from decimal import Decimal

    errors = refused(doctor, patient, chair, dose_mg_per_kg=Decimal("1.4"))
    assert sorted(errors) == ["consent", "dose_mg_per_kg"]
