"""Consent follows the assessment (hazard H-080): a patient signs, in the portal or on paper, only
for a route their current signed candidacy decision makes them eligible for, and only a signature
made since that decision counts, so a new assessment asks for consent again. The database keeps
every document and signature: it refuses their deletion whatever code tries."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from ketacare.patients import selectors, services
from ketacare.patients.models import ConsentDocument, ConsentSignature
from ketacare.screening.selectors import eligible_since
from ketacare.treatment.models import TreatmentPlan
from tests.treatment_helpers import decided_at, make_eligible, portal_actor, sign_consent, start_plan

pytestmark = pytest.mark.django_db

IV, ESK = "iv_ketamine", "esketamine_nasal"
NEXT_WEEK = timezone.localdate() + datetime.timedelta(days=7)


def sign(patient, kind=IV):
    return services.consent_sign(
        actor=portal_actor(patient),
        patient=patient,
        kind=kind,
        version=1,
        typed_name=patient.full_name,
        understood=True,
        decided_at=decided_at(patient, kind),
    )


def paper(nurse_actor, patient, kind=IV, **kw):
    return services.consent_record_paper(
        actor=nurse_actor,
        patient=patient,
        kind=kind,
        version=1,
        typed_name=patient.full_name,
        witnessed=True,
        **{"decided_at": decided_at(patient, kind), **kw},
    )


REFUSED = (
    "No signed candidacy decision makes the patient eligible for {label}: consent is signed after "
    "the consultation that finds the treatment suitable."
)


def test_before_any_decision_neither_the_patient_nor_a_nurse_can_sign_and_nothing_is_written(
    patient, nurse_actor
):
    for record in (lambda: sign(patient), lambda: paper(nurse_actor, patient)):
        with pytest.raises(ValidationError) as err:
            record()
        assert err.value.message_dict == {"kind": [REFUSED.format(label="IV ketamine")]}
    assert not ConsentSignature.objects.exists() and not ConsentDocument.objects.exists()


def test_a_not_eligible_decision_or_one_for_another_route_lets_no_one_sign(patient, doctor, nurse_actor):
    make_eligible(doctor, patient, decision="not_eligible")
    with pytest.raises(ValidationError, match="No signed candidacy decision makes the patient eligible"):
        sign(patient)
    make_eligible(doctor, patient, routes=(IV,))
    with pytest.raises(ValidationError) as err:
        paper(nurse_actor, patient, kind=ESK)
    assert err.value.message_dict == {"kind": [REFUSED.format(label="Esketamine nasal spray")]}
    assert not ConsentSignature.objects.exists()
    assert sign(patient).document.kind == IV  # the route the decision covers


def test_a_paper_signature_dated_before_the_decision_is_refused(patient, doctor, nurse_actor):
    make_eligible(doctor, patient)
    decided = decided_at(patient)
    with pytest.raises(ValidationError) as err:
        paper(nurse_actor, patient, signed_at=decided - datetime.timedelta(days=1))
    on = timezone.localtime(decided)
    assert err.value.message_dict == {
        "signed_at": [
            f"The candidacy decision for IV ketamine was signed on {on:%Y-%m-%d at %H:%M}: a consent "
            "signed before it does not count. The patient signs the current version again."
        ]
    }
    assert not ConsentSignature.objects.exists()


def test_a_new_assessment_asks_for_consent_again_before_a_course_starts(patient, doctor, chair):
    make_eligible(doctor, patient)
    first = sign_consent(patient)
    make_eligible(doctor, patient)  # assessed again: the earlier signature no longer counts
    decided = decided_at(patient)
    check = selectors.consent_for_treatment(patient_id=patient.pk, kind=IV, decided_at=decided)
    assert check.signature is None
    assert check.problem == (
        "The patient signed their consent to IV ketamine before their latest assessment (the decision "
        f"signed on {timezone.localtime(decided):%Y-%m-%d}): they sign the current consent (version 1) "
        "again; they sign it in the portal, or a nurse or physician records their signature on paper."
    )
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, patient, chair, consent=False, start_on=NEXT_WEEK)
    assert err.value.message_dict == {"consent": [check.problem]}
    assert not TreatmentPlan.objects.exists()
    state = selectors.consent_states(patient_id=patient.pk, decided=eligible_since(patient_id=patient.pk))[0]
    assert (state.status, state.before_decision, state.signed) == (
        "signed before the assessment",
        first,
        None,
    )
    again = sign(patient)  # the same version, signed again since the decision
    assert again.pk != first.pk
    assert start_plan(doctor, patient, chair, consent=False, start_on=NEXT_WEEK).status == "active"


def test_nothing_counts_without_a_decision(patient):
    check = selectors.consent_for_treatment(patient_id=patient.pk, kind=IV, decided_at=None)
    assert check.signature is None and "No signed candidacy decision" in check.problem
    assert selectors.consent_in_force(patient_id=patient.pk, kind=IV, decided_at=None) is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("patients_consentdocument", "a published consent document cannot be deleted"),
        ("patients_consentsignature", "a consent signature cannot be deleted"),
    ],
)
def test_the_database_refuses_to_delete_a_consent_document_or_signature(patient, eligible, table, message):
    signature = sign_consent(patient)
    row = signature.pk if table.endswith("signature") else signature.document_id
    # SQL that goes round the ORM (a script, a console): the patients migration's trigger refuses.
    with pytest.raises(DatabaseError, match=message), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row])  # noqa: S608
    assert ConsentSignature.objects.filter(pk=signature.pk).exists()
    assert ConsentDocument.objects.filter(pk=signature.document_id).exists()


def test_a_withdrawal_is_seen_once_by_a_named_member_of_staff_whatever_code_tries(
    patient, eligible, nurse, nurse_actor
):
    signature = sign_consent(patient)
    table = "patients_consentsignature"
    # Not before a withdrawal, and never without saying who.
    for change in (
        f"withdrawal_seen_at = CURRENT_TIMESTAMP, withdrawal_seen_by_id = {nurse.pk}",
        "withdrawal_seen_at = CURRENT_TIMESTAMP",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {change} WHERE id = %s", [signature.pk])  # noqa: S608
    services.consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)
    assert services.consent_withdrawal_acknowledge(actor=nurse_actor, signature=signature) == 1
    seen = ConsentSignature.objects.get(pk=signature.pk)
    assert seen.withdrawal_seen_by == nurse and seen.withdrawal_seen_at is not None
    # Once seen, nothing on it changes again.
    unseen = "withdrawal_seen_at = NULL, withdrawal_seen_by_id = NULL"
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {unseen} WHERE id = %s", [signature.pk])  # noqa: S608
    with pytest.raises(ValidationError, match="already acknowledged"):
        services.consent_withdrawal_acknowledge(actor=nurse_actor, signature=signature)
