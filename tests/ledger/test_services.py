"""The ledger's writes as the clinic makes them (21 CFR 1304; clinical reference section 6): setting
up a location and its products, the initial and later inventories, receipts, witnessed waste,
counts, losses, corrections, resolving a discrepancy. Every refusal leaves the book as it was; the
database itself refuses to change or delete an entry."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.accounts.signin import REAUTH_FAILED
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.clinical import ledger as rules
from ketacare.clinical.ledger import Kind
from ketacare.ledger import services
from ketacare.ledger.models import Discrepancy, Entry, Incident, Lot, Product, Registration
from ketacare.ledger.services import InventoryLine
from tests.conftest import PASSWORD
from tests.ledger.conftest import K100_MG, SUPPLIER, days_ago, in_days, receive, snapshot

pytestmark = pytest.mark.django_db

APPEND_ONLY = "ledger entries are append-only: record a correction"


def _events(object_type: str, action: str = "create") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=object_type, action=action).order_by("seq"))


@pytest.fixture
def witness(physician):
    return physician


def _waste(nurse_actor, lot, mg="25", witness=None, **kw):
    return services.waste_record(
        actor=nurse_actor,
        lot=lot,
        mg=mg,
        manner=kw.pop("manner", "Rendered unrecoverable in the waste container"),
        reason=kw.pop("reason", "Vial dropped and cracked"),
        witness=witness,
        **kw,
    )


# --- setting up a location and its products


def test_a_physician_opens_a_ledger_for_a_registered_location(doctor):
    registration = services.registration_create(
        actor=doctor, name=" Main clinic ", address="1 Main St, Springfield", dea_number=" ab1234563 "
    )
    assert (registration.name, registration.address, registration.dea_number) == (
        "Main clinic",
        "1 Main St, Springfield",
        "AB1234563",
    )
    assert str(registration) == "Main clinic (DEA AB1234563)"
    assert [e.object_id for e in _events("ledger.registration")] == [str(registration.pk)]


def test_the_clinic_admin_may_open_a_ledger_but_a_nurse_may_not(clinic_admin, nurse_actor):
    services.registration_create(
        actor=Actor(user=clinic_admin), name="Annex", address="2 Elm St", dea_number="AB1234563"
    )
    with pytest.raises(ValidationError) as refused:
        services.registration_create(
            actor=nurse_actor, name="Other", address="3 Oak St", dea_number="MS9876547"
        )
    assert refused.value.messages == ["Only a physician or the clinic admin sets up the ledger."]
    assert list(Registration.objects.values_list("dea_number", flat=True)) == ["AB1234563"]


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("AB1234564", "The check digit does not match: the DEA number has been mistyped."),
        ("QB1234563", "Q is not a DEA registrant type: the number's first letter is wrong."),
        ("AB12345", "A DEA number is two letters and seven digits, such as AB1234563."),
    ],
)
def test_a_location_with_a_bad_dea_number_is_refused(doctor, number, problem):
    with pytest.raises(ValidationError) as refused:
        services.registration_create(actor=doctor, name="Main clinic", address="1 Main St", dea_number=number)
    assert refused.value.message_dict == {"dea_number": [problem]}
    assert Registration.objects.count() == 0
    assert _events("ledger.registration") == []


def test_a_location_without_its_name_or_address_is_refused(doctor):
    with pytest.raises(ValidationError) as refused:
        services.registration_create(actor=doctor, name=" ", address="", dea_number="AB1234563")
    assert refused.value.message_dict == {
        "name": ["Give the name the location is registered under."],
        "address": ["Give the registered address."],
    }
    assert Registration.objects.count() == 0


def test_a_dea_number_has_one_ledger(doctor, registration):
    with pytest.raises(ValidationError) as refused:
        services.registration_create(actor=doctor, name="Again", address="1 Main St", dea_number="ab1234563")
    assert refused.value.message_dict == {"dea_number": ["This DEA number already has a ledger."]}
    assert Registration.objects.count() == 1


def test_a_ketamine_vial_is_set_up_by_concentration_and_volume(ketamine):
    assert str(ketamine) == "Ketamine 50 mg/mL, 10 mL vial"
    assert ketamine.mg_per_container == Decimal("500.0000")
    assert ketamine.describe(Decimal(35)) == "35 mg (0.70 mL)"
    assert [e.object_id for e in _events("ledger.product")] == [str(ketamine.pk)]


def test_esketamine_is_set_up_in_28_mg_devices(esketamine):
    assert esketamine.mg_per_device == Decimal(28)
    assert str(esketamine) == "Esketamine nasal spray 28 mg/device, 2 per pack"
    assert esketamine.mg_per_container == Decimal("56.0000")
    assert esketamine.describe(Decimal(56)) == "56 mg (2 devices)"


@pytest.mark.parametrize(
    ("kw", "errors"),
    [
        (
            {"substance": "esketamine", "form": "injection", "concentration_mg_per_ml": Decimal(50)},
            {"form": ["Esketamine is stocked as the nasal spray."]},
        ),
        (
            {"substance": "morphine", "form": "injection"},
            {"substance": ["The substance is ketamine or esketamine."]},
        ),
        ({"substance": "ketamine", "form": "tablet"}, {"form": ["The form is injection or nasal spray."]}),
        (
            {"substance": "ketamine", "form": "injection", "concentration_mg_per_ml": Decimal(50)},
            {
                "__all__": [
                    "A solution has a concentration and a container volume; a nasal spray has mg per "
                    "device and devices per pack."
                ]
            },
        ),
    ],
)
def test_a_product_that_does_not_add_up_is_refused(doctor, kw, errors):
    with pytest.raises(ValidationError) as refused:
        services.product_create(actor=doctor, code="bad", **kw)
    assert refused.value.message_dict == errors
    assert Product.objects.count() == 0


# --- inventories


def test_the_initial_inventory_opens_the_book_with_each_lot_on_hand(k100, opened, nurse):
    (entry,) = Entry.objects.filter(lot=k100)
    assert (entry.kind, entry.quantity_mg, entry.counted_mg, entry.balance_after_mg) == (
        Kind.INVENTORY,
        K100_MG,
        K100_MG,
        K100_MG,
    )
    assert (entry.business, entry.at, entry.by) == ("opening", opened, nurse)
    assert (k100.on_hand_mg, k100.expiry) == (K100_MG, in_days(300))
    # esketamine: nothing on hand, one zero line without a lot
    zero = Entry.objects.get(product__substance="esketamine")
    assert (zero.kind, zero.lot, zero.quantity_mg, zero.counted_mg) == (Kind.INVENTORY, None, 0, 0)
    assert len(_events("ledger.entry")) == 2


def test_a_later_inventory_compares_each_lot_with_the_book_and_opens_a_discrepancy(
    nurse_actor, registration, ketamine, k100
):
    k200 = receive(nurse_actor, registration, ketamine, "K200").lot  # 500 mg, not named below
    entries = services.inventory_record(
        actor=nurse_actor,
        registration=registration,
        product=ketamine,
        lines=[InventoryLine("K100", Decimal(950))],
        business="close",
    )
    assert [
        (e.lot, e.kind, e.quantity_mg, e.counted_mg, e.balance_after_mg, e.business) for e in entries
    ] == [
        (k100, Kind.INVENTORY, 0, Decimal(950), K100_MG, "close"),
        (k200, Kind.INVENTORY, 0, Decimal(0), Decimal(500), "close"),
    ]
    short, missing = Discrepancy.objects.order_by("lot__number")
    assert (short.lot, short.book_mg, short.counted_mg, short.difference_mg) == (k100, K100_MG, 950, -50)
    assert (missing.lot, missing.book_mg, missing.counted_mg) == (k200, 500, 0)
    assert short.entry == entries[0] and short.resolved_at is None
    # the book is unchanged until a correction or a loss
    assert dict(Lot.objects.values_list("number", "on_hand_mg")) == {"K100": K100_MG, "K200": Decimal(500)}
    # every entry and every discrepancy is in the audit trail
    assert {int(e.object_id) for e in _events("ledger.discrepancy")} == {short.pk, missing.pk}


def test_a_later_inventory_that_matches_the_book_opens_nothing(nurse_actor, registration, ketamine, k100):
    services.inventory_record(
        actor=nurse_actor, registration=registration, product=ketamine, lines=[InventoryLine("K100", K100_MG)]
    )
    assert Discrepancy.objects.count() == 0
    assert Entry.objects.filter(kind=Kind.INVENTORY, lot=k100).count() == 2


@pytest.mark.parametrize(
    ("lines", "business", "at_days", "errors"),
    [
        (
            [InventoryLine("K100", Decimal(1)), InventoryLine("K100", Decimal(2))],
            "opening",
            0,
            {"lot": ["A lot is named twice in this inventory."]},
        ),
        (
            [InventoryLine("K100", Decimal(-1))],
            "opening",
            0,
            {"mg": ["An inventory counts what is on hand: 0 mg or more."]},
        ),
        (
            [InventoryLine("K100", K100_MG)],
            "noon",
            0,
            {"business": ["Say whether this is the opening or the close of business."]},
        ),
        (
            [InventoryLine("K900", Decimal(5))],
            "opening",
            0,
            {"expiry": ["Give the expiry date of lot K900."]},
        ),
        (
            [InventoryLine("K100", K100_MG)],
            "opening",
            -1,
            {"at": ["A ledger entry cannot be dated in the future."]},
        ),
    ],
)
def test_a_later_inventory_that_cannot_be_right_is_refused(
    nurse_actor, registration, ketamine, k100, lines, business, at_days, errors
):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.inventory_record(
            actor=nurse_actor,
            registration=registration,
            product=ketamine,
            lines=lines,
            business=business,
            at=days_ago(at_days) if at_days else None,
        )
    assert refused.value.message_dict == errors
    assert snapshot() == before


def test_an_inventory_dated_before_the_initial_one_is_refused(nurse_actor, registration, ketamine, opened):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.inventory_record(
            actor=nurse_actor,
            registration=registration,
            product=ketamine,
            lines=[InventoryLine("K100", K100_MG)],
            at=opened - datetime.timedelta(hours=1),
        )
    assert list(refused.value.message_dict) == ["at"]
    assert refused.value.message_dict["at"][0].startswith("This is dated before the initial inventory of ")
    assert snapshot() == before


# --- receipts


def test_a_receipt_adds_a_new_lot_with_the_supplier_and_the_date_received(
    nurse_actor, nurse, registration, ketamine, opened
):
    at = days_ago(1)
    entry = receive(
        nurse_actor,
        registration,
        ketamine,
        " K200 ",
        containers=3,
        expiry=in_days(400),
        invoice=" INV-77 ",
        at=at,
    )
    lot = Lot.objects.get(number="K200")
    assert (lot.on_hand_mg, lot.expiry, lot.registration, lot.product) == (
        Decimal(1500),
        in_days(400),
        registration,
        ketamine,
    )
    assert (entry.kind, entry.lot, entry.quantity_mg, entry.balance_after_mg, entry.containers) == (
        Kind.RECEIPT,
        lot,
        Decimal(1500),
        Decimal(1500),
        3,
    )
    assert (entry.supplier_name, entry.supplier_address, entry.supplier_dea, entry.invoice) == (
        "Henry Schein",
        "135 Duryea Road, Melville, NY 11747",
        "PH1234563",
        "INV-77",
    )
    assert (entry.at, entry.by) == (at, nurse)
    assert _events("ledger.entry")[-1].object_id == str(entry.pk)


def test_a_receipt_of_a_lot_already_on_the_book_adds_to_it(nurse_actor, registration, ketamine, k100):
    entry = receive(nurse_actor, registration, ketamine, "K100", containers=1, expiry=in_days(300))
    k100.refresh_from_db()
    assert k100.on_hand_mg == entry.balance_after_mg == Decimal(1500)


def test_a_receipt_of_esketamine_counts_devices_by_the_pack(nurse_actor, registration, esketamine, opened):
    entry = receive(nurse_actor, registration, esketamine, "SP1", containers=4)
    assert entry.quantity_mg == Decimal(224)  # 4 packs x 2 devices x 28 mg
    assert entry.quantity_text == "224 mg (8 devices)"


@pytest.mark.parametrize(
    ("kw", "errors"),
    [
        (
            {"supplier_dea": "PH1234564"},
            {
                "supplier_dea": [
                    "Supplier's DEA number: The check digit does not match: the DEA number has been mistyped."
                ]
            },
        ),
        (
            {"supplier_dea": ""},
            {
                "supplier_dea": [
                    "Supplier's DEA number: A DEA number is two letters and seven digits, such as AB1234563."
                ]
            },
        ),
        (
            {"supplier_name": " ", "supplier_address": ""},
            {
                "supplier_name": ["Give the supplier's name."],
                "supplier_address": ["Give the supplier's address."],
            },
        ),
        ({"containers": 0}, {"containers": ["Give the number of containers received (1 or more)."]}),
        ({"lot_number": " "}, {"lot": ["Give the lot number."]}),
    ],
)
def test_a_receipt_missing_what_the_rule_asks_is_refused(
    nurse_actor, registration, ketamine, k100, kw, errors
):
    before = snapshot()
    args = {"lot_number": "K200", **SUPPLIER, **kw}
    with pytest.raises(ValidationError) as refused:
        services.receipt_record(
            actor=nurse_actor,
            registration=registration,
            product=ketamine,
            expiry=in_days(300),
            containers=args.pop("containers", 2),
            **args,
        )
    assert refused.value.message_dict == errors
    assert snapshot() == before


def test_a_receipt_without_an_expiry_date_is_refused(nurse_actor, registration, ketamine, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.receipt_record(
            actor=nurse_actor,
            registration=registration,
            product=ketamine,
            lot_number="K200",
            expiry=None,
            containers=1,
            **SUPPLIER,
        )
    assert refused.value.message_dict == {"expiry": ["Give the expiry date of lot K200."]}
    assert snapshot() == before


def test_an_expired_lot_is_not_received(nurse_actor, registration, ketamine, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        receive(nurse_actor, registration, ketamine, "K200", expiry=in_days(-1))
    assert refused.value.message_dict == {
        "expiry": [f"Lot K200 expired on {in_days(-1):%Y-%m-%d}: an expired lot is not received."]
    }
    assert snapshot() == before


def test_a_receipt_naming_a_known_lot_with_another_expiry_is_refused(
    nurse_actor, registration, ketamine, k100
):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        receive(nurse_actor, registration, ketamine, "K100", expiry=in_days(301))
    assert refused.value.message_dict == {
        "expiry": [
            f"Lot K100 is on the book with the expiry {in_days(300):%Y-%m-%d}, not {in_days(301):%Y-%m-%d}."
        ]
    }
    assert snapshot() == before


def test_a_receipt_before_any_initial_inventory_is_refused(nurse_actor, registration, ketamine):
    with pytest.raises(ValidationError) as refused:
        receive(nurse_actor, registration, ketamine, "K200")
    assert refused.value.message_dict == {
        "at": [
            "Record the initial inventory of Ketamine 50 mg/mL, 10 mL vial first "
            "(zero if nothing is on hand)."
        ]
    }
    assert (Entry.objects.count(), Lot.objects.count()) == (0, 0)


def test_a_receipt_dated_before_the_initial_inventory_is_refused(nurse_actor, registration, ketamine, opened):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        receive(nurse_actor, registration, ketamine, "K200", at=opened - datetime.timedelta(minutes=1))
    assert list(refused.value.message_dict) == ["at"]
    assert "dated before the initial inventory" in refused.value.message_dict["at"][0]
    assert snapshot() == before


def test_a_receipt_dated_in_the_future_is_refused(nurse_actor, registration, ketamine, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        receive(nurse_actor, registration, ketamine, "K200", at=days_ago(-1))
    assert refused.value.message_dict == {"at": ["A ledger entry cannot be dated in the future."]}
    assert snapshot() == before


def test_the_front_desk_records_nothing_and_nobody_records_anonymously(
    front_desk, registration, ketamine, k100
):
    before = snapshot()
    with pytest.raises(ValidationError) as desk:
        receive(Actor(user=front_desk), registration, ketamine, "K200")
    assert desk.value.messages == ["Only nurses and physicians record ledger entries."]
    with pytest.raises(ValidationError) as anonymous:
        services.loss_record(actor=Actor(user=None), lot=k100, mg=1, reason="Missing")
    assert anonymous.value.messages == ["A ledger entry is recorded by a signed-in clinician."]
    assert snapshot() == before


# --- waste, witnessed at the time


def test_a_witnessed_waste_takes_the_quantity_off_the_lot(nurse_actor, nurse, witness, k100):
    entry = _waste(nurse_actor, k100, mg="25", witness=witness)
    k100.refresh_from_db()
    assert k100.on_hand_mg == entry.balance_after_mg == Decimal(975)
    assert (entry.kind, entry.quantity_mg, entry.by, entry.witness) == (
        Kind.WASTE,
        Decimal(-25),
        nurse,
        witness,
    )
    assert (entry.manner, entry.reason) == (
        "Rendered unrecoverable in the waste container",
        "Vial dropped and cracked",
    )
    assert entry.quantity_text == "25 mg (0.50 mL)"
    (event,) = [e for e in _events("ledger.entry") if e.object_id == str(entry.pk)]
    assert event.detail == {"witness": witness.pk}


@pytest.mark.parametrize(
    "who",
    ["recorder", "inactive nurse", "front desk", "clinic admin", "nobody"],
)
def test_a_waste_without_a_proper_witness_is_refused_and_writes_nothing(
    nurse_actor, nurse, make_user, k100, who
):
    if who == "recorder":
        witness, message = nurse, "The witness must be a different clinician from the one recording."
    elif who == "nobody":
        witness, message = None, "A second clinician must witness this."
    else:
        role = {
            "inactive nurse": Role.NURSE,
            "front desk": Role.FRONT_DESK,
            "clinic admin": Role.CLINIC_ADMIN,
        }[who]
        witness = make_user(role, f"witness.{role.value}")
        if who == "inactive nurse":
            witness.is_active = False
            witness.save()
        message = "The witness must be an active nurse or physician."
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        _waste(nurse_actor, k100, witness=witness)
    assert refused.value.message_dict == {"witness": [message]}
    assert snapshot() == before


def test_a_waste_larger_than_the_lot_holds_is_refused_and_writes_nothing(nurse_actor, witness, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        _waste(nurse_actor, k100, mg="1000.5", witness=witness)
    assert refused.value.message_dict == {
        "mg": ["Lot K100 holds 1000 mg (20.00 mL): not enough for 1000.5 mg (20.01 mL)."]
    }
    assert snapshot() == before


def test_the_whole_lot_may_be_wasted_down_to_zero(nurse_actor, witness, k100):
    entry = _waste(nurse_actor, k100, mg=K100_MG, witness=witness)
    k100.refresh_from_db()
    assert k100.on_hand_mg == entry.balance_after_mg == 0


@pytest.mark.parametrize(
    ("mg", "manner", "reason", "errors"),
    [
        ("0", "Destroyed", "Expired", {"mg": ["The quantity must be more than 0 mg."]}),
        ("-5", "Destroyed", "Expired", {"mg": ["The quantity must be more than 0 mg."]}),
        ("five", "Destroyed", "Expired", {"mg": ["Give the quantity in mg, as a number."]}),
        ("NaN", "Destroyed", "Expired", {"mg": ["Give the quantity in mg, as a number."]}),
        ("5", " ", "Expired", {"manner": ["Give the reason."]}),
        ("5", "Destroyed", "", {"reason": ["Give the reason."]}),
    ],
)
def test_a_waste_without_its_quantity_manner_or_reason_is_refused(
    nurse_actor, witness, k100, mg, manner, reason, errors
):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        _waste(nurse_actor, k100, mg=mg, manner=manner, reason=reason, witness=witness)
    assert refused.value.message_dict == errors
    assert snapshot() == before


def test_an_expired_lot_may_still_be_wasted(nurse_actor, witness, k100):
    Lot.objects.filter(pk=k100.pk).update(expiry=in_days(-10))  # time has passed
    entry = _waste(
        nurse_actor, k100, mg=K100_MG, witness=witness, manner="Reverse distributor", reason="Expired"
    )
    assert entry.balance_after_mg == 0


def test_a_waste_dated_in_the_future_or_before_the_initial_inventory_is_refused(
    nurse_actor, witness, k100, opened
):
    before = snapshot()
    with pytest.raises(ValidationError) as future:
        _waste(nurse_actor, k100, witness=witness, at=days_ago(-1))
    assert future.value.message_dict == {"at": ["A ledger entry cannot be dated in the future."]}
    with pytest.raises(ValidationError) as early:
        _waste(nurse_actor, k100, witness=witness, at=opened - datetime.timedelta(seconds=1))
    assert "dated before the initial inventory" in early.value.message_dict["at"][0]
    assert snapshot() == before


def test_countersigning_is_only_for_a_waste_posted_without_a_witness(nurse_actor, make_user, witness, k100):
    waste = _waste(nurse_actor, k100, witness=witness)
    other = make_user(Role.NURSE, "nurse.other")
    before = snapshot()
    for entry in (waste, Entry.objects.get(lot=k100, kind=Kind.INVENTORY)):
        with pytest.raises(ValidationError) as refused:
            services.countersign(actor=Actor(user=other), entry=entry, witness=other)
        assert refused.value.messages == ["Only a waste recorded without a witness is countersigned."]
    assert snapshot() == before


# --- counts, discrepancies, losses and corrections


def test_a_count_that_matches_the_book_records_it_and_opens_nothing(nurse_actor, witness, k100):
    entry = services.count_record(actor=nurse_actor, lot=k100, counted_mg="1000", witness=witness)
    assert (entry.kind, entry.quantity_mg, entry.counted_mg, entry.balance_after_mg, entry.witness) == (
        Kind.COUNT,
        0,
        K100_MG,
        K100_MG,
        witness,
    )
    assert Discrepancy.objects.count() == 0


def test_a_short_count_opens_a_discrepancy_and_leaves_the_book_alone(nurse_actor, witness, k100):
    entry = services.count_record(actor=nurse_actor, lot=k100, counted_mg="987.5", witness=witness)
    (discrepancy,) = Discrepancy.objects.all()
    assert (discrepancy.entry, discrepancy.lot, discrepancy.book_mg, discrepancy.counted_mg) == (
        entry,
        k100,
        K100_MG,
        Decimal("987.5"),
    )
    assert discrepancy.difference_mg == Decimal("-12.5")
    k100.refresh_from_db()
    assert k100.on_hand_mg == K100_MG
    assert [e.object_id for e in _events("ledger.discrepancy")] == [str(discrepancy.pk)]


@pytest.mark.parametrize(
    ("counted", "witness_is", "errors"),
    [
        ("-1", "physician", {"counted_mg": ["A count is 0 mg or more."]}),
        ("lots", "physician", {"counted_mg": ["Give the count in mg, as a number."]}),
        (
            "1000",
            "recorder",
            {"witness": ["The witness must be a different clinician from the one recording."]},
        ),
        ("1000", "nobody", {"witness": ["A second clinician must witness this."]}),
    ],
)
def test_a_count_that_cannot_be_right_is_refused(
    nurse_actor, nurse, physician, k100, counted, witness_is, errors
):
    witness = {"physician": physician, "recorder": nurse, "nobody": None}[witness_is]
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.count_record(actor=nurse_actor, lot=k100, counted_mg=counted, witness=witness)
    assert refused.value.message_dict == errors
    assert snapshot() == before


def test_a_loss_takes_stock_off_the_book_with_what_happened(nurse_actor, k100):
    entry = services.loss_record(actor=nurse_actor, lot=k100, mg="500", reason=" Vial missing from the safe ")
    k100.refresh_from_db()
    assert k100.on_hand_mg == entry.balance_after_mg == Decimal(500)
    assert (entry.kind, entry.quantity_mg, entry.reason, entry.witness) == (
        Kind.LOSS,
        Decimal(-500),
        "Vial missing from the safe",
        None,
    )


def test_a_loss_larger_than_the_lot_or_without_a_reason_is_refused(nurse_actor, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as too_much:
        services.loss_record(actor=nurse_actor, lot=k100, mg="1000.0001", reason="Stolen")
    assert too_much.value.message_dict == {
        "mg": ["Lot K100 holds 1000 mg (20.00 mL): not enough for 1000.0001 mg (20.00 mL)."]
    }
    with pytest.raises(ValidationError) as why:
        services.loss_record(actor=nurse_actor, lot=k100, mg="10", reason="  ")
    assert why.value.message_dict == {"reason": ["Give the reason."]}
    assert snapshot() == before


def test_a_discrepancy_is_resolved_once_with_what_was_found(nurse_actor, nurse, witness, k100):
    services.count_record(actor=nurse_actor, lot=k100, counted_mg="500", witness=witness)
    discrepancy = Discrepancy.objects.get()
    loss = services.loss_record(actor=nurse_actor, lot=k100, mg="500", reason="Vial broken, not recorded")
    resolved = services.discrepancy_resolve(
        actor=nurse_actor, discrepancy=discrepancy, resolution=f" Loss recorded (entry {loss.pk}) "
    )
    assert (resolved.resolution, resolved.resolved_by) == (f"Loss recorded (entry {loss.pk})", nurse)
    assert resolved.resolved_at is not None
    assert [e.detail for e in _events("ledger.discrepancy", "update")] == [{"resolved": True}]
    with pytest.raises(ValidationError) as again:
        services.discrepancy_resolve(actor=nurse_actor, discrepancy=discrepancy, resolution="Again")
    assert again.value.messages == ["This discrepancy is already resolved."]
    discrepancy.refresh_from_db()
    assert discrepancy.resolution == f"Loss recorded (entry {loss.pk})"


def test_a_discrepancy_needs_its_resolution_written(nurse_actor, witness, k100):
    services.count_record(actor=nurse_actor, lot=k100, counted_mg="500", witness=witness)
    discrepancy = Discrepancy.objects.get()
    with pytest.raises(ValidationError) as refused:
        services.discrepancy_resolve(actor=nurse_actor, discrepancy=discrepancy, resolution=" ")
    assert refused.value.message_dict == {"resolution": ["Give the reason."]}
    discrepancy.refresh_from_db()
    assert (discrepancy.resolved_at, discrepancy.resolution) == (None, "")


def test_a_receipt_entered_in_error_is_reversed_by_a_new_entry(
    nurse_actor, nurse, registration, ketamine, k100
):
    receipt = receive(nurse_actor, registration, ketamine, "K200", containers=2)
    correction = services.correction_record(
        actor=nurse_actor, entry=receipt, reason="Delivered to the annex, not here"
    )
    lot = receipt.lot
    lot.refresh_from_db()
    assert lot.on_hand_mg == correction.balance_after_mg == 0
    assert (
        correction.kind,
        correction.quantity_mg,
        correction.corrects,
        correction.reason,
        correction.by,
    ) == (
        Kind.CORRECTION,
        Decimal(-1000),
        receipt,
        "Delivered to the annex, not here",
        nurse,
    )
    receipt.refresh_from_db()
    assert (receipt.quantity_mg, receipt.corrected_by) == (Decimal(1000), correction)  # the original stands


def test_a_waste_entered_in_error_is_reversed_back_onto_the_lot(nurse_actor, witness, k100):
    waste = _waste(nurse_actor, k100, mg="25", witness=witness)
    correction = services.correction_record(actor=nurse_actor, entry=waste, reason="Wrong lot")
    k100.refresh_from_db()
    assert k100.on_hand_mg == correction.balance_after_mg == K100_MG
    assert correction.quantity_mg == Decimal(25)


def test_an_entry_is_corrected_once(nurse_actor, registration, ketamine, k100):
    receipt = receive(nurse_actor, registration, ketamine, "K200")
    services.correction_record(actor=nurse_actor, entry=receipt, reason="Error")
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.correction_record(actor=nurse_actor, entry=receipt, reason="Error again")
    assert refused.value.messages == ["This entry is already corrected."]
    assert snapshot() == before


def test_a_correction_that_would_take_the_lot_below_zero_is_refused(
    nurse_actor, witness, registration, ketamine, k100
):
    receipt = receive(nurse_actor, registration, ketamine, "K200")  # 500 mg
    _waste(nurse_actor, receipt.lot, mg="100", witness=witness)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.correction_record(actor=nurse_actor, entry=receipt, reason="Error")
    assert refused.value.message_dict == {
        "mg": ["Lot K200 holds 400 mg (8.00 mL): not enough for 500 mg (10.00 mL)."]
    }
    assert snapshot() == before


def test_a_count_or_a_later_inventory_moved_nothing_and_is_not_reversed(
    nurse_actor, witness, registration, ketamine, k100
):
    count = services.count_record(actor=nurse_actor, lot=k100, counted_mg="1000", witness=witness)
    (inventory,) = services.inventory_record(
        actor=nurse_actor, registration=registration, product=ketamine, lines=[InventoryLine("K100", K100_MG)]
    )
    before = snapshot()
    for entry in (count, inventory):
        with pytest.raises(ValidationError) as refused:
            services.correction_record(actor=nurse_actor, entry=entry, reason="Error")
        assert refused.value.messages == [
            "This entry moved no stock: record a new inventory or count instead."
        ]
    assert snapshot() == before


def test_a_correction_without_a_reason_or_dated_before_the_initial_inventory_is_refused(
    nurse_actor, registration, ketamine, k100, opened
):
    receipt = receive(nurse_actor, registration, ketamine, "K200")
    before = snapshot()
    with pytest.raises(ValidationError) as why:
        services.correction_record(actor=nurse_actor, entry=receipt, reason=" ")
    assert why.value.message_dict == {"reason": ["Give the reason."]}
    with pytest.raises(ValidationError) as early:
        services.correction_record(
            actor=nurse_actor, entry=receipt, reason="Error", at=opened - datetime.timedelta(hours=2)
        )
    assert "dated before the initial inventory" in early.value.message_dict["at"][0]
    with pytest.raises(ValidationError) as future:
        services.correction_record(actor=nurse_actor, entry=receipt, reason="Error", at=days_ago(-1))
    assert future.value.message_dict == {"at": ["A ledger entry cannot be dated in the future."]}
    assert snapshot() == before


def test_a_correction_cannot_be_dated_before_the_entry_it_corrects(nurse_actor, registration, ketamine, k100):
    receipt = receive(nurse_actor, registration, ketamine, "K200", at=days_ago(1))
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.correction_record(actor=nurse_actor, entry=receipt, reason="Error", at=days_ago(2))
    assert list(refused.value.message_dict) == ["at"]
    assert refused.value.message_dict["at"][0].startswith(
        "A correction cannot be dated before the entry it corrects"
    )
    assert snapshot() == before


# --- the database keeps the book append-only


def _row(entry_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quantity_mg, reason, balance_after_mg FROM ledger_entry WHERE id = %s", [entry_id]
        )
        return cursor.fetchone()


def test_the_database_refuses_to_change_an_entry_by_sql_or_through_the_orm(nurse_actor, witness, k100):
    entry = _waste(nurse_actor, k100, mg="25", witness=witness)
    row = _row(entry.pk)
    attempts = [
        lambda: connection.cursor().execute(
            "UPDATE ledger_entry SET quantity_mg = 0 WHERE id = %s", [entry.pk]
        ),
        lambda: Entry.objects.filter(pk=entry.pk).update(reason="Never happened"),
        lambda: Entry.objects.filter(pk=entry.pk).update(balance_after_mg=K100_MG),
    ]

    def save_edited():
        entry.reason = "Never happened"
        entry.save()

    attempts.append(save_edited)
    for attempt in attempts:
        with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
            attempt()
    assert _row(entry.pk) == row
    assert Entry.objects.get(pk=entry.pk).reason == "Vial dropped and cracked"


def test_the_database_refuses_to_delete_an_entry_by_sql_or_through_the_orm(nurse_actor, witness, k100):
    entry = _waste(nurse_actor, k100, mg="25", witness=witness)
    count, row = Entry.objects.count(), _row(entry.pk)
    attempts = [
        lambda: connection.cursor().execute("DELETE FROM ledger_entry WHERE id = %s", [entry.pk]),
        lambda: Entry.objects.filter(pk=entry.pk).delete(),
        lambda: Entry.objects.get(pk=entry.pk).delete(),
        lambda: connection.cursor().execute("DELETE FROM ledger_entry"),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
            attempt()
    assert Entry.objects.count() == count
    assert _row(entry.pk) == row


# --- the witness re-enters their password at the recorder's screen


def test_the_witness_is_the_account_whose_password_was_entered(nurse_actor, physician):
    assert (
        services.witness_authenticate(actor=nurse_actor, username=physician.username, password=PASSWORD)
        == physician
    )


def test_a_wrong_witness_password_reads_like_an_unknown_user_and_is_audited(
    nurse_actor, physician, make_user
):
    desk = make_user(Role.FRONT_DESK, "desk.witness")
    answers = []
    for username, password in [
        (physician.username, "wrong"),
        ("nobody.here", PASSWORD),
        (desk.username, PASSWORD),  # the right password of an account that cannot witness
    ]:
        with pytest.raises(ValidationError) as refused:
            services.witness_authenticate(actor=nurse_actor, username=username, password=password)
        answers.append(refused.value.message_dict)
    assert answers == [{"witness_password": [REAUTH_FAILED]}] * 3
    failures = list(AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).order_by("seq"))
    assert [f.detail.get("purpose") for f in failures] == ["ledger witness"] * 3
    assert failures[0].detail["username"] == physician.username
    assert failures[1].detail.get("unknown_account") is True
    assert (failures[2].object_id, failures[2].detail["reason"]) == (str(desk.pk), "not allowed")


def test_the_recorder_cannot_witness_themselves_whatever_the_password(nurse_actor, nurse):
    for password in (PASSWORD, "wrong"):
        with pytest.raises(ValidationError) as refused:
            services.witness_authenticate(actor=nurse_actor, username=nurse.username, password=password)
        assert refused.value.message_dict == {
            "witness": ["The witness must be a different clinician from the one recording."]
        }
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).exists()


def test_a_later_inventory_with_nothing_on_hand_and_nothing_on_the_book_is_still_recorded(
    nurse_actor, registration, esketamine, opened
):
    entries = services.inventory_record(
        actor=nurse_actor, registration=registration, product=esketamine, lines=[], business="close"
    )
    assert [(e.kind, e.lot, e.counted_mg, e.business) for e in entries] == [("inventory", None, 0, "close")]
    assert Entry.objects.filter(product=esketamine, kind="inventory").count() == 2


def test_an_inventory_naming_a_lot_with_another_expiry_is_refused(nurse_actor, registration, ketamine, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.inventory_record(
            actor=nurse_actor,
            registration=registration,
            product=ketamine,
            lines=[services.InventoryLine("K100", Decimal(1000), in_days(10))],
        )
    assert refused.value.message_dict == {
        "expiry": [
            f"Lot K100 is on the book with the expiry {k100.expiry:%Y-%m-%d}, not {in_days(10):%Y-%m-%d}."
        ]
    }
    assert snapshot() == before


def test_a_theft_of_two_lots_is_one_incident_with_its_dea_deadlines(
    nurse_actor, nurse, registration, ketamine, k100
):
    k200 = receive(nurse_actor, registration, ketamine, "K200", containers=2).lot
    discovered = days_ago(1)
    incident = services.incident_report(
        actor=nurse_actor,
        registration=registration,
        losses=[(k200, "1000"), (k100, "500")],
        loss_type="night break-in",
        description="Safe forced overnight; two boxes missing",
        discovered_at=discovered,
        police_notified=True,
        police_report="Springfield PD 26-10442",
    )
    deadlines = rules.incident_deadlines(timezone.localtime(discovered).date())
    assert (incident.notice_due, incident.form_106_due) == (deadlines.notice_due, deadlines.form_106_due)
    assert incident.open
    losses = list(incident.losses.order_by("lot__number"))
    assert [(e.lot.number, e.kind, e.quantity_mg, e.balance_after_mg) for e in losses] == [
        ("K100", "loss", Decimal(-500), Decimal(500)),
        ("K200", "loss", Decimal(-1000), Decimal(0)),
    ]
    assert all(e.reason == "Safe forced overnight; two boxes missing" and e.by == nurse for e in losses)


def test_a_theft_larger_than_a_lot_holds_is_refused_and_no_incident_is_left(nurse_actor, registration, k100):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.incident_report(
            actor=nurse_actor,
            registration=registration,
            losses=[(k100, "1000.5")],
            loss_type="employee pilferage",
            description="Count short",
        )
    assert "not enough for 1000.5 mg" in refused.value.message_dict["mg"][0]
    assert snapshot() == before
    assert not Incident.objects.exists()


def test_an_incident_closes_once_the_notice_is_sent_and_form_106_filed(doctor, nurse_actor, physician, k100):
    loss = services.loss_record(
        actor=nurse_actor, lot=k100, mg="500", reason="Vial missing", loss_type="other"
    )
    incident = loss.incident
    with pytest.raises(ValidationError) as refused:
        services.incident_notice_sent(actor=nurse_actor, incident=incident)
    assert refused.value.messages == [
        "Only a physician or the clinic admin records the DEA notice and Form 106."
    ]
    services.incident_notice_sent(actor=doctor, incident=incident)
    with pytest.raises(ValidationError) as refused:
        services.incident_form_106_filed(actor=doctor, incident=incident, reference=" ")
    assert refused.value.message_dict == {
        "reference": ["Give the reference the DEA gave the filed Form 106."]
    }
    filed = services.incident_form_106_filed(actor=doctor, incident=incident, reference="TL-2026-0042")
    assert (filed.open, filed.form_106_filed_by, filed.notice_sent_by) == (False, physician, physician)
    with pytest.raises(ValidationError):
        services.incident_notice_sent(actor=doctor, incident=incident)


def test_a_loss_entry_without_an_incident_is_refused_by_the_database(nurse, registration, ketamine, k100):
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            registration=registration,
            product=ketamine,
            lot=k100,
            kind="loss",
            at=timezone.now(),
            by=nurse,
            quantity_mg=Decimal(-1),
            balance_after_mg=Decimal(999),
        )
