"""The controlled-substance ledger in a clinic's day: a nurse receives a box of ketamine, gives a
dose at the chair (the session posts it), wastes the opened vial's remainder with a physician
witnessing at the same screen, the two count the lot and the count matches the book; the clinic
admin downloads the inspector's CSV and every line is there."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.ledger import services as ledger
from ketacare.ledger.models import Entry, Lot
from tests.browser.test_session import sign_in
from tests.conftest import PASSWORD
from tests.treatment_helpers import check_in, make_chair, make_eligible, ready_to_start, start_plan


@pytest.mark.django_db(transaction=True)
def test_a_box_received_a_dose_given_the_remainder_wasted_and_counted_all_on_the_inspectors_csv(
    live_server, page, browser, make_user, register
):
    doctor = make_user(Role.PHYSICIAN, username="drkim")
    nurse = make_user(Role.NURSE, username="nurseann")
    admin = make_user(Role.CLINIC_ADMIN, username="admin")
    registration = ledger.registration_create(
        actor=Actor(user=doctor), name="Main clinic", address="1 Main St", dea_number="AB1234563"
    )
    product = ledger.product_create(
        actor=Actor(user=doctor),
        code="ketamine-10-20",
        substance="ketamine",
        form="injection",
        concentration_mg_per_ml=Decimal(10),
        container_ml=Decimal(20),
        beyond_use_days=28,
    )
    ledger.inventory_record(
        actor=Actor(user=nurse),
        registration=registration,
        product=product,
        lines=[],
        at=timezone.now() - datetime.timedelta(days=1),
    )
    patient = register(given_name="Rosa", family_name="Marek")
    make_eligible(Actor(user=doctor), patient, routes=("iv_ketamine",))
    plan = start_plan(Actor(user=doctor), patient, make_chair("Chair 3", "Room B"))
    session = check_in(Actor(user=nurse), plan)
    ready_to_start(Actor(user=doctor), Actor(user=nurse), session, lot_number="K100")

    # The box arrives: five 20 mL vials of 10 mg/mL.
    sign_in(page, f"{live_server.url}/ledger/", nurse.username)
    page.get_by_role("button", name="Receive stock").click()
    page.get_by_label("Lot number").fill("K100")
    page.get_by_label("Expiry").fill((timezone.localdate() + datetime.timedelta(days=365)).isoformat())
    page.get_by_label("Containers received").fill("5")
    page.get_by_label("Supplier name").fill("Henry Schein")
    page.get_by_label("Supplier's DEA number").fill("PH1234563")
    page.get_by_label("Supplier address").fill("135 Duryea Road, Melville, NY")
    page.get_by_role("button", name="Record the receipt").click()
    expect(page.get_by_text("Received 1000 mg (100.00 mL) of lot K100.")).to_be_visible()

    # At the chair: the infusion starts and the ledger takes the prepared 40 mg off lot K100.
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    page.get_by_role("button", name="Start the infusion").click()
    expect(page.get_by_role("button", name="Stop the infusion")).to_be_visible()
    lot = Lot.objects.get(number="K100")
    assert lot.on_hand_mg == Decimal(960)

    # The opened vial's remainder (160 mg, 16 mL) is wasted; the physician witnesses at this screen.
    page.goto(f"{live_server.url}/ledger/lots/{lot.pk}/")
    expect(page.locator(".big-number")).to_have_text("960 mg (96.00 mL)")
    expect(page.locator("table.ledger-history")).to_contain_text("Marek, Rosa")
    page.get_by_text("Record a waste").click()
    waste = page.locator("#waste")
    waste.get_by_label("or (mL)").fill("16")
    waste.get_by_label("Reason").fill("Remainder of the opened vial")
    waste.get_by_label("Witness (username)").fill(doctor.username)
    waste.get_by_label("Witness's password").fill("not-the-password")
    waste.get_by_role("button", name="Record the waste").click()
    expect(page.get_by_text("That username and password cannot confirm this.").first).to_be_visible()
    assert not Entry.objects.filter(kind="waste").exists()
    waste = page.locator("#waste")
    expect(waste.get_by_label("or (mL)")).to_have_value("16")  # what was typed is kept
    waste.get_by_label("Witness's password").fill(PASSWORD)
    waste.get_by_role("button", name="Record the waste").click()
    expect(page.get_by_text("Waste of 160 mg (16.00 mL) recorded, witnessed by drkim.")).to_be_visible()
    expect(page.locator(".big-number")).to_have_text("800 mg (80.00 mL)")

    # The two count the lot: four full vials, as the book says.
    page.get_by_text("Record a count").click()
    count = page.locator("#count")
    count.get_by_label("Counted (mg)").fill("800")
    count.get_by_label("Witness (username)").fill(doctor.username)
    count.get_by_label("Witness's password").fill(PASSWORD)
    count.get_by_role("button", name="Record the count").click()
    expect(page.get_by_text("The count matches the book.")).to_be_visible()

    # The clinic admin downloads the inspector's CSV: every line of the day is there.
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin_page = admin_context.new_page()
    sign_in(admin_page, f"{live_server.url}/ledger/export/", admin.username)
    admin_page.get_by_label("From").fill((timezone.localdate() - datetime.timedelta(days=2)).isoformat())
    admin_page.get_by_label("To").fill(timezone.localdate().isoformat())
    with admin_page.expect_download() as download:
        admin_page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))  # noqa: SIM115
    admin_context.close()
    assert [(r["kind"], r["quantity_mg"], r["balance_after_mg"]) for r in rows] == [
        ("inventory", "0", ""),
        ("receipt", "1000", "1000"),
        ("administration", "-40", "960"),
        ("waste", "-160", "800"),
        ("count", "0", "800"),
    ]
    given = rows[2]
    assert (given["patient_name"], given["by"], given["lot"]) == ("Rosa Marek", "Nurse Tester", "K100")
    assert (rows[3]["witness"], rows[4]["counted_mg"]) == ("Physician Tester", "800")
