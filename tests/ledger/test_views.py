"""The ledger's pages, as the clinic uses them: the stock, receiving, wasting with a witness at the
same screen, counting, reversing a mistake, witnessing a session's waste, and the inspector's CSV."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.ledger import services
from ketacare.ledger.models import Discrepancy, Entry, Incident, Lot, Product, Registration
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

SUPPLIER = {
    "supplier_name": "Henry Schein",
    "supplier_address": "135 Duryea Road, Melville, NY 11747",
    "supplier_dea": "PH1234563",
}


@pytest.fixture
def book(physician, nurse):
    """A clinic with its DEA registration, a 50 mg/mL 10 mL ketamine vial, an initial inventory of
    nothing, then 2 vials of lot K100 received (1,000 mg)."""
    doctor = Actor(user=physician)
    registration = services.registration_create(
        actor=doctor, name="Main clinic", address="1 Main St, Springfield", dea_number="AB1234563"
    )
    product = services.product_create(
        actor=doctor,
        code="ketamine-50-10",
        substance="ketamine",
        form="injection",
        concentration_mg_per_ml=Decimal(50),
        container_ml=Decimal(10),
        beyond_use_days=28,
    )
    at = timezone.now() - datetime.timedelta(days=2)
    services.inventory_record(
        actor=Actor(user=nurse), registration=registration, product=product, lines=[], at=at
    )
    receipt = services.receipt_record(
        actor=Actor(user=nurse),
        registration=registration,
        product=product,
        lot_number="K100",
        expiry=timezone.localdate() + datetime.timedelta(days=300),
        containers=2,
        at=at + datetime.timedelta(hours=1),
        **SUPPLIER,
    )
    return receipt.lot


def _as(client: Client, user) -> Client:
    return sign_in(client, user)


def test_stock_page_shows_each_lot_with_its_balance_in_mg_ml_and_vials(
    client, nurse, book, django_assert_max_num_queries
):
    _as(client, nurse)
    with django_assert_max_num_queries(14):
        page = client.get("/ledger/").content.decode()
    assert "Ketamine 50 mg/mL, 10 mL vial" in page
    assert "K100" in page
    assert "1000 mg (20.00 mL)" in page
    assert "2 vials" in page
    assert "Next inventory due by" in page


def test_stock_page_query_count_does_not_grow_with_the_history(
    client, nurse, physician, book, django_assert_max_num_queries
):
    for _ in range(30):
        services.waste_record(
            actor=Actor(user=nurse), lot=book, mg=1, manner="sink", reason="drawn in error", witness=physician
        )
    _as(client, nurse)
    with django_assert_max_num_queries(14):
        assert client.get("/ledger/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(f"/ledger/lots/{book.pk}/").status_code == 200


def test_receiving_stock_through_the_page_adds_the_lot(client, nurse, book):
    _as(client, nurse)
    response = client.post(
        "/ledger/receive/",
        {
            "registration": book.registration_id,
            "product": book.product_id,
            "lot_number": "K200",
            "expiry": (timezone.localdate() + datetime.timedelta(days=400)).isoformat(),
            "containers": 3,
            "invoice": "INV-9",
            **SUPPLIER,
        },
    )
    lot = Lot.objects.get(number="K200")
    assert response.status_code == 302
    assert response["Location"] == f"/ledger/lots/{lot.pk}/"
    assert lot.on_hand_mg == Decimal(1500)
    entry = Entry.objects.get(lot=lot)
    assert (entry.kind, entry.containers, entry.invoice, entry.by) == ("receipt", 3, "INV-9", nurse)


def test_a_receipt_with_a_mistyped_supplier_dea_number_is_refused_beside_the_field(client, nurse, book):
    _as(client, nurse)
    before = Entry.objects.count()
    response = client.post(
        "/ledger/receive/",
        {
            "registration": book.registration_id,
            "product": book.product_id,
            "lot_number": "K300",
            "expiry": (timezone.localdate() + datetime.timedelta(days=400)).isoformat(),
            "containers": 1,
            **{**SUPPLIER, "supplier_dea": "PH1234567"},
        },
    )
    assert response.status_code == 422
    assert "The check digit does not match" in response.content.decode()
    assert Entry.objects.count() == before
    assert not Lot.objects.filter(number="K300").exists()


def _waste(client: Client, lot: Lot, **over):
    data = {
        "action": "waste",
        "waste-mg": "",
        "waste-ml": "0.5",
        "waste-manner": "Rendered unrecoverable",
        "waste-reason": "Vial dropped",
        "waste-witness": "physician-user",
        "waste-witness_password": PASSWORD,
        **over,
    }
    return client.post(f"/ledger/lots/{lot.pk}/", data)


def test_waste_witnessed_at_the_same_screen_takes_it_off_the_lot(client, nurse, physician, book):
    _as(client, nurse)
    response = _waste(client, book)
    assert response.status_code == 302
    entry = Entry.objects.filter(kind="waste").get()
    assert entry.quantity_mg == Decimal("-25")  # 0.5 mL at 50 mg/mL
    assert (entry.by, entry.witness) == (nurse, physician)
    book.refresh_from_db()
    assert book.on_hand_mg == Decimal(975)


def test_a_wrong_witness_password_is_refused_audited_and_writes_no_waste(client, nurse, physician, book):
    _as(client, nurse)
    failures = AuditEvent.objects.filter(action="login_failed").count()
    response = _waste(client, book, **{"waste-witness_password": "not-the-password"})
    assert response.status_code == 422
    assert "witness_password" in response.content.decode() or "password" in response.content.decode()
    assert not Entry.objects.filter(kind="waste").exists()
    book.refresh_from_db()
    assert book.on_hand_mg == Decimal(1000)
    assert AuditEvent.objects.filter(action="login_failed").count() == failures + 1


def test_the_recorder_cannot_witness_their_own_waste(client, nurse, book):
    _as(client, nurse)
    response = _waste(client, book, **{"waste-witness": nurse.username})
    assert response.status_code == 422
    assert "The witness must be a different clinician" in response.content.decode()
    assert not Entry.objects.filter(kind="waste").exists()


def test_a_waste_larger_than_the_lot_holds_is_refused(client, nurse, book):
    _as(client, nurse)
    response = _waste(client, book, **{"waste-ml": "", "waste-mg": "1000.5"})
    assert response.status_code == 422
    assert (
        "Lot K100 holds 1000 mg (20.00 mL): not enough for 1000.5 mg (20.01 mL)." in response.content.decode()
    )
    book.refresh_from_db()
    assert book.on_hand_mg == Decimal(1000)


def test_a_count_that_differs_opens_a_discrepancy_shown_on_the_stock_page(client, nurse, physician, book):
    _as(client, nurse)
    response = client.post(
        f"/ledger/lots/{book.pk}/",
        {
            "action": "count",
            "count-counted_mg": "950",
            "count-witness": physician.username,
            "count-witness_password": PASSWORD,
        },
    )
    assert response.status_code == 302
    discrepancy = Discrepancy.objects.get()
    assert (discrepancy.book_mg, discrepancy.counted_mg, discrepancy.difference_mg) == (
        Decimal(1000),
        Decimal(950),
        Decimal(-50),
    )
    page = client.get("/ledger/").content.decode()
    assert "Open discrepancies" in page and "-50 mg" in page
    response = client.post(
        f"/ledger/lots/{book.pk}/",
        {
            "action": "resolve",
            "discrepancy": discrepancy.pk,
            "resolve-resolution": "Vial found in the fridge",
        },
    )
    assert response.status_code == 302
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_by == nurse
    assert "Open discrepancies" not in client.get("/ledger/").content.decode()


def test_a_matching_count_opens_nothing(client, nurse, physician, book):
    _as(client, nurse)
    client.post(
        f"/ledger/lots/{book.pk}/",
        {
            "action": "count",
            "count-counted_mg": "1000",
            "count-witness": physician.username,
            "count-witness_password": PASSWORD,
        },
    )
    assert Entry.objects.filter(kind="count", counted_mg=1000).exists()
    assert not Discrepancy.objects.exists()


def test_reversing_a_receipt_entered_in_error(client, nurse, book):
    _as(client, nurse)
    receipt = Entry.objects.get(kind="receipt")
    response = client.post(
        f"/ledger/lots/{book.pk}/",
        {"action": "correct", "correct-entry": receipt.pk, "correct-reason": "Wrong lot"},
    )
    assert response.status_code == 302
    correction = Entry.objects.get(kind="correction")
    assert (correction.corrects, correction.quantity_mg, correction.balance_after_mg) == (
        receipt,
        Decimal(-1000),
        Decimal(0),
    )
    page = client.get(f"/ledger/lots/{book.pk}/").content.decode()
    assert f"reversed by entry {correction.pk}" in page
    again = client.post(
        f"/ledger/lots/{book.pk}/",
        {"action": "correct", "correct-entry": receipt.pk, "correct-reason": "Twice"},
    )
    assert again.status_code == 422
    assert "already corrected" in again.content.decode()
    assert Entry.objects.filter(kind="correction").count() == 1


def test_a_front_desk_user_cannot_post_to_a_lot(client, front_desk, book):
    _as(client, front_desk)
    assert _waste(client, book).status_code == 403
    assert not Entry.objects.filter(kind="waste").exists()


def test_the_clinic_admin_reads_the_ledger_but_cannot_record(client, clinic_admin, book):
    _as(client, clinic_admin)
    assert client.get(f"/ledger/lots/{book.pk}/").status_code == 200
    assert _waste(client, book).status_code == 403


def _last_week(client: Client, lot: Lot, **extra: str):
    """The download of the lot's location for the last seven days, in the clinic's time zone."""
    today = timezone.localdate()
    period = {"start": (today - datetime.timedelta(days=7)).isoformat(), "end": today.isoformat()}
    return client.get("/ledger/export/", {"registration": lot.registration_id, **period, **extra})


def test_the_inspector_csv_has_every_entry_of_the_period_with_the_records_the_rule_asks(
    client, clinic_admin, nurse, physician, book
):
    services.waste_record(
        actor=Actor(user=nurse), lot=book, mg=25, manner="sink", reason="dropped", witness=physician
    )
    _as(client, clinic_admin)
    response = _last_week(client, book)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ledger-AB1234563-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["kind"] for r in rows] == ["inventory", "receipt", "waste"]
    receipt, waste = rows[1], rows[2]
    assert (
        receipt["substance"],
        receipt["form"],
        receipt["concentration_mg_per_ml"],
        receipt["units_per_container"],
    ) == (
        "ketamine",
        "injection",
        "50",
        "10 mL",
    )
    assert (receipt["containers"], receipt["quantity_mg"], receipt["quantity_ml"]) == ("2", "1000", "20.00")
    assert (receipt["supplier_dea"], receipt["balance_after_mg"]) == ("PH1234563", "1000")
    assert (waste["quantity_mg"], waste["quantity_ml"], waste["manner"], waste["balance_after_mg"]) == (
        "-25",
        "0.50",
        "sink",
        "975",
    )
    assert waste["by"] == "Nurse Tester" and waste["witness"] == "Physician Tester"
    assert AuditEvent.objects.filter(object_type="ledger.registration", detail__download="csv").count() == 1


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_the_inspector_csv_reads_times_in_the_clinic_zone_and_quantities_exactly_across_pieces(
    client, clinic_admin, nurse, physician, book, monkeypatch, zone
):
    """The download is read in chunks and sent in pieces: every entry comes once, in order, with
    its time in the clinic's zone (a half-hour offset too), its quantity to the ledger's
    precision, and its free text whole."""
    from ketacare.ledger import selectors, views

    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)
    monkeypatch.setattr(views, "EXPORT_PIECE_ROWS", 3)
    for mg in ("12.3456", "0.0001", "37.5"):
        services.waste_record(
            actor=Actor(user=nurse),
            lot=book,
            mg=mg,
            manner="sink",
            reason='drawn up, "not given"\nsecond line',  # a comma, quotes and a line break
            witness=physician,
        )
    services.count_record(actor=Actor(user=nurse), lot=book, counted_mg="950.1", witness=physician)
    _as(client, clinic_admin)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        response = _last_week(client, book)
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        entries = list(Entry.objects.order_by("at", "id"))
        assert [r["entry"] for r in rows] == [str(e.pk) for e in entries]
        assert [r["at"] for r in rows] == [
            timezone.localtime(e.at).isoformat(timespec="seconds") for e in entries
        ]
        assert [r["recorded_at"] for r in rows] == [
            timezone.localtime(e.recorded_at).isoformat(timespec="seconds") for e in entries
        ]
    assert [r["reason"] for r in rows if r["kind"] == "waste"] == ['drawn up, "not given"\nsecond line'] * 3
    assert rows[1]["supplier_address"] == SUPPLIER["supplier_address"]  # its commas kept in one field
    assert all(None not in r and len(r) == len(selectors.EXPORT_COLUMNS) for r in rows)
    offset = "-0" if zone == "America/New_York" else "+05:30"
    assert all(offset in r["at"] for r in rows)
    wastes = [
        (r["quantity_mg"], r["quantity_ml"], r["balance_after_mg"]) for r in rows if r["kind"] == "waste"
    ]
    assert wastes == [
        ("-12.3456", "0.25", "987.6544"),
        ("-0.0001", "0.00", "987.6543"),
        ("-37.5", "0.75", "950.1543"),
    ]
    count = rows[-1]
    assert (count["kind"], count["counted_mg"], count["balance_after_mg"], count["quantity_mg"]) == (
        "count",
        "950.1",
        "950.1543",
        "0",
    )


def test_the_export_form_names_a_bad_period(client, clinic_admin, book):
    _as(client, clinic_admin)
    response = client.get(
        "/ledger/export/", {"registration": book.registration_id, "start": "2026-05-02", "end": "2026-05-01"}
    )
    assert response.status_code == 422
    assert "The end is before the start." in response.content.decode()


def test_no_ledger_yet_says_so_and_points_to_setup(client, physician):
    _as(client, physician)
    page = client.get("/ledger/").content.decode()
    assert "No ledger yet." in page
    assert "/ledger/setup/" in page


def test_setting_up_a_location_checks_its_dea_number(client, physician):
    _as(client, physician)
    response = client.post(
        "/ledger/setup/",
        {
            "which": "registration",
            "registration-name": "Clinic",
            "registration-address": "1 Main",
            "registration-dea_number": "AB1234567",
        },
    )
    assert response.status_code == 422
    assert "The check digit does not match" in response.content.decode()
    assert not Registration.objects.exists()
    response = client.post(
        "/ledger/setup/",
        {
            "which": "registration",
            "registration-name": "Clinic",
            "registration-address": "1 Main",
            "registration-dea_number": "ab1234563",
        },
    )
    assert response.status_code == 302
    assert Registration.objects.get().dea_number == "AB1234563"


def test_an_esketamine_product_is_set_up_in_devices(client, physician):
    _as(client, physician)
    response = client.post(
        "/ledger/setup/",
        {
            "which": "product",
            "product-code": "spravato-56",
            "product-substance": "esketamine",
            "product-form": "nasal spray",
            "product-devices_per_container": 2,
        },
    )
    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.mg_per_device, product.mg_per_container) == (Decimal(28), Decimal(56))


def test_an_initial_inventory_through_the_page_opens_the_book(client, nurse, physician):
    doctor = Actor(user=physician)
    registration = services.registration_create(actor=doctor, name="C", address="A", dea_number="AB1234563")
    product = services.product_create(
        actor=doctor,
        code="k",
        substance="ketamine",
        form="injection",
        concentration_mg_per_ml=Decimal(10),
        container_ml=Decimal(20),
    )
    _as(client, nurse)
    expiry = (timezone.localdate() + datetime.timedelta(days=90)).isoformat()
    data = {
        "registration": registration.pk,
        "product": product.pk,
        "business": "opening",
        "lines-TOTAL_FORMS": 2,
        "lines-INITIAL_FORMS": 0,
        "lines-0-lot_number": "A1",
        "lines-0-expiry": expiry,
        "lines-0-mg": "400",
        "lines-1-lot_number": "",
    }
    assert client.post("/ledger/inventory/", data).status_code == 302
    assert Lot.objects.get(number="A1").on_hand_mg == Decimal(400)
    # A later inventory that finds less opens a discrepancy.
    data["lines-0-mg"] = "380"
    data["business"] = "close"
    response = client.post("/ledger/inventory/", data, follow=True)
    assert "differ from the book" in response.content.decode()
    assert Discrepancy.objects.get().counted_mg == Decimal(380)


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages)


def test_the_printed_ledger_of_a_period_shows_each_lot_with_its_running_balance(
    client, clinic_admin, nurse, physician, book
):
    services.waste_record(
        actor=Actor(user=nurse), lot=book, mg=25, manner="sink", reason="dropped", witness=physician
    )
    _as(client, clinic_admin)
    response = _last_week(client, book, format="pdf")
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "DEA registration AB1234563" in text
    assert "lot K100" in text
    assert "Henry Schein" in text and "PH1234563" in text
    assert "-25 mg" in text and "975" in text
    assert AuditEvent.objects.filter(object_type="ledger.registration", detail__download="pdf").count() == 1


def test_a_period_too_long_to_print_points_to_the_csv(client, clinic_admin, book, monkeypatch):
    from ketacare.ledger import documents

    monkeypatch.setattr(documents, "PDF_MAX_ENTRIES", 1)
    _as(client, clinic_admin)
    response = _last_week(client, book, format="pdf")
    assert response.status_code == 422
    assert "More than 1 entries in this period" in response.content.decode()
    assert not AuditEvent.objects.filter(object_type="ledger.registration", action="view").exists()


def test_the_printed_inventory_has_each_product_lot_and_containers(client, clinic_admin, nurse, book):
    services.inventory_record(
        actor=Actor(user=nurse),
        registration=book.registration,
        product=book.product,
        lines=[services.InventoryLine("K100", Decimal(750))],
        business="close",
    )
    _as(client, clinic_admin)
    response = client.get(f"/ledger/locations/{book.registration_id}/inventory.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Inventory of controlled substances" in text
    assert "at the close of business" in text
    assert "K100" in text and "750 mg (15.00 mL)" in text and "1.5" in text  # 1.5 vials of 10 mL
    assert "1000 mg" in text  # the book, beside the count


def test_a_theft_recorded_on_the_lot_page_opens_an_incident_shown_loudly_until_reported(
    client, nurse, physician, book
):
    _as(client, nurse)
    response = client.post(
        f"/ledger/lots/{book.pk}/",
        {
            "action": "loss",
            "loss-mg": "500",
            "loss-loss_type": "employee pilferage",
            "loss-reason": "One vial missing from the locked cabinet at the evening count",
            "loss-police_report": "Springfield PD 26-1180",
        },
        follow=True,
    )
    incident = Incident.objects.get()
    assert f"Written notice to the DEA due by {incident.notice_due:%a %d %b}" in response.content.decode()
    assert (incident.loss_type, incident.police_notified) == ("employee pilferage", True)
    book.refresh_from_db()
    assert book.on_hand_mg == Decimal(500)
    stock = client.get("/ledger/").content.decode()
    assert "Theft or loss to report to the DEA" in stock
    assert f"written notice due {incident.notice_due:%a} {incident.notice_due.day}" in stock
    # The DEA Form 106 page has what the ledger knows, filled in.
    page = client.get(f"/ledger/incidents/{incident.pk}/").content.decode()
    for text in (
        "Main clinic, 1 Main St, Springfield",
        "AB1234563",
        "Employee pilferage",
        "Yes: Springfield PD 26-1180",
        "500 mg (10.00 mL)",
        "K100",
    ):
        assert text in page
    # A nurse cannot record the notice; the physician records the notice and the filed form.
    assert client.post(f"/ledger/incidents/{incident.pk}/", {"action": "notice"}).status_code == 403
    _as(client, physician)
    assert client.post(f"/ledger/incidents/{incident.pk}/", {"action": "notice"}).status_code == 302
    response = client.post(
        f"/ledger/incidents/{incident.pk}/", {"action": "form106", "form106-reference": ""}
    )
    assert response.status_code == 422
    assert (
        client.post(
            f"/ledger/incidents/{incident.pk}/", {"action": "form106", "form106-reference": "TL-0042"}
        ).status_code
        == 302
    )
    incident.refresh_from_db()
    assert not incident.open and incident.form_106_reference == "TL-0042"
    assert "Theft or loss to report to the DEA" not in client.get("/ledger/").content.decode()


def test_an_overdue_notice_is_flagged(client, nurse, book):
    services.loss_record(actor=Actor(user=nurse), lot=book, mg=10, reason="missing", loss_type="other")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Incident.objects.update(notice_due=yesterday)  # as if discovered days ago and not yet reported
    _as(client, nurse)
    page = client.get("/ledger/incidents/").content.decode()
    assert f"due {yesterday:%a} {yesterday.day}" in page and "overdue" in page
    assert "overdue" in client.get("/ledger/").content.decode()


def test_an_open_vial_past_its_beyond_use_date_is_flagged_on_the_stock_page(client, nurse, physician, book):
    services.waste_record(
        actor=Actor(user=nurse), lot=book, mg=40, manner="sink", reason="drawn", witness=physician
    )
    Lot.objects.filter(pk=book.pk).update(first_punctured_at=timezone.now() - datetime.timedelta(days=30))
    _as(client, nurse)
    page = client.get("/ledger/").content.decode()
    assert "open vial past its beyond-use date" in page
    assert "waste its 460 mg (9.20 mL)" in page
