"""Every URL, every role: access is denied unless a rule allows it; and every page's number of
database queries for every role, pinned exactly in one baseline file (tests/query_counts.json)."""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from ketacare.accounts.roles import Role
from tests.conftest import kept_for_the_module, sign_in

pytestmark = pytest.mark.django_db

PUBLIC = {
    "accounts:login",
    "web:healthz",
    "measures:self-report",
    "accounts:password-reset",
    "accounts:password-reset-sent",
    "accounts:password-reset-confirm",
    "accounts:password-reset-complete",
    "portal:page",
    "portal:enquiry-new",
    "portal:stop",
    # The patient portal: its own sign-in by a one-time code (tests/portal/test_patient_portal.py).
    "portal:portal-home",
    "portal:portal-sign-in",
    "portal:portal-code",
    "portal:portal-sign-out",
    "portal:portal-consent",
    "portal:portal-consent-withdraw",
    "portal:portal-consent-copy",
    # The patient's requests, questionnaires due and shared documents (their own only:
    # tests/portal/test_requests_and_documents.py).
    "portal:portal-move",
    "portal:portal-questionnaire",
    "portal:portal-document",
}
# The code page after the password: signed in, any role (tests/accounts/test_two_factor.py).
SECOND_FACTOR = {"accounts:two-factor"}
CLINICAL = {Role.PHYSICIAN, Role.NURSE}

# name -> (path with sample ids, the roles allowed to GET it). POST-only pages answer 405 to an
# allowed role's GET, which still proves the role passed the permission check.
PAGES = {
    "web:home": ("/", set(Role)),
    "web:board": ("/today/board/", CLINICAL | {Role.FRONT_DESK}),
    "accounts:logout": ("/accounts/logout/", set(Role)),
    "accounts:two-factor-setup": ("/accounts/two-factor/setup/", set(Role)),
    "accounts:account": ("/accounts/account/", set(Role)),
    "accounts:recovery-codes": ("/accounts/account/recovery-codes/", set(Role)),
    "accounts:password-change": ("/accounts/account/password/", set(Role)),
    "accounts:staff": ("/accounts/staff/", {Role.CLINIC_ADMIN}),
    "accounts:staff-new": ("/accounts/staff/new/", {Role.CLINIC_ADMIN}),
    "accounts:staff-detail": ("/accounts/staff/{uid}/", {Role.CLINIC_ADMIN}),
    "accounts:staff-action": ("/accounts/staff/{uid}/unlock/", {Role.CLINIC_ADMIN}),
    "patients:list": ("/patients/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "patients:create": ("/patients/new/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "patients:chart": ("/patients/{pid}/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "patients:edit": ("/patients/{pid}/edit/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "patients:measurement-add": (
        "/patients/{pid}/measurements/",
        {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK},
    ),
    "patients:allergy-add": ("/patients/{pid}/allergies/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    # The treated patient's consent (signed after their decision, as consent is).
    "patients:consent": ("/patients/{tpid}/consent/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "patients:consent-paper": ("/patients/{tpid}/consent/esketamine_nasal/paper/", CLINICAL),
    "patients:consent-withdraw": ("/patients/{tpid}/consent/signatures/{csid}/withdraw/", CLINICAL),
    "patients:consent-acknowledge": ("/patients/{tpid}/consent/signatures/{csid}/acknowledge/", CLINICAL),
    "patients:consent-copy": (
        "/patients/{tpid}/consent/signatures/{csid}/copy.pdf",
        {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK},
    ),
    "audit:event-list": ("/audit/", {Role.CLINIC_ADMIN}),
    "audit:event-export": ("/audit/events.csv", {Role.CLINIC_ADMIN}),
    "api-patient-list": ("/api/v1/patients/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "api-patient-detail": ("/api/v1/patients/{pid}/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "api-schema": ("/api/schema/", set(Role)),
    "api-referral-list": ("/api/v1/referrals/?patient={pid}", CLINICAL | {Role.FRONT_DESK}),
    "api-referral-detail": ("/api/v1/referrals/{refid}/", CLINICAL | {Role.FRONT_DESK}),
    "api-decision-list": ("/api/v1/decisions/", CLINICAL),
    "api-decision-detail": ("/api/v1/decisions/{did}/", CLINICAL),
    "api-trial-list": ("/api/v1/trials/?patient={pid}", CLINICAL),
    "api-trial-detail": ("/api/v1/trials/{tid}/", CLINICAL),
    "api-trial-strike-out": ("/api/v1/trials/{tid}/strike-out/", CLINICAL),
    "api-response-list": ("/api/v1/responses/?patient={pid}&since=2020-01-01", CLINICAL),
    "api-response-detail": ("/api/v1/responses/{rid}/", CLINICAL),
    "api-alert-list": ("/api/v1/alerts/?open=true", CLINICAL),
    "api-alert-detail": ("/api/v1/alerts/{aid}/", CLINICAL),
    "api-alert-acknowledge": ("/api/v1/alerts/{aid}/acknowledge/", CLINICAL),
    "api-plan-list": ("/api/v1/plans/", CLINICAL | {Role.FRONT_DESK}),
    "api-plan-detail": ("/api/v1/plans/{plid}/", CLINICAL | {Role.FRONT_DESK}),
    "api-plan-maintenance": ("/api/v1/plans/{plid}/maintenance/", CLINICAL | {Role.FRONT_DESK}),
    "api-plan-stop": ("/api/v1/plans/{plid}/stop/", CLINICAL | {Role.FRONT_DESK}),
    "api-appointment-list": ("/api/v1/appointments/?since=2020-01-01", CLINICAL | {Role.FRONT_DESK}),
    "api-appointment-detail": ("/api/v1/appointments/{apid}/", CLINICAL | {Role.FRONT_DESK}),
    "api-appointment-reschedule": ("/api/v1/appointments/{apid}/reschedule/", CLINICAL | {Role.FRONT_DESK}),
    "api-appointment-cancel": ("/api/v1/appointments/{apid}/cancel/", CLINICAL | {Role.FRONT_DESK}),
    "api-session-list": ("/api/v1/sessions/", CLINICAL),
    "api-session-detail": ("/api/v1/sessions/{sid}/", CLINICAL),
    "api-outcome-list": ("/api/v1/outcomes/", {Role.PHYSICIAN, Role.CLINIC_ADMIN}),
    "api-outcome-detail": ("/api/v1/outcomes/{ocid}/", {Role.PHYSICIAN, Role.CLINIC_ADMIN}),
    "accounts:api-tokens": ("/accounts/api-tokens/", {Role.CLINIC_ADMIN}),
    "accounts:api-token-revoke": ("/accounts/api-tokens/{tkid}/revoke/", {Role.CLINIC_ADMIN}),
    "portal:site": ("/site/", {Role.CLINIC_ADMIN}),
    "portal:enquiries": ("/enquiries/", CLINICAL | {Role.FRONT_DESK}),
    "portal:enquiry": ("/enquiries/{enid}/", CLINICAL | {Role.FRONT_DESK}),
    "portal:enquiry-action": ("/enquiries/{enid}/called-back/", CLINICAL | {Role.FRONT_DESK}),
    "portal:page-edit": ("/site/evidence/", {Role.CLINIC_ADMIN}),
    "portal:consent-edit": ("/site/consent/iv_ketamine/", {Role.CLINIC_ADMIN}),
    "portal:move-action": ("/enquiries/moves/1/moved/", CLINICAL | {Role.FRONT_DESK}),
    "portal:shared": ("/patients/{pid}/shared/", CLINICAL),
    "portal:shared-stop": ("/patients/{pid}/shared/1/stop/", {Role.PHYSICIAN}),
    "measures:response-new": ("/patients/{pid}/measures/new/", CLINICAL),
    "measures:responses-more": ("/patients/{pid}/measures/more/?before={rid}", CLINICAL),
    "measures:response-detail": ("/patients/{pid}/measures/{rid}/", CLINICAL),
    "measures:link-create": ("/patients/{pid}/measures/links/", CLINICAL | {Role.FRONT_DESK}),
    "measures:link-revoke": ("/patients/{pid}/measures/links/1/revoke/", CLINICAL | {Role.FRONT_DESK}),
    "measures:alert-acknowledge": ("/alerts/{aid}/acknowledge/", CLINICAL),
    "measures:alert-list": ("/alerts/", CLINICAL),
    "screening:referral-new": ("/patients/{pid}/referrals/new/", CLINICAL | {Role.FRONT_DESK}),
    "screening:consultation-new": ("/patients/{pid}/consultations/new/", CLINICAL),
    "screening:consultation": ("/consultations/{cid}/", CLINICAL),
    "screening:episode": ("/consultations/{cid}/episode/", CLINICAL),
    "screening:checklist": ("/consultations/{cid}/checklist/", CLINICAL),
    "screening:trial-new": ("/consultations/{cid}/trials/", CLINICAL),
    "screening:trial-strike-out": ("/consultations/{cid}/trials/{tid}/strike-out/", CLINICAL),
    "screening:prior-new": ("/consultations/{cid}/treatments/", CLINICAL),
    "screening:decision": ("/consultations/{cid}/decision/", {Role.PHYSICIAN}),
    "screening:letter": ("/decisions/{did}/letter.pdf", CLINICAL),
    "treatment:plan-new": ("/patients/{pid}/plans/new/", {Role.PHYSICIAN}),
    "treatment:plan": ("/plans/{plid}/", CLINICAL | {Role.FRONT_DESK}),
    "treatment:book": ("/plans/{plid}/book/", CLINICAL | {Role.FRONT_DESK}),
    "treatment:maintenance": ("/plans/{plid}/maintenance/", {Role.PHYSICIAN}),
    "treatment:stop": ("/plans/{plid}/stop/", {Role.PHYSICIAN}),
    "treatment:calendar": ("/calendar/", CLINICAL | {Role.FRONT_DESK}),
    "treatment:upcoming": ("/appointments/", CLINICAL | {Role.FRONT_DESK}),
    "treatment:appointment-change": ("/appointments/{apid}/change/", CLINICAL | {Role.FRONT_DESK}),
    "treatment:chairs": ("/chairs/", set(Role)),
    "treatment:clinic-hours": ("/clinic-hours/", set(Role)),
    "sessions:check-in": ("/appointments/{apid}/check-in/", CLINICAL),
    "sessions:session": ("/sessions/{sid}/", CLINICAL),
    "sessions:scale": ("/sessions/{sid}/scale/?purpose=pre&instrument=phq9", CLINICAL),
    "sessions:rems-form": ("/sessions/{sid}/rems/", CLINICAL),
    "sessions:alerts": ("/sessions/{sid}/alerts/", CLINICAL),
    "sessions:live": ("/sessions/{sid}/live/", CLINICAL),
    "sessions:record": ("/sessions/{sid}/record.pdf", CLINICAL),
    "sessions:action": ("/sessions/{sid}/vitals/", CLINICAL),
    "sessions:rems-pending": ("/rems/", CLINICAL),
    "ledger:stock": ("/ledger/", CLINICAL | {Role.CLINIC_ADMIN}),
    "ledger:setup": ("/ledger/setup/", {Role.PHYSICIAN, Role.CLINIC_ADMIN}),
    "ledger:receive": ("/ledger/receive/", CLINICAL),
    "ledger:inventory": ("/ledger/inventory/", CLINICAL),
    "ledger:lot": ("/ledger/lots/{lid}/", CLINICAL | {Role.CLINIC_ADMIN}),
    "ledger:countersign": ("/ledger/countersign/", CLINICAL | {Role.CLINIC_ADMIN}),
    "ledger:export": ("/ledger/export/", {Role.CLINIC_ADMIN}),
    "ledger:incidents": ("/ledger/incidents/", CLINICAL | {Role.CLINIC_ADMIN}),
    "ledger:incident": ("/ledger/incidents/{inid}/", CLINICAL | {Role.CLINIC_ADMIN}),
    "ledger:inventory-record": ("/ledger/locations/{rgid}/inventory.pdf", {Role.CLINIC_ADMIN}),
    "outcomes:dashboard": ("/outcomes/", {Role.PHYSICIAN, Role.CLINIC_ADMIN}),
    "outcomes:csv": ("/outcomes/rates.csv", {Role.PHYSICIAN, Role.CLINIC_ADMIN}),
    "outcomes:clinic-report": ("/outcomes/report.pdf", {Role.PHYSICIAN, Role.CLINIC_ADMIN}),
    "outcomes:report": ("/outcomes/patients/{pid}/report.pdf", {Role.PHYSICIAN}),
    "interop:metadata": ("/fhir/metadata", set(Role)),
    "web:disclosures": ("/patients/{pid}/disclosures/", {Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK}),
    "interop:patient-everything": ("/fhir/Patient/{pid}/$everything", CLINICAL),
}


@pytest.fixture(scope="module")
def ids(django_db_setup, django_db_blocker):
    """One of everything the pages name, made once for the module (made for each test, it was
    most of the module's time: about a second a test on PostgreSQL, across 350 tests)."""
    with kept_for_the_module(django_db_blocker):
        yield _one_of_everything()


def _one_of_everything() -> dict[str, int]:
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from ketacare.accounts.services import api_token_create, user_create
    from ketacare.audit.context import Actor
    from ketacare.clinical.contraindications import RULES
    from ketacare.clinical.monitoring import Vitals
    from ketacare.ledger.models import Incident, Lot, Product, Registration
    from ketacare.measures.services import response_record
    from ketacare.outcomes import rules as outcome_rules
    from ketacare.outcomes import services as outcome_services
    from ketacare.outcomes.models import PatientOutcome
    from ketacare.patients.services import patient_register
    from ketacare.portal.models import Enquiry
    from ketacare.screening import services as screening
    from ketacare.sessions.services import session_check_in
    from tests.conftest import PASSWORD, patient_details
    from tests.treatment_helpers import ALL_CLEAR, ESCORT, make_chair, make_eligible, sign_consent, start_plan

    def user(role: Role, username: str):
        return user_create(
            username=username, password=PASSWORD, role=role, first_name=role.label, last_name="Tester"
        )

    def register(**overrides: object):
        return patient_register(
            actor=actor,
            details=patient_details(**overrides),
            diagnoses=("F33.1",),
            primary_diagnosis="F33.1",
            weight_kg=Decimal("72.5"),
            height_cm=Decimal(168),
            confirm_not_duplicate=True,
        )

    actor = Actor(user=user(Role.FRONT_DESK, "access.front-desk"), ip="127.0.0.1", user_agent="pytest")
    patient = register()
    response = response_record(
        actor=actor, patient=patient, instrument="phq9", answers=[1] * 9, context="baseline"
    )
    doctor = Actor(user=user(Role.PHYSICIAN, "signing-doctor"))
    consultation = screening.consultation_start(actor=doctor, patient=patient)
    screening.episode_record(
        actor=doctor,
        consultation=consultation,
        episode_duration_months=6,
        severity="moderate",
        augmentation_used=False,
    )
    screening.checklist_record(
        actor=doctor, consultation=consultation, answers={r.code: False for r in RULES}
    )
    trial = screening.trial_record(
        actor=doctor,
        patient=patient,
        drug="sertraline",
        daily_dose_mg=Decimal(100),
        started_on=datetime.date(2026, 1, 1),
        stopped_on=None,
        outcome="no_response",
    )
    decision = screening.decision_sign(
        actor=doctor,
        consultation=consultation,
        decision="not_eligible",
        routes=[],
        reasons="r",
        password=PASSWORD,
    )
    treated = register(given_name="Tess")
    make_eligible(doctor, treated)
    plan = start_plan(doctor, treated, make_chair(), protocol="esketamine_nasal")
    signed = sign_consent(treated, "esketamine_nasal")  # the signature the course started under
    today, later = plan.appointments.order_by("starts_at")[:2]
    session = session_check_in(
        actor=doctor,
        appointment=today,
        weight_kg=None,
        checklist=ALL_CLEAR,
        **ESCORT,
        vitals=Vitals(120, 80, 70, 98, 14),
    )
    lot = Lot.objects.create(
        registration=Registration.objects.create(name="Clinic", address="1 Main St", dea_number="AB1234563"),
        product=Product.objects.create(
            code="ketamine-50-10",
            substance="ketamine",
            form="injection",
            concentration_mg_per_ml=Decimal(50),
            container_ml=Decimal(10),
        ),
        number="K1",
        expiry=datetime.date(2030, 1, 1),
    )
    incident = Incident.objects.create(
        registration=lot.registration,
        loss_type="other",
        discovered_at=timezone.now(),
        description="Missing",
        recorded_by=user(Role.NURSE, "ledger.nurse"),
        notice_due=datetime.date(2026, 1, 2),
        form_106_due=datetime.date(2026, 2, 15),
    )
    referral = screening.referral_record(
        actor=actor,
        patient=patient,
        referring_provider=None,
        received_on=datetime.date(2026, 1, 2),
        reason="Depression not helped by two antidepressants",
        presenting_conditions=["depression"],
        consent_to_treatment=True,
        consent_to_share=False,
    )
    # A stored outcome row, as the projection keeps them (this patient has no dose yet, so the
    # projection is brought up to date first and the row written under its rules).
    outcome_services.catch_up_patient(treated.pk)
    outcome = PatientOutcome.objects.create(
        patient=treated,
        instrument="phq9",
        rules_version=outcome_rules.version(),
        first_treatment_at=timezone.now(),
        period="2026 Q4",
        route="esketamine",
        protocol="esketamine_nasal",
        treatments=1,
    )
    admin = Actor(user=user(Role.CLINIC_ADMIN, "access.admin"))
    token, _ = api_token_create(actor=admin, system="registry", role=Role.NURSE, scope="read")
    enquiry = Enquiry.objects.create(
        given_name="Rosa",
        family_name="Delgado",
        date_of_birth=datetime.date(1984, 6, 2),
        phone="555 0100",
        seeking=["depression"],
    )
    return {
        "csid": signed.pk,
        "enid": enquiry.pk,
        "refid": referral.pk,
        "ocid": outcome.pk,
        "tkid": token.pk,
        "inid": incident.pk,
        "lid": lot.pk,
        "rgid": lot.registration_id,
        "plid": plan.pk,
        "apid": later.pk,
        "sid": session.pk,
        "pid": patient.pk,
        "tpid": treated.pk,
        "rid": response.pk,
        "aid": response.alert.pk,
        "cid": consultation.pk,
        "tid": trial.pk,
        "did": decision.pk,
        "uid": user(Role.NURSE, "someone.else").pk,
    }


def _names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{prefix}{entry.name}")
    return names


def test_every_named_url_is_in_the_access_table():
    assert _names(get_resolver()) == set(PAGES) | PUBLIC | SECOND_FACTOR


@pytest.mark.parametrize("name", sorted(set(PAGES) - {"web:home"}))
def test_anonymous_user_is_refused_everywhere(client, ids, name):
    path = PAGES[name][0].format(**ids)
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        if name.startswith("api-"):
            # The API names its token scheme: 401 with WWW-Authenticate.
            assert response.status_code == 401, (method, path)
            assert response["WWW-Authenticate"].startswith("Bearer")
        else:
            assert response.status_code == 302, (method, path)
            assert response["Location"].startswith("/accounts/login/?next=")


# Each page's queries as each role, per database (a page may read differently on each). A change
# that adds or removes a query fails with the queries listed; when the change is meant, write the
# new counts with `KETACARE_QUERY_BASELINE=update pytest tests/accounts/test_access.py` (on each
# database) and commit the file, so the difference shows in review.
BASELINE_FILE = Path(__file__).resolve().parents[1] / "query_counts.json"
UPDATING = os.environ.get("KETACARE_QUERY_BASELINE") == "update"


@pytest.fixture(scope="module")
def query_baseline():
    baseline = json.loads(BASELINE_FILE.read_text()) if BASELINE_FILE.exists() else {}
    counted: dict[str, int] = {}
    yield baseline.get(connection.vendor, {}), counted
    if UPDATING and counted:
        baseline[connection.vendor] = dict(sorted(counted.items()))
        BASELINE_FILE.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_role_reaches_exactly_its_pages_in_its_pinned_queries(
    make_user, client, ids, query_baseline, role, name
):
    sign_in(client, make_user(role))
    path, allowed = PAGES[name]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path.format(**ids))
    if role in allowed:
        assert response.status_code in (200, 405), response.status_code
    else:
        assert response.status_code == 403
    pinned, counted = query_baseline
    key = f"{name} as {role.value}"
    counted[key] = len(queries)
    if not UPDATING:
        listed = "\n".join(f"{n}. {q['sql']}" for n, q in enumerate(queries.captured_queries, 1))
        assert key in pinned, f"{key}: no pinned query count (see BASELINE_FILE)"
        assert len(queries) == pinned[key], f"{key}: {len(queries)} queries, pinned {pinned[key]}:\n{listed}"


def test_public_pages_need_no_sign_in(client):
    assert client.get("/accounts/login/").status_code == 200
    # The front page is the clinic's public page for a visitor (staff see their home there).
    assert "Staff sign in" in client.get("/").content.decode()
    assert client.get("/about/conditions/").status_code == 200
    assert client.get("/talk-to-a-doctor/").status_code == 200
    assert client.get("/healthz").content == b"ok"
    assert "Link not valid" in client.get("/r/not-a-token/").content.decode()


def test_idle_session_expires_after_the_configured_minutes(client_as, nurse):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    assert settings.IDLE_TIMEOUT_MINUTES == 15
    client = client_as(nurse)
    assert client.get("/").status_code == 200
    session = Session.objects.get()
    remaining = session.expire_date - timezone.now()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_activity_renews_the_idle_window_at_most_once_a_minute(client_as, nurse, monkeypatch):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from ketacare.accounts import middleware

    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client = client_as(nurse)
    client.get("/")
    first = Session.objects.get().expire_date
    Session.objects.update(expire_date=first - timedelta(minutes=5))  # as if five minutes went by
    clock[0] += 30
    client.get("/")
    assert Session.objects.get().expire_date == first - timedelta(minutes=5)  # not renewed yet
    clock[0] += 31
    client.get("/")
    renewed = Session.objects.get().expire_date
    assert timedelta(minutes=14) < renewed - timezone.now() <= timedelta(minutes=15)


def test_user_without_a_role_sees_nothing(client, django_user_model):
    user = django_user_model.objects.create_user("norole", password="x-very-long-pass")
    sign_in(client, user)
    assert client.get("/patients/").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_sign_in_page_says_why_after_an_idle_sign_out(client):
    html = client.get("/accounts/login/", {"idle": "1"}).content.decode()
    assert "You were signed out after 15 minutes without activity." in html
    assert "signed out after" not in client.get("/accounts/login/").content.decode()


def test_permissions_are_cached_between_requests_and_a_role_change_applies_at_once(client, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ketacare.accounts.services import user_set_role

    user = make_user(Role.FRONT_DESK, "movingdesk")
    sign_in(client, user)
    assert client.get("/patients/").status_code == 200
    with CaptureQueriesContext(connection) as cached:
        client.get("/patients/")
    assert not any("auth_permission" in q["sql"] for q in cached.captured_queries)
    assert client.get("/alerts/").status_code == 403
    user_set_role(user=user, role=Role.NURSE)
    assert client.get("/alerts/").status_code == 200
    user_set_role(user=user, role=Role.CLINIC_ADMIN)
    assert client.get("/patients/").status_code == 403
