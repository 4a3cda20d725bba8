"""A dose at the chair posts itself to the ledger (sessions.services.DoseStock, implemented by
ledger.services.DoseLedger): the prepared dose leaves the lot as the dose starts, the part not
given is wasted awaiting a witness when it stops early, and a dose the ledger refuses does not
start (the refusal is kept on the session)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.clinical.ledger import Kind
from ketacare.ledger import selectors
from ketacare.ledger import services as ledger
from ketacare.ledger.models import Countersignature, Entry, Lot, Registration
from ketacare.ledger.services import DoseLedger
from ketacare.sessions import services as sessions
from ketacare.sessions.models import TreatmentSession
from tests.conftest import sign_in
from tests.ledger.conftest import (
    IV_INFUSED_ML,
    IV_PREPARED_MG,
    K100_MG,
    in_days,
    iv_session,
    receive,
    snapshot,
)
from tests.treatment_helpers import ago, check_in, ready_to_start

pytestmark = pytest.mark.django_db

STOCK = DoseLedger()


def _start(nurse_actor, session, minutes_ago=50):
    at = ago(minutes_ago)
    sessions.dose_start(actor=nurse_actor, session=session, at=at, stock=STOCK)
    return at


def _stop_early(nurse_actor, session, start, infused_ml=Decimal("75.6")):
    return sessions.dose_stop(
        actor=nurse_actor,
        session=session,
        at=start + datetime.timedelta(minutes=30),
        infused_volume_ml=infused_ml,
        reason="BP 182/112 twice: infusion stopped",
        stock=STOCK,
    )


def test_an_iv_dose_start_posts_the_prepared_dose_from_the_orders_lot(doctor, nurse_actor, nurse, plan, k100):
    session = iv_session(doctor, nurse_actor, plan)
    order = session.orders.get(superseded_at__isnull=True)
    assert order.dose_given_mg == IV_PREPARED_MG
    start = _start(nurse_actor, session)
    (entry,) = Entry.objects.filter(kind=Kind.ADMINISTRATION)
    assert (entry.lot, entry.quantity_mg, entry.balance_after_mg) == (k100, -IV_PREPARED_MG, K100_MG - 40)
    assert (entry.patient_id, entry.session, entry.by, entry.at) == (
        session.patient_id,
        session,
        nurse,
        start,
    )
    assert entry.quantity_text == "40 mg (0.80 mL)"
    k100.refresh_from_db()
    assert k100.on_hand_mg == Decimal(960)
    assert k100.first_punctured_at == start  # the vial's beyond-use clock starts
    (event,) = AuditEvent.objects.filter(object_type="ledger.entry", object_id=str(entry.pk))
    assert (event.actor, event.patient_id) == (nurse, session.patient_id)
    assert TreatmentSession.objects.get(pk=session.pk).dose_started_at == start


def test_a_dose_given_in_full_posts_no_waste(doctor, nurse_actor, plan, k100):
    session = iv_session(doctor, nurse_actor, plan)
    start = _start(nurse_actor, session, minutes_ago=45)
    sessions.dose_stop(
        actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=40), stock=STOCK
    )
    assert list(Entry.objects.filter(session=session).values_list("kind", flat=True)) == [Kind.ADMINISTRATION]
    k100.refresh_from_db()
    assert k100.on_hand_mg == Decimal(960)


def test_an_infusion_stopped_early_wastes_the_part_not_given_awaiting_a_witness(
    doctor, nurse_actor, nurse, physician, plan, k100
):
    session = iv_session(doctor, nurse_actor, plan)
    start = _start(nurse_actor, session)
    _stop_early(nurse_actor, session, start)  # 75.6 of 100.8 mL: 30 mg given, 10 mg not
    session.refresh_from_db()
    assert (session.given_dose_mg, session.waste_mg) == (Decimal(30), Decimal(10))
    administration = Entry.objects.get(kind=Kind.ADMINISTRATION)
    waste = Entry.objects.get(kind=Kind.WASTE)
    assert (waste.lot, waste.quantity_mg, waste.witness, waste.by) == (k100, Decimal(-10), None, nurse)
    assert (waste.session, waste.patient_id, waste.at) == (
        session,
        session.patient_id,
        session.dose_stopped_at,
    )
    assert (waste.manner, waste.reason) == (
        "not given: dose stopped early",
        "BP 182/112 twice: infusion stopped",
    )
    # The 40 mg drawn up left the vial once: 30 mg went to the patient and 10 mg to waste.
    returned = Entry.objects.get(kind=Kind.CORRECTION)
    assert (returned.corrects, returned.quantity_mg, returned.session) == (
        administration,
        Decimal(10),
        session,
    )
    assert administration.quantity_mg + returned.quantity_mg == -session.given_dose_mg
    assert returned.reason == (
        "Dose stopped early: 30 mg (0.60 mL) given of 40 mg (0.80 mL) prepared; the rest is wasted."
    )
    k100.refresh_from_db()
    assert k100.on_hand_mg == waste.balance_after_mg == K100_MG - IV_PREPARED_MG
    assert list(selectors.awaiting_witness()) == [waste]
    # the dose given is the session's to amend, not the ledger's to reverse
    before = snapshot()
    for entry in (administration, returned):
        with pytest.raises(ValidationError) as refused:
            ledger.correction_record(actor=nurse_actor, entry=entry, reason="Wrong")
        assert refused.value.messages == [
            "An administration is corrected through its session (an amendment), not on the ledger."
        ]
    assert snapshot() == before

    signature = ledger.countersign(actor=Actor(user=physician), entry=waste, witness=physician)
    assert (signature.entry, signature.witness) == (waste, physician)
    assert list(selectors.awaiting_witness()) == []
    (event,) = AuditEvent.objects.filter(object_type="ledger.countersignature")
    assert event.detail == {"entry": waste.pk}
    # witnessed once, and the waste itself is not changed
    with pytest.raises(ValidationError) as again:
        ledger.countersign(actor=Actor(user=physician), entry=waste, witness=physician)
    assert again.value.messages == ["This waste is already witnessed."]
    assert Countersignature.objects.count() == 1
    waste.refresh_from_db()
    assert waste.witness is None and waste.quantity_mg == Decimal(-10)


def test_the_lot_page_reads_each_entry_of_a_dose_stopped_early_until_its_waste_is_witnessed(
    client, doctor, nurse_actor, nurse, physician, plan, k100
):
    """The lot's history names the dose, what came back to the vial, and the waste: awaiting a
    witness until one countersigns, then naming them."""
    session = iv_session(doctor, nurse_actor, plan)
    _stop_early(nurse_actor, session, _start(nurse_actor, session))
    waste = Entry.objects.get(kind=Kind.WASTE)
    sign_in(client, nurse)

    def line(entry: Entry) -> str:
        page = client.get(reverse("ledger:lot", args=[k100.pk])).content.decode()
        row = page.split(f"<td>{entry.pk}</td>", 1)[1].split("</tr>", 1)[0]
        return " ".join(row.split())

    assert "−10 mg (0.20 mL)" in line(waste)
    assert "awaiting witness" in line(waste)
    administration = Entry.objects.get(kind=Kind.ADMINISTRATION)
    assert "−40 mg (0.80 mL)" in line(administration)
    assert "Reverse entry" not in line(administration)  # the session amends a dose, not the ledger
    assert f"{session.patient.family_name}, {session.patient.given_name}" in line(administration)
    assert "+10 mg (0.20 mL)" in line(Entry.objects.get(kind=Kind.CORRECTION))
    ledger.countersign(actor=Actor(user=physician), entry=waste, witness=physician)
    assert "awaiting witness" not in line(waste)
    assert f"witness {physician}" in line(waste)


def test_the_nurse_who_stopped_the_dose_cannot_witness_its_waste(doctor, nurse_actor, nurse, plan, k100):
    session = iv_session(doctor, nurse_actor, plan)
    _stop_early(nurse_actor, session, _start(nurse_actor, session))
    waste = Entry.objects.get(kind=Kind.WASTE)
    with pytest.raises(ValidationError) as refused:
        ledger.countersign(actor=nurse_actor, entry=waste, witness=nurse)
    assert refused.value.message_dict == {
        "witness": ["The witness must be a different clinician from the one recording."]
    }
    assert Countersignature.objects.count() == 0
    assert list(selectors.awaiting_witness()) == [waste]


def test_the_front_desk_cannot_countersign_a_waste(doctor, nurse_actor, physician, front_desk, plan, k100):
    session = iv_session(doctor, nurse_actor, plan)
    _stop_early(nurse_actor, session, _start(nurse_actor, session))
    waste = Entry.objects.get(kind=Kind.WASTE)
    with pytest.raises(ValidationError) as refused:
        ledger.countersign(actor=Actor(user=front_desk), entry=waste, witness=physician)
    assert refused.value.messages == ["Only nurses and physicians record ledger entries."]
    assert Countersignature.objects.count() == 0


def test_an_esketamine_dose_stopped_after_one_of_two_devices_wastes_28_mg(
    doctor, nurse_actor, registration, esketamine, opened, esk_plan
):
    lot = receive(nurse_actor, registration, esketamine, "SP1", containers=2).lot  # 4 devices, 112 mg
    session = check_in(nurse_actor, esk_plan, minutes_ago=60)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    start = _start(nurse_actor, session, minutes_ago=20)
    administration = Entry.objects.get(kind=Kind.ADMINISTRATION)
    assert (administration.lot, administration.quantity_mg) == (lot, Decimal(-56))
    assert administration.quantity_text == "56 mg (2 devices)"
    sessions.dose_stop(
        actor=nurse_actor,
        session=session,
        at=start + datetime.timedelta(minutes=3),
        reason="Nausea after the first device",
        stock=STOCK,
    )
    waste = Entry.objects.get(kind=Kind.WASTE)
    assert (waste.lot, waste.quantity_mg, waste.witness, waste.quantity_text) == (
        lot,
        Decimal(-28),
        None,
        "28 mg (1 device)",
    )
    returned = Entry.objects.get(kind=Kind.CORRECTION)
    assert (returned.corrects, returned.quantity_mg) == (administration, Decimal(28))
    lot.refresh_from_db()
    assert lot.on_hand_mg == waste.balance_after_mg == Decimal(56)  # two devices out: one given, one wasted
    assert lot.first_punctured_at is None  # devices are single-use: no beyond-use clock


def _refused_start(nurse_actor, session):
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        _start(nurse_actor, session)
    assert snapshot() == before
    session.refresh_from_db()
    assert session.dose_started_at is None
    assert [(e["kind"], e["text"]) for e in session.safety_log] == [
        ("start_refused_stock", refused.value.message_dict["lot_number"][0])
    ]
    return refused.value.message_dict


def test_a_dose_from_a_lot_not_on_the_ledger_does_not_start(doctor, nurse_actor, plan, k100):
    session = iv_session(doctor, nurse_actor, plan, lot_number="K999")
    assert _refused_start(nurse_actor, session) == {
        "lot_number": ["Lot K999 of ketamine is not on the ledger: receive it first."]
    }


def test_a_dose_whose_order_names_no_lot_does_not_start_once_the_clinic_keeps_a_ledger(
    doctor, nurse_actor, plan, k100
):
    session = iv_session(doctor, nurse_actor, plan, lot_number="")
    assert _refused_start(nurse_actor, session) == {
        "lot_number": ["The dose order names no lot: the ledger needs the lot given."]
    }


def test_a_dose_from_an_expired_lot_does_not_start(doctor, nurse_actor, plan, k100):
    # The lot expired the day before the dose (the dose's own day: shortly after midnight, the
    # dose started 50 minutes ago falls on yesterday, when a lot expiring yesterday was still good).
    expired = timezone.localdate(ago(50)) - datetime.timedelta(days=1)
    Lot.objects.filter(pk=k100.pk).update(expiry=expired)
    session = iv_session(doctor, nurse_actor, plan)
    assert _refused_start(nurse_actor, session) == {
        "lot_number": [f"Lot K100 expired on {expired:%Y-%m-%d}: it cannot be used."]
    }


def test_a_dose_from_a_lot_holding_too_little_does_not_start(doctor, nurse_actor, physician, plan, k100):
    ledger.waste_record(
        actor=nurse_actor,
        lot=k100,
        mg="970",
        manner="Reverse distributor",
        reason="Damaged vials",
        witness=physician,
    )  # 30 mg left
    session = iv_session(doctor, nurse_actor, plan)
    assert _refused_start(nurse_actor, session) == {
        "lot_number": ["Lot K100 holds 30 mg (0.60 mL): not enough for 40 mg (0.80 mL)."]
    }


def test_a_dose_from_a_lot_of_the_other_substance_does_not_start(
    doctor, nurse_actor, registration, esketamine, plan, k100
):
    receive(nurse_actor, registration, esketamine, "SP1")
    session = iv_session(doctor, nurse_actor, plan, lot_number="SP1")
    assert _refused_start(nurse_actor, session) == {
        "lot_number": ["Lot SP1 of ketamine is not on the ledger: receive it first."]
    }


def test_without_a_ledger_the_dose_starts_and_nothing_is_posted(doctor, nurse_actor, plan):
    assert not Registration.objects.exists()
    session = iv_session(doctor, nurse_actor, plan)
    start = _start(nurse_actor, session)
    _stop_early(nurse_actor, session, start)
    session.refresh_from_db()
    assert (session.dose_started_at, session.waste_mg) == (start, Decimal(10))
    assert Entry.objects.count() == 0
    assert session.safety_log == []


def test_starting_the_dose_on_the_session_page_posts_the_administration(
    client, doctor, nurse_actor, nurse, plan, k100
):
    session = iv_session(doctor, nurse_actor, plan)
    sign_in(client, nurse)
    response = client.post(reverse("sessions:action", args=[session.pk, "start"]), {})
    assert response.status_code == 302
    (entry,) = Entry.objects.filter(kind=Kind.ADMINISTRATION)
    assert (entry.session, entry.lot, entry.quantity_mg, entry.by) == (session, k100, -IV_PREPARED_MG, nurse)
    k100.refresh_from_db()
    assert k100.on_hand_mg == Decimal(960)


def test_a_start_the_ledger_refuses_on_the_session_page_says_why_and_posts_nothing(
    client, doctor, nurse_actor, nurse, plan, k100
):
    session = iv_session(doctor, nurse_actor, plan, lot_number="K999")
    sign_in(client, nurse)
    before = snapshot()
    response = client.post(reverse("sessions:action", args=[session.pk, "start"]), {})
    assert response.status_code == 422
    assert "Lot K999 of ketamine is not on the ledger: receive it first." in response.content.decode()
    assert snapshot() == before
    session.refresh_from_db()
    assert session.dose_started_at is None


def test_an_infusion_stopped_early_with_the_whole_bag_infused_wastes_nothing(doctor, nurse_actor, plan, k100):
    session = iv_session(doctor, nurse_actor, plan)
    start = _start(nurse_actor, session)
    _stop_early(nurse_actor, session, start, infused_ml=IV_INFUSED_ML)
    assert not Entry.objects.filter(kind=Kind.WASTE).exists()


def test_a_dose_drawn_from_another_concentration_than_the_lot_named_does_not_start(
    doctor, nurse_actor, plan, k100
):
    # Lot K100 is the 50 mg/mL vial; the order says the dose was drawn from 10 mg/mL stock: the
    # wrong vial was picked up, or the wrong lot typed.
    session = iv_session(doctor, nurse_actor, plan, concentration_mg_per_ml=Decimal(10))
    assert _refused_start(nurse_actor, session) == {
        "lot_number": [
            "Lot K100 is 50 mg/mL, but the dose was drawn from 10 mg/mL: check the vial and the order."
        ]
    }


def test_a_lot_number_typed_in_lower_case_finds_its_lot(doctor, nurse_actor, plan, k100):
    session = iv_session(doctor, nurse_actor, plan, lot_number="k100")
    _start(nurse_actor, session)
    assert Entry.objects.get(kind=Kind.ADMINISTRATION).lot == k100


def test_a_dose_before_the_products_initial_inventory_is_refused_and_kept_on_the_session(
    doctor, nurse_actor, registration, ketamine, plan
):
    # The lot is on the book but the product's initial inventory is dated after the dose.
    ledger.inventory_record(
        actor=nurse_actor,
        registration=registration,
        product=ketamine,
        lines=[ledger.InventoryLine("K100", K100_MG, in_days(300))],
        at=ago(10),
    )
    session = iv_session(doctor, nurse_actor, plan)
    refusal = _refused_start(nurse_actor, session)["lot_number"][0]
    assert refusal.startswith("This is dated before the initial inventory of ")


def test_the_open_vial_past_its_beyond_use_date_stops_the_dose_until_its_remainder_is_wasted(
    doctor, nurse_actor, physician, plan, k100
):
    # A vial of K100 was opened 29 days ago (USP 797: usable 28 days) and 460 mg of it are left.
    ledger.waste_record(
        actor=nurse_actor,
        lot=k100,
        mg="40",
        manner="sink",
        reason="drawn for a dose not given",
        witness=physician,
    )
    # Opened 29 days before the dose, which `_start` dates 50 minutes ago.
    Lot.objects.filter(pk=k100.pk).update(first_punctured_at=ago(50 + 29 * 24 * 60))
    k100.refresh_from_db()
    assert k100.open_vial_mg == Decimal(460)
    session = iv_session(doctor, nurse_actor, plan)
    opened_on = timezone.localtime(k100.first_punctured_at).date()
    assert _refused_start(nurse_actor, session)["lot_number"] == [
        f"The open vial of lot K100 was first punctured on {opened_on:%Y-%m-%d} and may not be used after "
        f"{opened_on + datetime.timedelta(days=28):%Y-%m-%d} (USP 797): waste its remainder "
        "(460 mg (9.20 mL)) on the ledger, then give from a new vial."
    ]
    # The remainder is wasted with a witness; the next dose opens a new vial and starts its clock.
    ledger.waste_record(
        actor=nurse_actor,
        lot=k100,
        mg="460",
        manner="sink",
        reason="past its beyond-use date",
        witness=physician,
    )
    start = _start(nurse_actor, session)
    k100.refresh_from_db()
    assert (k100.on_hand_mg, k100.first_punctured_at) == (Decimal(460), start)


def test_a_dose_larger_than_the_open_vials_remainder_opens_a_new_vial(
    doctor, nurse_actor, physician, plan, k100
):
    ledger.waste_record(
        actor=nurse_actor, lot=k100, mg="480", manner="sink", reason="spilt", witness=physician
    )
    Lot.objects.filter(pk=k100.pk).update(first_punctured_at=ago(3 * 24 * 60))
    session = iv_session(doctor, nurse_actor, plan)  # 40 mg: 20 mg from the open vial, 20 mg from a new one
    start = _start(nurse_actor, session)
    k100.refresh_from_db()
    assert (k100.on_hand_mg, k100.first_punctured_at) == (Decimal(480), start)
