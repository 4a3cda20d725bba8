import re

import pytest
from django.urls import reverse

from ketacare.measures import services
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert

pytestmark = pytest.mark.django_db


def items(values):
    return {f"item_{n}": str(v) for n, v in enumerate(values, start=1) if v is not None}


def test_staff_record_a_scale_and_see_it_on_the_chart(client_as, nurse, register):
    patient = register()
    client = client_as(nurse)
    url = reverse("measures:response-new", args=[patient.pk])
    assert "PHQ-9" in client.get(url, {"instrument": "phq9"}).content.decode()
    data = {
        "instrument": "phq9",
        **items([2, 2, 2, 2, 2, 1, 1, 1, 0]),
        "context": "baseline",
        "administered_at": "2026-11-20T10:30",
    }
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "recorded: 13 (moderate)" in html
    assert "<svg" in html and "PHQ-9 (Patient Health Questionnaire)" in html
    stored = QuestionnaireResponse.objects.get()
    assert (stored.entered_by, stored.source, stored.total) == (nurse, "staff", 13)


def test_staff_form_with_a_wrong_field_keeps_the_answers(client_as, nurse, register):
    patient = register()
    data = {
        "instrument": "gad7",
        **items([1, 1, 1, 1, 1, 1, 1]),
        "context": "follow_up",
        "minutes_after_dose": "40",
        "administered_at": "2026-11-20T10:30",
    }
    response = client_as(nurse).post(reverse("measures:response-new", args=[patient.pk]), data)
    html = response.content.decode()
    assert response.status_code == 422
    assert "Minutes after the dose apply only to a post-session rating." in html
    assert len(re.findall(r'value="1"[^>]*checked', html)) == 7
    assert QuestionnaireResponse.objects.count() == 0


def test_positive_item_shows_a_loud_message_to_staff(client_as, physician, register):
    patient = register()
    data = {
        "instrument": "phq9",
        **items([0] * 8 + [1]),
        "context": "follow_up",
        "administered_at": "2026-11-20T10:30",
    }
    html = client_as(physician).post(reverse("measures:response-new", args=[patient.pk]), data, follow=True)
    assert "Safety alert raised: suicidal ideation." in html.content.decode()


def test_patient_self_report_on_a_phone_with_crisis_resources(client, register, actor, settings):
    settings.CRISIS_TEXT = "Call 988 now."
    settings.CLINIC_NAME = "Riverside Clinic"
    patient = register()
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    url = reverse("measures:self-report", args=[token])
    page = client.get(url)
    assert page.status_code == 200
    assert "<h1>Riverside Clinic: questionnaire</h1>" in page.content.decode()
    assert "Anna" not in page.content.decode()
    assert "Thoughts that you would be better off dead" in page.content.decode()
    missing = client.post(url, items([0] * 8))
    assert missing.status_code == 422
    assert "Please answer question 9." in missing.content.decode()
    done = client.post(url, items([0] * 8 + [2]))
    assert "Call 988 now." in done.content.decode()
    again = client.get(url)
    assert again.status_code == 410
    assert "already been filled in" in again.content.decode()
    assert SafetyAlert.objects.count() == 1


def test_negative_self_report_shows_no_crisis_box(client, register, actor, settings):
    settings.CRISIS_TEXT = "Call 988 now."
    patient = register()
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument="gad7")
    done = client.post(reverse("measures:self-report", args=[token]), items([1] * 7))
    assert "Thank you" in done.content.decode()
    assert "Call 988 now." not in done.content.decode()


def test_dashboard_lists_open_alerts_and_acknowledging_clears_them(
    client_as, physician, nurse, register, actor
):
    patient = register()
    services.response_record(
        actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [1], context="follow_up"
    )
    alert = SafetyAlert.objects.get()
    home = client_as(nurse).get("/").content.decode()
    assert "1 open" in home and "Smith, Anna" in home and "suicidal ideation" in home
    client = client_as(physician)
    url = reverse("measures:alert-acknowledge", args=[alert.pk])
    bad = client.post(url, {"note": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    assert "Write what was done" in bad.content.decode()
    ok = client.post(url, {"note": "Phoned, safe, seen tomorrow"}, HTTP_HX_REQUEST="true")
    assert "Acknowledged by physician-user" in ok.content.decode()
    assert "No open safety alerts." in client.get("/").content.decode()


def test_front_desk_can_send_a_link_but_not_read_scores(client_as, front_desk, register, actor):
    patient = register()
    services.response_record(
        actor=actor, patient=patient, instrument="gad7", answers=[1] * 7, context="baseline"
    )
    client = client_as(front_desk)
    chart = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "Rating scales" not in chart
    created = client.post(
        reverse("measures:link-create", args=[patient.pk]), {"instrument": "gad7", "context": "follow_up"}
    )
    assert "/r/" in created.content.decode()


def test_item_detail_on_demand(client_as, nurse, register, actor):
    patient = register()
    response = services.response_record(
        actor=actor,
        patient=patient,
        instrument="epds",
        answers=[0, 1, 3, 0, 3, 3, 3, 3, 3, 3],
        context="baseline",
    )
    html = (
        client_as(nurse)
        .get(reverse("measures:response-detail", args=[patient.pk, response.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "Looked forward with enjoyment" in html and "Rather less" in html


def test_dashboard_shows_the_20_most_urgent_and_links_to_all(client_as, nurse, register, actor):
    patient = register()
    for _ in range(22):
        services.response_record(
            actor=actor, patient=patient, instrument="gad7", answers=[3] * 7, context="follow_up"
        )
    services.response_record(
        actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [1], context="follow_up"
    )
    client = client_as(nurse)
    home = client.get("/").content.decode()
    assert "Showing the 20 most urgent of 23." in home
    assert home.index("Urgent:</strong> suicidal ideation") < home.index(
        "Follow up:</strong> severe symptoms"
    )
    page1 = client.get(reverse("measures:alert-list")).content.decode()
    assert page1.count('class="alert-card') == 23


def test_a_new_self_report_link_can_be_copied_e_mailed_or_texted(client_as, front_desk, register):
    from urllib.parse import unquote

    patient = register(email="anna@example.com", phone="(555) 201-3344")
    html = (
        client_as(front_desk)
        .post(f"/patients/{patient.pk}/measures/links/", {"instrument": "phq9", "context": "follow_up"})
        .content.decode()
    )
    url = html.split('id="link-url" readonly value="')[1].split('"')[0]
    assert '<button type="button" class="secondary" data-copy="#link-url">Copy the link</button>' in html
    mailto = html.split('href="mailto:')[1].split('"')[0]
    assert mailto.startswith("anna@example.com?subject=") and url in unquote(mailto)
    assert 'href="sms:5552013344?&amp;body=' in html
    assert "E-mail it to anna@example.com" in html and "Text it to (555) 201-3344" in html
