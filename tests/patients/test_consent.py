"""Consent documents and signatures: versions per route, the default text as version 1 until the
clinic publishes its own, a signature by the patient's typed name or on paper with a witness,
append only, and a withdrawal recorded once."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.patients import consent, selectors, services
from ketacare.patients.models import ConsentDocument, ConsentImmutableError, ConsentSignature
from ketacare.screening.selectors import eligible_since
from tests.treatment_helpers import decided_at, make_eligible, portal_actor, sign_consent

# The patient is assessed first (a signed decision making them eligible for both routes): consent
# is signed after it (tests/patients/test_consent_decision.py drives the refusals before it).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eligible")]

IV, ESK = "iv_ketamine", "esketamine_nasal"


@pytest.fixture
def admin(clinic_admin):
    return Actor(user=clinic_admin, ip="127.0.0.1", user_agent="pytest")


def publish(admin, kind=IV, title="Consent to IV ketamine", body="## What it is\n\nKetamine, slowly."):
    return services.consent_publish(actor=admin, kind=kind, title=title, body=body)


def sign(patient, kind=IV, version=1, typed_name="Anna Smith", understood=True):
    return services.consent_sign(
        actor=portal_actor(patient),
        patient=patient,
        kind=kind,
        version=version,
        typed_name=typed_name,
        understood=understood,
        decided_at=decided_at(patient, kind),
    )


def paper(nurse_actor, patient, kind=IV, version=1, typed_name="Anna Smith", witnessed=True, **kw):
    return services.consent_record_paper(
        actor=nurse_actor,
        patient=patient,
        kind=kind,
        version=version,
        typed_name=typed_name,
        witnessed=witnessed,
        **{"decided_at": decided_at(patient, kind), **kw},
    )


def test_every_route_a_decision_covers_has_a_default_text_with_what_a_patient_must_know():
    assert [k.code for k in consent.KINDS] == [IV, ESK]
    # Intramuscular ketamine is given under IV ketamine's candidacy, and its consent.
    assert consent.KIND_OF_TREATMENT_ROUTE == {"iv_ketamine": IV, "im_ketamine": IV, "esketamine": ESK}
    for kind in consent.KINDS:
        text = kind.default_body()
        for must in (
            "Dissociation",
            "blood pressure",
            "Nausea",
            "Alternatives",
            "Do not drive",
            "An adult must take you home",
            "withdraw your consent at any time",
            "ask questions at any time",
        ):
            assert must in text, (kind.code, must)
    esketamine = consent.BY_CODE[ESK].default_body()
    assert "monitors you for at least 2 hours after each dose" in esketamine and "REMS" in esketamine


def test_the_default_text_is_version_1_until_it_is_first_signed_then_stored_once(patient, register, doctor):
    shown = selectors.consent_current(IV)
    assert (shown.version, shown.document, shown.title) == (1, None, "Consent to IV ketamine treatment")
    assert not ConsentDocument.objects.exists()
    signature = sign(patient)
    document = ConsentDocument.objects.get()
    assert (document.kind, document.version, document.published_by, document.body) == (
        IV,
        1,
        None,
        consent.BY_CODE[IV].default_body(),
    )
    assert signature.document == document and document.publisher == "KetaCare (the default text)"
    assert document.digest == consent.digest(document.title, document.body)
    other = register(given_name="Ben")
    make_eligible(doctor, other)
    sign(other, typed_name="Ben Smith")
    assert ConsentDocument.objects.count() == 1  # stored once, signed twice
    event = AuditEvent.objects.get(object_type="patients.consentdocument")
    assert event.detail == {"kind": IV, "version": 1, "default_text": True}


def test_publishing_numbers_the_versions_of_each_route_after_the_default_and_the_newest_is_current(admin):
    first = publish(admin)
    second = publish(admin, body="## What it is\n\nKetamine, slowly, over 40 minutes.")
    other = publish(admin, kind=ESK, title="Consent to esketamine", body="The REMS.")
    # Version 1 is KetaCare's default text, which a patient may be reading: the clinic's own
    # first text is version 2, so a version number always names the words read.
    assert [(d.kind, d.version) for d in (first, second, other)] == [(IV, 2), (IV, 3), (ESK, 2)]
    current = selectors.consent_current_documents()
    assert (current[IV].version, current[IV].document, current[ESK].version) == (3, second, 2)
    versions = selectors.consent_versions(IV)
    assert [(v.version, v.published_by) for v in versions] == [(3, admin.user), (2, admin.user), (1, None)]
    assert versions[2].body == consent.BY_CODE[IV].default_body()
    assert AuditEvent.objects.filter(object_type="patients.consentdocument", action="create").count() == 5


def test_a_publication_without_a_title_or_text_or_unchanged_or_by_anyone_else_is_refused(
    admin, doctor, nurse_actor
):
    with pytest.raises(ValidationError) as err:
        services.consent_publish(actor=admin, kind=IV, title="  ", body=" ")
    assert err.value.message_dict == {
        "title": ["Give the document a title."],
        "body": ["Write the document's text."],
    }
    with pytest.raises(ValidationError) as err:
        publish(admin, body="x" * 20_001)
    assert err.value.message_dict == {"body": ["Keep the document under 20,000 characters (20,001 now)."]}
    with pytest.raises(ValidationError) as err:
        publish(admin, kind="ketamine")
    assert list(err.value.message_dict) == ["kind"]
    for someone in (doctor, nurse_actor):
        with pytest.raises(ValidationError, match="Only a clinic admin publishes a consent document."):
            publish(someone)
    default = consent.BY_CODE[IV]
    with pytest.raises(ValidationError) as err:
        publish(admin, title=default.title, body=default.default_body())
    assert err.value.message_dict == {
        "body": ["This is the text of version 1 already: change it to publish a new one."]
    }
    publish(admin)
    with pytest.raises(ValidationError) as err:
        publish(admin)  # the same words again would ask every patient to sign for nothing
    assert err.value.message_dict == {
        "body": ["This is the text of version 2 already: change it to publish a new one."]
    }
    assert ConsentDocument.objects.count() == 2


def test_a_published_version_is_never_changed_or_deleted(admin):
    document = publish(admin)
    document.body = "Something else"
    with pytest.raises(ConsentImmutableError):
        document.save()
    with pytest.raises(ConsentImmutableError):
        ConsentDocument.objects.filter(pk=document.pk).update(body="Something else")
    with pytest.raises(ConsentImmutableError):
        document.delete()
    # Nor by SQL that goes round the ORM: the database's trigger refuses it.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE patients_consentdocument SET body = 'changed' WHERE id = %s", [document.pk])
    assert ConsentDocument.objects.get(pk=document.pk).body == "## What it is\n\nKetamine, slowly."


def test_the_patient_signs_with_their_name_on_record_case_and_spaces_aside(patient):
    signature = sign(patient, typed_name="  anna   SMITH ")
    assert (signature.typed_name, signature.method, signature.witness, signature.withdrawn) == (
        "anna SMITH",
        "portal",
        None,
        False,
    )
    event = AuditEvent.objects.get(object_type="patients.consentsignature")
    assert (event.actor_label, event.patient_id) == (f"system:patient-portal:{patient.mrn}", patient.pk)
    assert event.detail == {"kind": IV, "version": 1, "method": "portal"}  # never the name typed


def test_a_name_that_differs_or_an_unticked_box_is_refused_naming_the_field_and_nothing_is_written(
    patient,
):
    for typed in ("", "Anna", "Anna Smyth", "Smith Anna", "Ana Smith"):
        with pytest.raises(ValidationError) as err:
            sign(patient, typed_name=typed, understood=False)
        assert err.value.message_dict == {
            "understood": ["Tick the box to say you have read and understood the document."],
            "typed_name": [
                "Type your full name as the clinic has it: your first name and last name. If your name "
                "has changed, tell the clinic."
            ],
        }
    assert not ConsentSignature.objects.exists() and not ConsentDocument.objects.exists()
    assert not AuditEvent.objects.filter(object_type__startswith="patients.consent").exists()


def test_a_version_published_while_the_patient_read_the_old_one_is_not_signed_unread(patient, admin):
    shown = selectors.consent_current(IV)  # the patient opens KetaCare's default text, version 1
    publish(admin)
    with pytest.raises(ValidationError) as err:
        sign(patient, version=shown.version)
    assert err.value.message_dict == {
        "version": [
            "Version 2 of the IV ketamine consent was published after version 1 was opened: read "
            "version 2, then sign it."
        ]
    }
    assert not ConsentSignature.objects.exists()
    assert sign(patient, version=2).document.body == "## What it is\n\nKetamine, slowly."


def test_the_same_version_is_signed_once_until_withdrawn(patient):
    sign(patient)
    with pytest.raises(ValidationError) as err:
        sign(patient)
    assert err.value.message_dict == {
        "kind": ["Version 1 of this consent is already signed, and still stands."]
    }
    assert ConsentSignature.objects.count() == 1


def test_a_paper_signature_names_its_witness_and_is_neither_in_the_future_nor_before_its_version(
    patient, nurse, nurse_actor, admin
):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    assessed = yesterday - datetime.timedelta(hours=1)  # the decision, as the caller reads it
    # The default text was on the consent page to print before it was first stored.
    signature = paper(nurse_actor, patient, signed_at=yesterday, decided_at=assessed)
    assert (signature.method, signature.witness, signature.signed_at) == ("paper", nurse, yesterday)
    document = publish(admin, body="New words.")
    errors = {
        "signed_at": [
            f"Version 2 was published on {timezone.localtime(document.published_at):%Y-%m-%d at %H:%M}: "
            "it cannot have been signed before then."
        ]
    }
    with pytest.raises(ValidationError) as err:
        paper(nurse_actor, patient, version=2, signed_at=yesterday, decided_at=assessed)
    assert err.value.message_dict == errors
    with pytest.raises(ValidationError) as err:
        paper(
            nurse_actor,
            patient,
            version=2,
            typed_name="A. Smith",
            witnessed=False,
            signed_at=timezone.now() + datetime.timedelta(hours=1),
        )
    assert err.value.message_dict == {
        "witnessed": ["Tick to confirm that you saw the patient sign this version of the document."],
        "typed_name": [
            "The name signed must be the patient's name on record, Anna Smith (case and spaces aside). "
            "If their name has changed, correct their details first."
        ],
        "signed_at": ["A signature cannot be in the future."],
    }
    assert ConsentSignature.objects.count() == 1


def test_only_a_nurse_or_a_physician_records_a_paper_signature(patient, actor, admin, doctor):
    for someone in (actor, admin, portal_actor(patient)):  # the front desk, the clinic admin, the patient
        with pytest.raises(ValidationError, match="Only a nurse or a physician records a paper consent"):
            paper(someone, patient)
    assert not ConsentSignature.objects.exists()
    assert paper(doctor, patient).witness == doctor.user


def test_a_withdrawal_marks_every_standing_signature_of_the_route_once_and_is_audited(
    patient, nurse, nurse_actor, admin
):
    old = sign(patient)
    publish(admin, body="New words.")
    new = sign(patient, version=2)
    other_route = sign(patient, kind=ESK, typed_name="Anna Smith")
    withdrawn = services.consent_withdraw(
        actor=nurse_actor, signature=new, reason="  Told me by phone:  no reason given "
    )
    assert withdrawn.withdrawn and withdrawn.withdrawn_how == "staff" and withdrawn.withdrawn_by == nurse
    rows = {s.pk: s for s in ConsentSignature.objects.all()}
    assert rows[old.pk].withdrawn_at == rows[new.pk].withdrawn_at is not None
    assert rows[old.pk].withdrawn_reason == "Told me by phone: no reason given"
    assert not rows[other_route.pk].withdrawn  # consent to the other route stands
    # What was signed is untouched.
    assert (rows[new.pk].typed_name, rows[new.pk].signed_at, rows[new.pk].method) == (
        new.typed_name,
        new.signed_at,
        "portal",
    )
    events = AuditEvent.objects.filter(object_type="patients.consentsignature", action="update")
    assert sorted(int(e.object_id) for e in events) == sorted([old.pk, new.pk])
    assert events[0].detail == {
        "fields": ["withdrawn_at", "withdrawn_by", "withdrawn_how", "withdrawn_reason"],
        "kind": IV,
        "withdrawn_how": "staff",
    }
    with pytest.raises(ValidationError) as err:
        services.consent_withdraw(actor=portal_actor(patient), signature=old, by_patient=True)
    assert err.value.message_dict == {"signature": ["This consent is already withdrawn."]}
    # Signing again is a new signature: the withdrawn ones stay as they were.
    again = sign(patient, version=2)
    assert again.pk not in rows and ConsentSignature.objects.filter(withdrawn_at__isnull=False).count() == 2


def test_the_patient_withdraws_without_a_reason_and_staff_must_say_how(patient, nurse_actor, front_desk):
    signature = sign(patient)
    with pytest.raises(ValidationError) as err:
        services.consent_withdraw(actor=nurse_actor, signature=signature, reason=" ")
    assert err.value.message_dict == {
        "reason": [
            "Say how the patient withdrew and why, if they said (for example: by phone, no reason given)."
        ]
    }
    with pytest.raises(ValidationError, match="Only a nurse or a physician records a withdrawal"):
        services.consent_withdraw(
            actor=Actor(user=front_desk), signature=signature, reason="Asked at the desk"
        )
    assert not ConsentSignature.objects.get().withdrawn
    withdrawn = services.consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)
    assert (withdrawn.withdrawn_how, withdrawn.withdrawn_by, withdrawn.withdrawn_reason) == (
        "portal",
        None,
        "",
    )


def test_a_signature_is_never_changed_or_deleted_and_its_withdrawal_is_written_once(patient):
    signature = sign(patient)
    signature.typed_name = "Someone Else"
    with pytest.raises(ConsentImmutableError):
        signature.save()
    with pytest.raises(ConsentImmutableError):
        ConsentSignature.objects.filter(pk=signature.pk).update(typed_name="Someone Else")
    with pytest.raises(ConsentImmutableError):
        signature.delete()
    with pytest.raises(ConsentImmutableError):
        ConsentSignature.objects.all().delete()
    table = "patients_consentsignature"
    # Nor by SQL that goes round the ORM: the database's trigger refuses any change but a first
    # withdrawal.
    for change in (
        "typed_name = 'Someone Else'",
        "signed_at = '2001-02-03 04:05:06'",
        "patient_id = patient_id + 1",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {change} WHERE id = %s", [signature.pk])  # noqa: S608
    services.consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)
    # Once withdrawn, not even the withdrawal changes again, whatever code tries.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET withdrawn_reason = 'later' WHERE id = %s", [signature.pk])  # noqa: S608
    assert ConsentSignature.objects.get().typed_name == "Anna Smith"


def test_states_say_signed_earlier_version_withdrawn_or_not_signed_in_two_queries(
    patient, admin, django_assert_num_queries
):
    sign_consent(patient, ESK)
    sign(patient)
    publish(admin, body="New words.")
    services.consent_withdraw(
        actor=portal_actor(patient),
        signature=ConsentSignature.objects.get(document__kind=ESK),
        by_patient=True,
    )
    decided = eligible_since(patient_id=patient.pk)
    with django_assert_num_queries(2):
        states = selectors.consent_states(patient_id=patient.pk, decided=decided)
    iv, esk = states
    assert (iv.status, iv.current.version, iv.earlier.document.version, iv.signed) == (
        "earlier version",
        2,
        1,
        None,
    )
    assert (esk.status, esk.withdrawn.withdrawn_how) == ("withdrawn", "portal")
    sign(patient, version=2)
    iv = selectors.consent_states(patient_id=patient.pk, decided=eligible_since(patient_id=patient.pk))[0]
    assert iv.status == "signed" and iv.signed.document.version == 2
    assert [selectors.is_current(s, [iv]) for s in iv.signatures] == [True, False]
