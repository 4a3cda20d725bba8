"""Self-report links: an opaque token that names nobody, revocable by staff, and a patient page
that names nobody either (whoever holds the phone may not be the patient)."""

import base64
import datetime
import hashlib
import json
import re

import pytest
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.measures import services
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert, SelfReportLink

pytestmark = pytest.mark.django_db

PHQ9_POSITIVE = {f"item_{n}": "1" for n in range(1, 10)}  # item 9 positive: an urgent alert


@pytest.fixture
def patient(register):
    return register()


def revoke_url(link):
    return reverse("measures:link-revoke", args=[link.patient_id, link.pk])


def page_url(token):
    return reverse("measures:self-report", args=[token])


def link_events(link):
    return AuditEvent.objects.filter(object_type="measures.selfreportlink", object_id=str(link.pk))


# --- the token ----------------------------------------------------------------------------------


def test_the_token_is_the_random_value_and_nothing_else(actor, patient, monkeypatch):
    random_part = "R" * 43  # no digit, so an id beside it could not hide in it
    monkeypatch.setattr(services.secrets, "token_urlsafe", lambda nbytes: random_part)
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    assert token == random_part
    assert str(link.pk) not in token and str(patient.pk) not in token


def test_the_token_decodes_to_no_payload(actor, patient):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes, URL-safe base64
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="ketacare.measures.self-report")
    with pytest.raises(signing.BadSignature):
        signing.loads(token)
    raw = base64.urlsafe_b64decode(token + "=")
    assert len(raw) == 32  # the random bytes, and room for nothing else
    with pytest.raises((UnicodeDecodeError, json.JSONDecodeError)):
        json.loads(raw.decode())


def test_two_links_for_the_same_patient_have_unrelated_tokens(actor, patient):
    _, first = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    _, second = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    assert first != second
    # Independent random strings of 43 characters from 64 differ in about 42 places; a shared
    # structure (an id, a prefix, a signature over the same payload) would line up.
    assert sum(a != b for a, b in zip(first, second, strict=True)) >= 30
    assert first[:6] != second[:6] and first[-6:] != second[-6:]


def test_the_database_keeps_the_digest_never_the_token(actor, patient):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    link.refresh_from_db()
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM measures_selfreportlink")
        row = cursor.fetchone()
    assert not any(token in str(value) for value in row)
    events = list(link_events(link).values("object_id", "detail", "actor_label", "user_agent"))
    assert len(events) == 1
    assert token not in str(events) and link.token_digest not in str(events)


def test_a_reader_of_the_database_cannot_open_a_link_with_what_it_holds(actor, patient, client):
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    response = client.get(page_url(link.token_digest))
    assert response.status_code == 404
    assert "Link not valid" in response.content.decode()


def test_a_token_longer_than_any_of_ours_is_not_looked_up(actor, patient, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(services.LinkUnusable) as excinfo:
        services.self_report_link_open("A" * 10_000)
    assert excinfo.value.code == "invalid"


def test_a_link_from_before_opaque_tokens_reads_as_expired(client, actor, patient):
    old = signing.dumps({"l": 1, "p": patient.pk, "n": "0" * 32}, salt="ketacare.measures.self-report")
    response = client.post(page_url(old), PHQ9_POSITIVE)
    assert response.status_code == 410
    assert "Link expired" in response.content.decode()
    assert QuestionnaireResponse.objects.count() == 0


# --- revocation ---------------------------------------------------------------------------------


def test_staff_revoke_a_link_from_the_chart_and_the_patient_sees_the_expired_page(
    client_as, nurse, client, actor, patient
):
    revoked, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    expired, expired_token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    SelfReportLink.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    staff = client_as(nurse)
    done = staff.post(revoke_url(revoked), follow=True)
    assert "Link revoked: it no longer opens the questionnaire." in done.content.decode()
    revoked.refresh_from_db()
    assert revoked.revoked_by == nurse and revoked.revoked_at is not None
    staff.logout()

    closed = client.get(page_url(token))
    assert closed.status_code == 410
    # The patient cannot tell a revoked link from an expired one: the same page, byte for byte.
    assert closed.content == client.get(page_url(expired_token)).content
    assert "Link expired" in closed.content.decode()


def test_a_revoked_link_stores_no_answers_and_raises_no_alert(client, actor, nurse_actor, patient):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    services.self_report_link_revoke(actor=nurse_actor, link=link)
    response = client.post(page_url(token), PHQ9_POSITIVE)
    assert response.status_code == 410
    assert QuestionnaireResponse.objects.count() == 0
    assert SafetyAlert.objects.count() == 0
    with pytest.raises(services.LinkUnusable) as excinfo:
        services.self_report_submit(token=token, answers=[1] * 9, ip=None, user_agent="")
    assert excinfo.value.code == "expired"
    link.refresh_from_db()
    assert (link.used_at, link.response_id) == (None, None)


def test_revocation_is_audited_with_the_member_of_staff(client_as, nurse, actor, patient):
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    client_as(nurse).post(revoke_url(link))
    event = link_events(link).get(action="update")
    assert (event.actor_id, event.patient_id, event.detail) == (nurse.pk, patient.pk, {"fields": ["revoked"]})


def test_revoking_twice_is_harmless(client_as, nurse, physician, actor, patient, nurse_actor):
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    first = services.self_report_link_revoke(actor=nurse_actor, link=link)
    again = services.self_report_link_revoke(actor=Actor(user=physician), link=link)
    assert (again.revoked_at, again.revoked_by) == (first.revoked_at, nurse)
    response = client_as(physician).post(revoke_url(link), follow=True)
    assert response.status_code == 200
    link.refresh_from_db()
    assert (link.revoked_at, link.revoked_by) == (first.revoked_at, nurse)
    assert link_events(link).filter(action="update").count() == 1


def test_a_link_already_filled_in_is_not_revoked(client_as, nurse, actor, patient):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    services.self_report_submit(token=token, answers=[0] * 7, ip=None, user_agent="")
    response = client_as(nurse).post(revoke_url(link), HTTP_HX_REQUEST="true")
    assert "Not revoked: the patient already filled it in" in response.content.decode()
    link.refresh_from_db()
    assert (link.revoked_at, link.revoked_by, link.used_at is not None) == (None, None, True)
    assert not link_events(link).filter(action="update").exists()


def test_staff_without_the_link_permission_get_403_and_nothing_changes(
    client, client_as, clinic_admin, actor, patient
):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    anonymous = client.post(revoke_url(link))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert client_as(clinic_admin).post(revoke_url(link)).status_code == 403
    link.refresh_from_db()
    assert (link.revoked_at, link.revoked_by) == (None, None)
    assert not link_events(link).filter(action="update").exists()
    assert services.self_report_link_open(token).pk == link.pk


def test_the_front_desk_who_may_send_a_link_may_revoke_it(client_as, front_desk, actor, patient):
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    client = client_as(front_desk)
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "Rating scales" not in chart  # still no scores for the front desk
    assert "Self-report links" in chart and revoke_url(link) in chart
    assert client.post(revoke_url(link)).status_code == 302
    link.refresh_from_db()
    assert link.revoked_by == front_desk


def test_a_link_is_revoked_only_through_its_own_patient(client_as, nurse, actor, patient, register):
    other = register(given_name="Other", family_name="Person")
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    url = reverse("measures:link-revoke", args=[other.pk, link.pk])
    assert client_as(nurse).post(url).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_revoking_is_a_post(client_as, nurse, actor, patient):
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    assert client_as(nurse).get(revoke_url(link)).status_code == 405
    link.refresh_from_db()
    assert link.revoked_at is None


def test_the_database_refuses_a_link_both_used_and_revoked(actor, patient, physician):
    link, token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    services.self_report_submit(token=token, answers=[0] * 7, ip=None, user_agent="")
    with pytest.raises(IntegrityError), transaction.atomic():
        SelfReportLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now(), revoked_by=physician)


def test_the_database_refuses_a_revocation_without_its_author(actor, patient):
    link, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    with pytest.raises(IntegrityError), transaction.atomic():
        SelfReportLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())


# --- the open links on the chart ----------------------------------------------------------------


def test_the_chart_lists_open_links_with_a_revoke_button_and_only_those(
    client_as, nurse, actor, nurse_actor, patient
):
    open_link, _ = services.self_report_link_create(
        actor=actor, patient=patient, instrument="phq9", context="pre_session"
    )
    used, used_token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    services.self_report_submit(token=used_token, answers=[0] * 7, ip=None, user_agent="")
    expired, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="epds")
    SelfReportLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    revoked, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="pcl5")
    services.self_report_link_revoke(actor=nurse_actor, link=revoked)

    html = client_as(nurse).get(reverse("patients:chart", args=[patient.pk])).content.decode()
    rows = re.findall(r'<tr id="link-(\d+)">(.*?)</tr>', html, flags=re.S)
    assert [int(pk) for pk, _ in rows] == [open_link.pk]
    row = rows[0][1]
    made = timezone.localtime(open_link.created_at).strftime("%Y-%m-%d %H:%M")
    expires = timezone.localtime(open_link.expires_at).strftime("%Y-%m-%d %H:%M")
    for shown in ("PHQ-9", "Before a session", made, actor.user.username, expires, revoke_url(open_link)):
        assert shown in row, shown
    assert ">Revoke</button>" in row
    assert open_link.token_digest not in html


def test_revoking_from_the_chart_with_htmx_redraws_the_list(client_as, nurse, actor, patient):
    keep, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    drop, _ = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    response = client_as(nurse).post(revoke_url(drop), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="self-report-links">')
    assert "Link revoked" in html
    assert f'id="link-{keep.pk}"' in html and f'id="link-{drop.pk}"' not in html


def test_open_links_are_one_query_however_many(actor, patient, django_assert_num_queries):
    from ketacare.measures import selectors

    for _ in range(5):
        services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    with django_assert_num_queries(1):
        links = selectors.open_links(patient_id=patient.pk)
        assert {link.created_by.username for link in links} == {actor.user.username}
    assert len(links) == 5


# --- the patient's page names nobody ------------------------------------------------------------


def test_no_page_the_patient_sees_names_them(client, settings, actor, register):
    settings.CLINIC_NAME = "Riverside Clinic"
    patient = register(
        given_name="Zebedee",
        family_name="Quiggly",
        preferred_name="Zeb",
        date_of_birth=datetime.date(1971, 2, 3),
    )
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    url = page_url(token)
    pages = {
        "form": client.get(url),
        "form with an error": client.post(url, {"item_1": "0"}),
        "done": client.post(url, PHQ9_POSITIVE),
        "already done": client.get(url),
    }
    assert [r.status_code for r in pages.values()] == [200, 422, 200, 410]
    for name, response in pages.items():
        html = response.content.decode()
        for sentinel in ("Zebedee", "Quiggly", patient.mrn, "1971", "02/03", "Feb"):
            assert sentinel not in html, (name, sentinel)
        title = re.search(r"<title>(.*?)</title>", html, flags=re.S).group(1).strip()
        assert title.startswith("Riverside Clinic: "), (name, title)
    assert "<h1>Riverside Clinic: questionnaire</h1>" in pages["form"].content.decode()
    assert "PHQ-9" in pages["form"].content.decode()


def test_expired_and_used_links_still_show_their_closed_pages(client, actor, patient):
    expired, expired_token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    SelfReportLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    gone = client.post(page_url(expired_token), {f"item_{n}": "0" for n in range(1, 8)})
    assert gone.status_code == 410 and "Link expired" in gone.content.decode()
    _, used_token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    client.post(page_url(used_token), {f"item_{n}": "0" for n in range(1, 8)})
    again = client.post(page_url(used_token), {f"item_{n}": "3" for n in range(1, 8)})
    assert again.status_code == 410 and "Already done" in again.content.decode()
    assert QuestionnaireResponse.objects.count() == 1
