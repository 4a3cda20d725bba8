"""Other systems' API tokens: made by the clinic admin, shown once, kept as a digest; the role's
permissions, narrowed to reading by the read scope; every read a disclosure to the system;
revoked for good."""

from __future__ import annotations

import pytest

from ketacare.accounts.models import ApiToken, User
from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditEvent
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from ketacare.patients.models import Patient

pytestmark = pytest.mark.django_db

POSITIVE_ITEM_9 = [1, 1, 1, 1, 1, 1, 1, 1, 2]


def test_the_clinic_admin_makes_a_token_shown_once_and_kept_only_as_its_digest(client_as, clinic_admin):
    client = client_as(clinic_admin)
    page = client.post(
        "/accounts/api-tokens/",
        {"system": "payer-portal", "description": "Acme payer portal", "role": "nurse", "scope": "read"},
    )
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    secret = page.context["secret"]
    assert secret.startswith("kc_") and secret in page.content.decode()
    token = ApiToken.objects.get(system="payer-portal")
    assert (token.role, token.scope, token.created_by) == ("nurse", "read", clinic_admin)
    assert secret not in (token.digest, token.prefix) and len(token.digest) == 64
    # The list shows the token, never its secret again.
    listed = client.get("/accounts/api-tokens/").content.decode()
    assert "payer-portal" in listed and secret not in listed
    event = AuditEvent.objects.get(object_type="accounts.apitoken")
    assert event.detail["system"] == "payer-portal" and secret not in str(event.detail)
    # The system's account cannot sign in to the pages, and is no member of staff.
    account = token.account
    assert not account.has_usable_password() and account.groups.count() == 0
    assert "api.payer-portal" not in client.get("/accounts/staff/").content.decode()


def test_a_name_taken_is_refused_naming_the_field_and_nothing_is_made(client_as, clinic_admin, make_token):
    make_token(system="registry")
    response = client_as(clinic_admin).post(
        "/accounts/api-tokens/", {"system": "registry", "role": "nurse", "scope": "read"}
    )
    assert response.status_code == 422
    assert "taken" in response.context["form"].errors["system"][0]
    bad = client_as(clinic_admin).post(
        "/accounts/api-tokens/", {"system": "Has Spaces", "role": "", "scope": "x"}
    )
    assert bad.status_code == 422 and set(bad.context["form"].errors) == {"system", "role", "scope"}
    assert ApiToken.objects.count() == 1 and not User.objects.filter(username="api.Has Spaces").exists()


def test_only_the_clinic_admin_manages_tokens(client_as, nurse, physician, make_token):
    token, _ = make_token()
    for user in (nurse, physician):
        client = client_as(user)
        assert client.get("/accounts/api-tokens/").status_code == 403
        assert (
            client.post(
                "/accounts/api-tokens/", {"system": "x", "role": "nurse", "scope": "read"}
            ).status_code
            == 403
        )
        assert client.post(f"/accounts/api-tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


def test_a_token_reads_with_its_roles_permissions(system_client, patient):
    nurse = system_client(role=Role.NURSE)
    assert nurse.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert nurse.get("/api/v1/responses/").status_code == 200
    front_desk = system_client(role=Role.FRONT_DESK)
    assert front_desk.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert front_desk.get("/api/v1/responses/").status_code == 403  # scores are clinical
    admin = system_client(role=Role.CLINIC_ADMIN)
    assert admin.get("/api/v1/outcomes/").status_code == 200
    assert admin.get(f"/api/v1/patients/{patient.pk}/").status_code == 403  # no charts


def test_a_read_only_token_cannot_write_whatever_its_role(system_client, patient):
    client = system_client(role=Role.PHYSICIAN, scope="read")
    response = client.post(
        "/api/v1/responses/",
        {"patient": patient.pk, "instrument": "phq9", "answers": POSITIVE_ITEM_9, "context": "follow_up"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "read only" in response.json()["errors"]["non_field_errors"][0]
    patch = client.patch(f"/api/v1/patients/{patient.pk}/", {"city": "Reno"}, content_type="application/json")
    assert patch.status_code == 403
    assert QuestionnaireResponse.objects.count() == 0 and Patient.objects.get().city != "Reno"


def test_a_read_write_token_records_a_score_that_raises_its_alert_as_the_system(system_client, patient):
    client = system_client(role=Role.NURSE, scope="read_write", system="prom-app")
    response = client.post(
        "/api/v1/responses/",
        {"patient": patient.pk, "instrument": "phq9", "answers": POSITIVE_ITEM_9, "context": "follow_up"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["total"] == 10 and "suicidal_ideation" in body["flags"] and body["source"] == "system"
    alert = SafetyAlert.objects.get()
    assert body["alert"] == alert.pk and alert.priority == SafetyAlert.Priority.URGENT
    assert QuestionnaireResponse.objects.get().entered_by.username == "api.prom-app"
    created = AuditEvent.objects.filter(action="create", object_type="measures.questionnaireresponse").get()
    assert created.actor_label == "api.prom-app"


def test_no_token_a_wrong_one_or_a_malformed_header_is_401(client, make_token, patient):
    _, secret = make_token()
    for header in (
        "",
        "Bearer kc_nothing_here",
        f"Bearer {secret}x",
        "Bearer",
        f"Bearer {secret} extra",
        "Bearer ünï",
    ):
        response = (
            client.get("/api/v1/patients/", HTTP_AUTHORIZATION=header)
            if header
            else client.get("/api/v1/patients/")
        )
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == 'Bearer realm="KetaCare API"'
        assert "errors" in response.json()


def test_a_revoked_token_is_refused_from_the_next_request(client_as, clinic_admin, make_token, patient):
    token, secret = make_token(role=Role.NURSE)
    system = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    admin = client_as(clinic_admin)
    assert admin.get("/api/v1/referrals/", **system).status_code == 200  # the token wins over the session
    assert admin.post(f"/accounts/api-tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == clinic_admin and not token.account.is_active
    from django.test import Client

    assert Client().get("/api/v1/referrals/", **system).status_code == 401
    assert AuditEvent.objects.filter(object_type="accounts.apitoken", detail__revoked=True).count() == 1
    # A system's account is not a member of staff: not switched back on from the staff pages.
    assert admin.get(f"/accounts/staff/{token.account.pk}/").status_code == 404
    again = admin.post(f"/accounts/staff/{token.account.pk}/switch-on/")
    assert again.status_code == 404
    token.account.refresh_from_db()
    assert not token.account.is_active


def test_every_read_by_a_system_is_a_disclosure_on_the_patients_page(
    system_client, client_as, nurse, patient
):
    from ketacare.audit.context import Actor
    from ketacare.measures.services import response_record

    response_record(
        actor=Actor(user=nurse), patient=patient, instrument="gad7", answers=[1] * 7, context="baseline"
    )
    client = system_client(role=Role.NURSE, system="registry", description="State outcomes registry")
    assert client.get("/api/v1/responses/", {"patient": patient.pk}).status_code == 200
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    events = AuditEvent.objects.filter(detail__has_key="disclosure").order_by("seq")
    assert [e.detail["to"] for e in events] == ["State outcomes registry (registry)"] * 2
    assert events[0].detail["disclosure"] == "REST API: questionnaire responses (a list)"
    page = client_as(nurse).get(f"/patients/{patient.pk}/disclosures/").content.decode()
    assert page.count("State outcomes registry (registry)") == 2
    # Staff reading the same through their session disclose nothing.
    client_as(nurse).get("/api/v1/responses/", {"patient": patient.pk})
    assert AuditEvent.objects.filter(detail__has_key="disclosure").count() == 2


def test_last_use_is_noted_to_the_minute(make_token, client, patient):
    token, secret = make_token()
    assert token.last_used_at is None
    client.get("/api/v1/referrals/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/referrals/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    token.refresh_from_db()
    assert token.last_used_at == first


def test_no_token_acknowledges_a_suicide_alert_whatever_its_role(system_client, nurse, patient):
    from ketacare.audit.context import Actor
    from ketacare.measures.services import response_record

    response_record(
        actor=Actor(user=nurse),
        patient=patient,
        instrument="phq9",
        answers=POSITIVE_ITEM_9,
        context="follow_up",
    )
    alert = SafetyAlert.objects.get()
    for role in (Role.PHYSICIAN, Role.NURSE):
        client = system_client(role=role, scope="read_write")
        refused = client.post(
            f"/api/v1/alerts/{alert.pk}/acknowledge/",
            {"note": "Auto-closed"},
            content_type="application/json",
        )
        assert (
            refused.status_code == 403 and "Only a person" in refused.json()["errors"]["non_field_errors"][0]
        )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None  # still on every clinician's list


def test_what_a_write_answers_is_audited_and_an_empty_change_is_refused(system_client, patient):
    client = system_client(role=Role.FRONT_DESK, scope="read_write", system="crm")
    empty = client.patch(f"/api/v1/patients/{patient.pk}/", {}, content_type="application/json")
    assert empty.status_code == 400 and "at least one field" in empty.json()["errors"]["non_field_errors"][0]
    changed = client.patch(
        f"/api/v1/patients/{patient.pk}/", {"city": "Reno"}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["city"] == "Reno"
    shown = AuditEvent.objects.filter(object_type="patients.patient", action="view").get()
    assert shown.detail["to"] == "crm" and shown.patient_id == patient.pk


def test_staff_usernames_cannot_pass_for_a_systems_account(make_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        make_user(Role.NURSE, username="api.registry")
    assert "kept for other systems" in str(refused.value)


def test_a_token_works_through_its_last_day_and_not_after(make_token, client, patient):
    import datetime

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    today = timezone.localdate()
    token, secret = make_token(expires_on=today)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/referrals/", **auth).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_on=today - datetime.timedelta(days=1))
    expired = client.get("/api/v1/referrals/", **auth)
    assert expired.status_code == 401 and "expired" in expired.json()["errors"]["non_field_errors"][0]
    with pytest.raises(ValidationError) as refused:
        make_token(expires_on=today - datetime.timedelta(days=1))
    assert "expires_on" in refused.value.message_dict
