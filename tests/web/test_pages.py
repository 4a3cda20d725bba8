import pytest

pytestmark = pytest.mark.django_db


def test_dashboard_shows_the_role_and_its_links(client_as, front_desk, clinic_admin, register):
    register()
    html = client_as(front_desk).get("/").content.decode()
    assert "<h1>Today " in html and "Register a patient" in html and "Audit trail" not in html
    html = client_as(clinic_admin).get("/").content.decode()
    assert "Audit trail" in html and "Register a patient" not in html


def test_safety_alerts_are_in_the_navigation_for_those_who_read_them(client_as, nurse, physician, front_desk):
    link = '<a href="/alerts/"'
    for user in (nurse, physician):
        html = client_as(user).get("/patients/").content.decode()
        assert html.split("</nav>")[0].count(link) == 1 and "Safety alerts</a>" in html
    assert link not in client_as(front_desk).get("/patients/").content.decode()


def test_not_found_and_forbidden_pages_are_in_the_house_style(client_as, clinic_admin):
    client = client_as(clinic_admin)
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and "Not found" in missing.content.decode()
    forbidden = client.get("/patients/")
    assert forbidden.status_code == 403 and "Your role does not allow this" in forbidden.content.decode()


def test_static_assets_are_vendored_not_from_a_cdn(client_as, nurse):
    html = client_as(nurse).get("/").content.decode()
    assert "htmx.min" in html and "pico.min" in html
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://', "")


def test_dashboard_query_count_does_not_grow_with_open_alerts(client_as, nurse, register, actor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ketacare.measures.services import response_record

    patient = register()
    client = client_as(nurse)
    client.get("/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    for _ in range(21):  # more than the dashboard shows, so its open-alert COUNT runs in both cases
        response_record(
            actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [1], context="follow_up"
        )
    few = count()
    for _ in range(30):
        response_record(
            actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [1], context="follow_up"
        )
    many = count()
    # The withdrawals of consent not yet seen, the Today board (with the withdrawals of the
    # patients in the chairs), then the alerts and the enquiries.
    assert many == few <= 19
