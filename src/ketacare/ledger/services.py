"""Ledger writes: one function per thing a clinician records, one transaction each, audited.

Every entry that moves stock takes its lot's row lock first (lots in primary-key order when an
action touches several), so concurrent administrations from several chairs queue and the balance
is exact; the database's check on the balance is the last guard. Entries are never changed: a
correction is a new entry reversing the one it names.

A witness is a different, active clinician allowed to witness. The pages make the witness re-enter
their password first (`witness_authenticate`, before the transaction, as the dose verification
does); `ketacare ledger apply` names witnesses by username, as a paper book would.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.signin import reauthenticate
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record, audit_record_many, spec_for
from ketacare.clinical import ledger as rules
from ketacare.clinical.ledger import Form, Kind, LossType, Substance
from ketacare.ledger.models import (
    Countersignature,
    Discrepancy,
    Entry,
    Incident,
    Lot,
    Product,
    Registration,
    WitnessDue,
)
from ketacare.measures.services import FUTURE_TOLERANCE
from ketacare.sessions.models import DeviceDose, DoseOrder, TreatmentSession

RECORD_PERMISSION = "ledger.record_entry"
SETUP_PERMISSION = "ledger.add_product"
INCIDENT_PERMISSION = "ledger.manage_incident"
WITNESS_PERMISSION = "ledger.witness_entry"


def _user(actor: Actor) -> Any:
    if actor.user is None:
        raise ValidationError("A ledger entry is recorded by a signed-in clinician.")
    if not actor.user.has_perm(RECORD_PERMISSION):
        raise ValidationError("Only nurses and physicians record ledger entries.")
    return actor.user


def _setup_user(actor: Actor) -> Any:
    if actor.user is None or not actor.user.has_perm(SETUP_PERMISSION):
        raise ValidationError("Only a physician or the clinic admin sets up the ledger.")
    return actor.user


def _when(at: datetime.datetime | None) -> datetime.datetime:
    at = at or timezone.now()
    if at > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({"at": "A ledger entry cannot be dated in the future."})
    return at


def _positive_mg(value: Decimal | int | str, field: str = "mg") -> Decimal:
    try:
        quantity = rules.mg(value)
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({field: "Give the quantity in mg, as a number."}) from None
    if not quantity.is_finite():  # "NaN" parses, and cannot be compared with 0
        raise ValidationError({field: "Give the quantity in mg, as a number."})
    if quantity <= 0:
        raise ValidationError({field: "The quantity must be more than 0 mg."})
    return quantity


def _reason(text: str, field: str = "reason") -> str:
    if not text.strip():
        raise ValidationError({field: "Give the reason."})
    return text.strip()[:300]


def _initial_inventory_at(registration: Registration, product: Product) -> datetime.datetime | None:
    return (
        Entry.objects.filter(registration=registration, product=product, kind=Kind.INVENTORY)
        .order_by("id")
        .values_list("at", flat=True)
        .first()
    )


def _after_initial_inventory(registration: Registration, product: Product, at: datetime.datetime) -> None:
    """21 CFR 1304.11(b): the initial inventory comes first (zero if nothing was on hand)."""
    first = _initial_inventory_at(registration, product)
    if first is None:
        raise ValidationError(
            {"at": f"Record the initial inventory of {product} first (zero if nothing is on hand)."}
        )
    if at < first:
        raise ValidationError(
            {
                "at": "This is dated before the initial inventory of "
                f"{timezone.localtime(first):%Y-%m-%d %H:%M}."
            }
        )


def _locked(lot: Lot) -> Lot:
    return Lot.objects.select_for_update().select_related("product", "registration").get(pk=lot.pk)


def _move(
    lot: Lot, *, kind: Kind, quantity_mg: Decimal, at: datetime.datetime, by: Any, **fields: Any
) -> Entry:
    """Post a movement on a locked lot: its balance and the entry with the balance after it."""
    balance = lot.on_hand_mg + quantity_mg
    if balance < 0:
        raise ValidationError(
            {
                "mg": f"Lot {lot.number} holds {lot.product.describe(lot.on_hand_mg)}: "
                f"not enough for {lot.product.describe(-quantity_mg)}."
            }
        )
    lot.on_hand_mg = balance
    lot.save(update_fields=["on_hand_mg"])
    entry = Entry.objects.create(
        registration=lot.registration,
        product=lot.product,
        lot=lot,
        kind=kind,
        at=at,
        by=by,
        quantity_mg=quantity_mg,
        balance_after_mg=balance,
        **fields,
    )
    if kind == Kind.WASTE and entry.witness_id is None:
        WitnessDue.objects.create(entry=entry)  # on the list until a witness countersigns it
    return entry


def _not_expired(lot: Lot, at: datetime.datetime, field: str = "lot") -> None:
    if timezone.localtime(at).date() > lot.expiry:
        raise ValidationError(
            {field: f"Lot {lot.number} expired on {lot.expiry:%Y-%m-%d}: it cannot be used."}
        )


def _witness(by: Any, witness: Any, field: str = "witness") -> Any:
    if witness is None:
        raise ValidationError({field: "A second clinician must witness this."})
    if witness.pk == by.pk:
        raise ValidationError({field: "The witness must be a different clinician from the one recording."})
    if not witness.is_active or not witness.has_perm(WITNESS_PERMISSION):
        raise ValidationError({field: "The witness must be an active nurse or physician."})
    return witness


def witness_authenticate(*, actor: Actor, username: str, password: str) -> Any:
    """The witness re-enters their own username and password at the recorder's screen. Every
    failure reads the same, counts towards the lockout and is audited (accounts.signin): call it
    before, not inside, the transaction of the entry it witnesses."""
    by = _user(actor)
    if username.strip() == by.get_username():
        raise ValidationError(
            {"witness": "The witness must be a different clinician from the one recording."}
        )
    return reauthenticate(
        actor=actor,
        username=username.strip(),
        password=password,
        permission=WITNESS_PERMISSION,
        purpose="ledger witness",
        field="witness_password",
    )


@transaction.atomic
def registration_create(*, actor: Actor, name: str, address: str, dea_number: str) -> Registration:
    """A registered location and so a ledger of its own."""
    _setup_user(actor)
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give the name the location is registered under."
    if not address.strip():  # 21 CFR 1304.04(a): the records are kept at the registered address
        errors["address"] = "Give the registered address."
    problem = rules.dea_number_problem(dea_number)
    if problem:
        errors["dea_number"] = problem
    if errors:
        raise ValidationError(errors)
    number = dea_number.strip().upper()
    if Registration.objects.filter(dea_number=number).exists():
        raise ValidationError({"dea_number": "This DEA number already has a ledger."})
    registration = Registration.objects.create(name=name.strip(), address=address.strip(), dea_number=number)
    audit_record(actor=actor, action=Action.CREATE, obj=registration)
    return registration


@transaction.atomic
def product_create(
    *,
    actor: Actor,
    code: str,
    substance: str,
    form: str,
    concentration_mg_per_ml: Decimal | None = None,
    container_ml: Decimal | None = None,
    mg_per_device: Decimal | None = None,
    devices_per_container: int | None = None,
    beyond_use_days: int | None = None,
    trade_name: str = "",
    ndc: str = "",
) -> Product:
    """A stocked presentation of ketamine or esketamine."""
    _setup_user(actor)
    if substance not in Substance.__members__.values():
        raise ValidationError({"substance": "The substance is ketamine or esketamine."})
    if form not in Form.__members__.values():
        raise ValidationError({"form": "The form is injection or nasal spray."})
    if substance == Substance.ESKETAMINE and form != Form.NASAL_SPRAY:
        raise ValidationError({"form": "Esketamine is stocked as the nasal spray."})
    if form == Form.NASAL_SPRAY and mg_per_device is None:
        mg_per_device = rules.ESKETAMINE_MG_PER_DEVICE
    product = Product(
        code=code,
        substance=substance,
        form=form,
        concentration_mg_per_ml=concentration_mg_per_ml,
        container_ml=container_ml,
        mg_per_device=mg_per_device,
        devices_per_container=devices_per_container,
        beyond_use_days=beyond_use_days,
        trade_name=trade_name.strip(),
        ndc=ndc.strip(),
    )
    product.full_clean()
    product.save()
    audit_record(actor=actor, action=Action.CREATE, obj=product)
    return product


@dataclass(frozen=True)
class InventoryLine:
    lot_number: str
    mg: Decimal
    expiry: datetime.date | None = None  # a lot first seen in the initial inventory needs it


def _lot_for_inventory(registration: Registration, product: Product, line: InventoryLine) -> Lot:
    lot = Lot.objects.filter(registration=registration, product=product, number=line.lot_number).first()
    if lot is not None:
        if line.expiry is not None and line.expiry != lot.expiry:
            raise ValidationError(
                {
                    "expiry": f"Lot {lot.number} is on the book with the expiry {lot.expiry:%Y-%m-%d}, "
                    f"not {line.expiry:%Y-%m-%d}."
                }
            )
        return lot
    if line.expiry is None:
        raise ValidationError({"expiry": f"Give the expiry date of lot {line.lot_number}."})
    return Lot.objects.create(
        registration=registration, product=product, number=line.lot_number, expiry=line.expiry
    )


@transaction.atomic
def inventory_record(
    *,
    actor: Actor,
    registration: Registration,
    product: Product,
    lines: Sequence[InventoryLine],
    business: str = Entry.Business.OPENING,
    at: datetime.datetime | None = None,
) -> list[Entry]:
    """What was on hand of a product (21 CFR 1304.11). The first inventory is the initial one: it
    opens the book with each lot it names (none: nothing on hand). A later inventory names every
    lot on hand; each is compared with the book, and a difference opens a discrepancy (a lot on
    the book but not named counts as none on hand)."""
    by = _user(actor)
    when = _when(at)
    if business not in Entry.Business.values:
        raise ValidationError({"business": "Say whether this is the opening or the close of business."})
    numbers = [line.lot_number for line in lines]
    if len(set(numbers)) != len(numbers):
        raise ValidationError({"lot": "A lot is named twice in this inventory."})
    counted = {line.lot_number: rules.mg(line.mg) for line in lines}
    if any(v < 0 for v in counted.values()):
        raise ValidationError({"mg": "An inventory counts what is on hand: 0 mg or more."})
    initial = _initial_inventory_at(registration, product) is None
    entries: list[Entry] = []
    opened: list[Discrepancy] = []
    common = {"at": when, "by": by, "business": business}
    if initial:
        if not lines:
            entries.append(
                Entry.objects.create(
                    registration=registration, product=product, kind=Kind.INVENTORY, counted_mg=0, **common
                )
            )
        first_lots = [_lot_for_inventory(registration, product, line) for line in lines]
        for lot in sorted(first_lots, key=lambda lot: lot.pk):
            locked = _locked(lot)
            if locked.on_hand_mg:
                raise ValidationError({"lot": f"Lot {lot.number} is already on the book."})
            mg = counted[lot.number]
            entries.append(_move(locked, kind=Kind.INVENTORY, quantity_mg=mg, counted_mg=mg, **common))
    else:
        _after_initial_inventory(registration, product, when)
        named = [_lot_for_inventory(registration, product, line) for line in lines]
        on_book = Lot.objects.filter(registration=registration, product=product, on_hand_mg__gt=0)
        lots = {lot.pk: lot for lot in [*named, *on_book]}
        if not lots:  # nothing on hand, and nothing on the book: that is recorded too
            entries.append(
                Entry.objects.create(
                    registration=registration, product=product, kind=Kind.INVENTORY, counted_mg=0, **common
                )
            )
        for pk in sorted(lots):
            locked = _locked(lots[pk])
            mg = counted.get(locked.number, Decimal(0))
            entry = _move(locked, kind=Kind.INVENTORY, quantity_mg=Decimal(0), counted_mg=mg, **common)
            if mg != locked.on_hand_mg:
                discrepancy = Discrepancy.objects.create(
                    entry=entry, lot=locked, book_mg=locked.on_hand_mg, counted_mg=mg
                )
                opened.append(discrepancy)
            entries.append(entry)
    audit_record_many(actor=actor, specs=[spec_for(r, Action.CREATE) for r in [*entries, *opened]])
    return entries


@transaction.atomic
def receipt_record(
    *,
    actor: Actor,
    registration: Registration,
    product: Product,
    lot_number: str,
    expiry: datetime.date | None,
    containers: int,
    supplier_name: str,
    supplier_address: str,
    supplier_dea: str,
    invoice: str = "",
    at: datetime.datetime | None = None,
) -> Entry:
    """Stock received (21 CFR 1304.22(c)): the date actually received, the containers, the
    supplier's name, address and DEA number. A new lot is added to the book."""
    by = _user(actor)
    when = _when(at)
    errors: dict[str, str] = {}
    if not lot_number.strip():
        errors["lot"] = "Give the lot number."
    if containers is None or containers < 1:
        errors["containers"] = "Give the number of containers received (1 or more)."
    if not supplier_name.strip():
        errors["supplier_name"] = "Give the supplier's name."
    if not supplier_address.strip():
        errors["supplier_address"] = "Give the supplier's address."
    problem = rules.dea_number_problem(supplier_dea)
    if problem:
        errors["supplier_dea"] = f"Supplier's DEA number: {problem}"
    if expiry is None:
        errors["expiry"] = f"Give the expiry date of lot {lot_number.strip()}."
    elif expiry < timezone.localtime(when).date():
        errors["expiry"] = f"Lot {lot_number} expired on {expiry:%Y-%m-%d}: an expired lot is not received."
    if errors or expiry is None:
        raise ValidationError(errors)
    _after_initial_inventory(registration, product, when)
    lot, created = Lot.objects.get_or_create(
        registration=registration, product=product, number=lot_number.strip(), defaults={"expiry": expiry}
    )
    if not created and lot.expiry != expiry:
        raise ValidationError(
            {
                "expiry": f"Lot {lot.number} is on the book with the expiry {lot.expiry:%Y-%m-%d}, "
                f"not {expiry:%Y-%m-%d}."
            }
        )
    entry = _move(
        _locked(lot),
        kind=Kind.RECEIPT,
        quantity_mg=rules.mg(product.mg_per_container * containers),
        at=when,
        by=by,
        containers=containers,
        supplier_name=supplier_name.strip(),
        supplier_address=supplier_address.strip(),
        supplier_dea=supplier_dea.strip().upper(),
        invoice=invoice.strip(),
    )
    audit_record(actor=actor, action=Action.CREATE, obj=entry)
    return entry


def _session_lot(session: TreatmentSession, order: DoseOrder) -> Lot:
    """The ledger lot the dose order names (its number in any case), of the substance the session
    gives and, for a solution, of the stock concentration the dose was drawn from."""
    substance = Substance.ESKETAMINE if session.is_esketamine else Substance.KETAMINE
    if not order.lot_number.strip():
        raise ValidationError({"lot_number": "The dose order names no lot: the ledger needs the lot given."})
    lots = list(
        Lot.objects.filter(
            number__iexact=order.lot_number.strip(), product__substance=substance
        ).select_related("product", "registration")
    )
    stock = order.concentration_mg_per_ml
    if lots and not session.is_esketamine and stock is not None:
        drawn_from = [lot for lot in lots if lot.product.concentration_mg_per_ml == stock]
        if not drawn_from:
            found = lots[0].product.concentration_mg_per_ml or Decimal(0)
            raise ValidationError(
                {
                    "lot_number": f"Lot {lots[0].number} is {found.normalize():f} mg/mL, but the dose was "
                    f"drawn from {stock.normalize():f} mg/mL: check the vial and the order."
                }
            )
        lots = drawn_from
    if not lots:
        raise ValidationError(
            {"lot_number": f"Lot {order.lot_number} of {substance} is not on the ledger: receive it first."}
        )
    if len(lots) > 1:
        raise ValidationError({"lot_number": f"Lot {order.lot_number} is on more than one ledger."})
    return lots[0]


def session_dose_mg(session: TreatmentSession, order: DoseOrder) -> Decimal:
    """What leaves the stock when the dose starts: the prepared dose (reference section 5), or
    for esketamine every device ordered."""
    if session.is_esketamine:
        return rules.mg(rules.ESKETAMINE_MG_PER_DEVICE * (order.devices or 1))
    return rules.mg(order.dose_given_mg)


@transaction.atomic
def administration_post(*, actor: Actor, session: TreatmentSession, at: datetime.datetime) -> Entry:
    """The session's dose, posted when it starts, inside the dose start's own transaction: the lot
    the order names, the prepared dose, the patient and the person giving it. Refused (so the
    dose does not start) if the lot is not on the ledger, expired, or holds too little."""
    try:
        return _administration_post(actor=actor, session=session, at=at)
    except ValidationError as exc:
        # Every refusal is the lot's (the session keeps it under that name): say why in one place.
        messages = [m for ms in getattr(exc, "message_dict", {"": exc.messages}).values() for m in ms]
        raise ValidationError({"lot_number": " ".join(messages)}) from None


def _administration_post(*, actor: Actor, session: TreatmentSession, at: datetime.datetime) -> Entry:
    by = actor.user
    order = DoseOrder.objects.get(session=session, superseded_at__isnull=True)
    lot = _session_lot(session, order)
    _not_expired(lot, at, "lot_number")
    _after_initial_inventory(lot.registration, lot.product, at)
    locked = _locked(lot)
    expired_vial = locked.past_beyond_use(at)
    if expired_vial is not None:
        raise ValidationError(
            f"The open vial of lot {locked.number} was first punctured on "
            f"{timezone.localtime(locked.first_punctured_at):%Y-%m-%d} and may not be used after "
            f"{expired_vial:%Y-%m-%d} (USP 797): waste its remainder "
            f"({locked.product.describe(locked.open_vial_mg)}) on the ledger, then give from a new vial."
        )
    dose = session_dose_mg(session, order)
    # More than the open vial holds (or no vial open): the dose is drawn from a new vial.
    opens_a_vial = locked.product.form == Form.INJECTION and locked.open_vial_mg < dose
    entry = _move(
        locked,
        kind=Kind.ADMINISTRATION,
        quantity_mg=-dose,
        at=at,
        by=by,
        patient_id=session.patient_id,
        session=session,
    )
    if opens_a_vial:  # its beyond-use date runs from now
        locked.first_punctured_at = at
        locked.save(update_fields=["first_punctured_at"])
    audit_record(actor=actor, action=Action.CREATE, obj=entry)
    return entry


@transaction.atomic
def session_waste_post(*, actor: Actor, session: TreatmentSession) -> Entry | None:
    """A dose stopped early: the part prepared but not given is posted as waste against the
    administration's lot, inside the stop's own transaction, to be witnessed (countersigned) on
    the ledger's page. None when everything prepared was given.

    The administration took the whole prepared dose out of the lot when the dose started, and
    that is all that left it: the part not given is not taken out a second time. The book records
    it as what happened to the dose drawn up: a correction naming the administration brings it
    to the dose given (21 CFR 1304.22(c): the quantity administered), and the same quantity is
    wasted. The lot's balance is unchanged and still the sum of its entries."""
    administration = (
        Entry.objects.filter(session=session, kind=Kind.ADMINISTRATION).select_related("lot").first()
    )
    if administration is None or administration.lot is None:
        return None
    if session.is_esketamine:
        given = DeviceDose.objects.filter(session=session).count()
        unused = rules.mg(-administration.quantity_mg - rules.ESKETAMINE_MG_PER_DEVICE * given)
    else:
        unused = rules.mg(session.waste_mg or 0)
    if unused <= 0:
        return None
    locked = _locked(administration.lot)
    prepared = -administration.quantity_mg
    common: dict[str, Any] = {
        "at": session.dose_stopped_at or timezone.now(),
        "by": actor.user,
        "session": session,
        "patient_id": session.patient_id,
    }
    returned = _move(
        locked,
        kind=Kind.CORRECTION,
        quantity_mg=unused,
        corrects=administration,
        reason=(
            f"Dose stopped early: {locked.product.describe(prepared - unused)} given of "
            f"{locked.product.describe(prepared)} prepared; the rest is wasted."
        )[:300],
        **common,
    )
    entry = _move(
        locked,
        kind=Kind.WASTE,
        quantity_mg=-unused,
        manner="not given: dose stopped early",
        reason=session.stop_reason or "dose stopped early",
        **common,
    )
    audit_record_many(
        actor=actor,
        specs=[
            spec_for(returned, Action.CREATE, {"corrects": administration.pk}),
            spec_for(entry, Action.CREATE, {"awaiting_witness": True}),
        ],
    )
    return entry


@transaction.atomic
def waste_record(
    *,
    actor: Actor,
    lot: Lot,
    mg: Decimal | int | str,
    manner: str,
    reason: str,
    witness: Any,
    at: datetime.datetime | None = None,
) -> Entry:
    """Waste or destruction (21 CFR 1304.22(c): date, manner, quantity), witnessed at the time by
    a second clinician. An expired lot may be wasted; nothing more than the lot holds."""
    by = _user(actor)
    when = _when(at)
    quantity = _positive_mg(mg)
    manner_text = _reason(manner, "manner")
    reason_text = _reason(reason)
    _witness(by, witness)
    locked = _locked(lot)
    _after_initial_inventory(locked.registration, locked.product, when)
    entry = _move(
        locked,
        kind=Kind.WASTE,
        quantity_mg=-quantity,
        at=when,
        by=by,
        witness=witness,
        manner=manner_text,
        reason=reason_text,
    )
    audit_record(actor=actor, action=Action.CREATE, obj=entry, detail={"witness": witness.pk})
    return entry


@transaction.atomic
def countersign(*, actor: Actor, entry: Entry, witness: Any) -> Countersignature:
    """A witness signs a waste posted without one (a dose stopped early)."""
    _user(actor)
    locked = Entry.objects.select_for_update().get(pk=entry.pk)
    if locked.kind != Kind.WASTE or locked.witness_id is not None:
        raise ValidationError("Only a waste recorded without a witness is countersigned.")
    if Countersignature.objects.filter(entry=locked).exists():
        raise ValidationError("This waste is already witnessed.")
    _witness(locked.by, witness)
    signature = Countersignature.objects.create(entry=locked, witness=witness)
    WitnessDue.objects.filter(entry=locked).delete()
    audit_record(actor=actor, action=Action.CREATE, obj=signature, detail={"entry": locked.pk})
    return signature


@transaction.atomic
def count_record(
    *,
    actor: Actor,
    lot: Lot,
    counted_mg: Decimal | int | str,
    witness: Any,
    at: datetime.datetime | None = None,
) -> Entry:
    """A physical count by two people. A count that differs from the book opens a discrepancy;
    the book itself changes only by a correction or a reported loss."""
    by = _user(actor)
    when = _when(at)
    try:
        counted = rules.mg(counted_mg)
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({"counted_mg": "Give the count in mg, as a number."}) from None
    if not counted.is_finite():
        raise ValidationError({"counted_mg": "Give the count in mg, as a number."})
    if counted < 0:
        raise ValidationError({"counted_mg": "A count is 0 mg or more."})
    _witness(by, witness)
    locked = _locked(lot)
    _after_initial_inventory(locked.registration, locked.product, when)
    entry = _move(
        locked, kind=Kind.COUNT, quantity_mg=Decimal(0), at=when, by=by, witness=witness, counted_mg=counted
    )
    specs = [spec_for(entry, Action.CREATE)]
    if counted != locked.on_hand_mg:
        discrepancy = Discrepancy.objects.create(
            entry=entry, lot=locked, book_mg=locked.on_hand_mg, counted_mg=counted
        )
        specs.append(spec_for(discrepancy, Action.CREATE))
    audit_record_many(actor=actor, specs=specs)
    return entry


@transaction.atomic
def correction_record(
    *, actor: Actor, entry: Entry, reason: str, at: datetime.datetime | None = None
) -> Entry:
    """Reverse an entry recorded in error: a new entry with the opposite quantity, naming it and
    saying why. An inventory or count moved nothing and is not reversed (record another)."""
    by = _user(actor)
    when = _when(at)
    why = _reason(reason)
    original = Entry.objects.select_related("lot", "corrects").get(pk=entry.pk)
    if original.lot is None or original.quantity_mg == 0:
        raise ValidationError("This entry moved no stock: record a new inventory or count instead.")
    # A dose stopped early corrects its administration to the dose given: that is the session's too.
    if original.kind == Kind.ADMINISTRATION or (
        original.corrects is not None and original.corrects.kind == Kind.ADMINISTRATION
    ):
        raise ValidationError(
            "An administration is corrected through its session (an amendment), not on the ledger."
        )
    # The lot's lock first: two clerks reversing the same entry at once queue here, and the second
    # then finds it corrected (rather than failing on the one-correction constraint).
    locked = _locked(original.lot)
    if Entry.objects.filter(corrects=original).exists():
        raise ValidationError("This entry is already corrected.")
    _after_initial_inventory(locked.registration, locked.product, when)
    if when < original.at:
        raise ValidationError(
            {
                "at": "A correction cannot be dated before the entry it corrects "
                f"({timezone.localtime(original.at):%Y-%m-%d %H:%M})."
            }
        )
    correction = _move(
        locked,
        kind=Kind.CORRECTION,
        quantity_mg=-original.quantity_mg,
        at=when,
        by=by,
        corrects=original,
        reason=why,
    )
    audit_record(actor=actor, action=Action.CREATE, obj=correction, detail={"corrects": original.pk})
    return correction


@transaction.atomic
def discrepancy_resolve(*, actor: Actor, discrepancy: Discrepancy, resolution: str) -> Discrepancy:
    """Close a discrepancy with what was found (and the correction or loss recorded for it)."""
    by = _user(actor)
    locked = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    if locked.resolved_at is not None:
        raise ValidationError("This discrepancy is already resolved.")
    locked.resolution = _reason(resolution, "resolution")
    locked.resolved_at, locked.resolved_by = timezone.now(), by
    locked.save(update_fields=["resolution", "resolved_at", "resolved_by"])
    audit_record(actor=actor, action=Action.UPDATE, obj=locked, detail={"resolved": True})
    return locked


def loss_record(
    *,
    actor: Actor,
    lot: Lot,
    mg: Decimal | int | str,
    reason: str,
    at: datetime.datetime | None = None,
    loss_type: str = LossType.OTHER,
    police_notified: bool = False,
    police_report: str = "",
) -> Entry:
    """Stock of one lot stolen or lost, taken off the book: a theft or significant loss
    incident (`incident_report`) with this one lot."""
    incident = incident_report(
        actor=actor,
        registration=lot.registration,
        losses=[(lot, mg)],
        loss_type=loss_type,
        description=reason,
        discovered_at=at,
        police_notified=police_notified,
        police_report=police_report,
    )
    return incident.losses.get()


@transaction.atomic
def incident_report(
    *,
    actor: Actor,
    registration: Registration,
    losses: Sequence[tuple[Lot, Decimal | int | str]],
    loss_type: str,
    description: str,
    discovered_at: datetime.datetime | None = None,
    police_notified: bool = False,
    police_report: str = "",
) -> Incident:
    """A theft or significant loss (21 CFR 1301.76(b)), as discovered: each lot's quantity taken
    off the book (a loss entry each, lots locked in id order), and the incident with its
    deadlines: the written notice to the DEA within one business day of discovery, DEA Form 106
    within 45 days. It stays on the ledger's pages until both are recorded."""
    by = _user(actor)
    when = _when(discovered_at)
    if loss_type not in LossType.__members__.values():
        raise ValidationError({"loss_type": "Choose the type of theft or loss (DEA Form 106)."})
    why = _reason(description, "reason")
    if not losses:
        raise ValidationError({"mg": "Name what was lost: a lot and its quantity."})
    quantities = [(lot, _positive_mg(mg)) for lot, mg in losses]
    if len({lot.pk for lot, _ in quantities}) != len(quantities):
        raise ValidationError({"lot": "A lot is named twice."})
    if any(lot.registration_id != registration.pk for lot, _ in quantities):
        raise ValidationError({"lot": "Every lot lost must be on this location's ledger."})
    deadlines = rules.incident_deadlines(timezone.localtime(when).date())
    incident = Incident.objects.create(
        registration=registration,
        loss_type=loss_type,
        discovered_at=when,
        description=description.strip(),
        police_notified=police_notified,
        police_report=police_report.strip()[:200],
        recorded_by=by,
        notice_due=deadlines.notice_due,
        form_106_due=deadlines.form_106_due,
    )
    entries = []
    for lot, quantity in sorted(quantities, key=lambda pair: pair[0].pk):
        locked = _locked(lot)
        _after_initial_inventory(locked.registration, locked.product, when)
        entries.append(
            _move(
                locked, kind=Kind.LOSS, quantity_mg=-quantity, at=when, by=by, reason=why, incident=incident
            )
        )
    audit_record_many(
        actor=actor, specs=[spec_for(incident, Action.CREATE), *(spec_for(e, Action.CREATE) for e in entries)]
    )
    return incident


def _incident_user(actor: Actor) -> Any:
    if actor.user is None or not actor.user.has_perm(INCIDENT_PERMISSION):
        raise ValidationError("Only a physician or the clinic admin records the DEA notice and Form 106.")
    return actor.user


@transaction.atomic
def incident_notice_sent(
    *, actor: Actor, incident: Incident, at: datetime.datetime | None = None
) -> Incident:
    """The written notice of the theft or loss was sent to the DEA Field Division."""
    by = _incident_user(actor)
    when = _when(at)
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.notice_sent_at is not None:
        raise ValidationError("The notice is already recorded as sent.")
    if when < locked.discovered_at:
        raise ValidationError({"at": "The notice cannot be sent before the loss was discovered."})
    locked.notice_sent_at, locked.notice_sent_by = when, by
    locked.save(update_fields=["notice_sent_at", "notice_sent_by"])
    audit_record(actor=actor, action=Action.UPDATE, obj=locked, detail={"notice_sent": True})
    return locked


@transaction.atomic
def incident_form_106_filed(
    *, actor: Actor, incident: Incident, reference: str, at: datetime.datetime | None = None
) -> Incident:
    """DEA Form 106 was filed (online, with the DEA's reference for it)."""
    by = _incident_user(actor)
    when = _when(at)
    if not reference.strip():
        raise ValidationError({"reference": "Give the reference the DEA gave the filed Form 106."})
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.form_106_filed_at is not None:
        raise ValidationError("Form 106 is already recorded as filed.")
    if when < locked.discovered_at:
        raise ValidationError({"at": "Form 106 cannot be filed before the loss was discovered."})
    locked.form_106_filed_at, locked.form_106_filed_by = when, by
    locked.form_106_reference = reference.strip()[:60]
    locked.save(update_fields=["form_106_filed_at", "form_106_filed_by", "form_106_reference"])
    audit_record(actor=actor, action=Action.UPDATE, obj=locked, detail={"form_106_filed": True})
    return locked


class DoseLedger:
    """The ledger's part in a dose (sessions.services.DoseStock): once the clinic keeps its
    ledger here (a registered location exists), every dose started posts its administration and
    every dose stopped early its waste, or the dose does not start. A clinic that has not opened
    a ledger is told so on the stock page."""

    def dose_started(self, *, actor: Actor, session: TreatmentSession, at: datetime.datetime) -> None:
        if Registration.objects.exists():
            administration_post(actor=actor, session=session, at=at)

    def dose_stopped(self, *, actor: Actor, session: TreatmentSession) -> None:
        session_waste_post(actor=actor, session=session)


@transaction.atomic
def history_administration_post(
    *, actor: Actor, session: TreatmentSession, lot: Lot, mg: Decimal | int | str, at: datetime.datetime
) -> Entry:
    """A dose from the clinic's history (`ketacare ledger apply`: the paper book brought onto this
    one), posted against its session with the lot and quantity the book records, dated when the
    dose started. The rules of a live dose hold: the session's substance, a lot not expired that
    day, after the initial inventory, never more than the lot holds, one per session."""
    by = _user(actor)
    when = _when(at)
    quantity = _positive_mg(mg)
    # The session first, then the lot: the order dose_start takes them in.
    locked_session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    started = locked_session.dose_started_at
    if started is None:
        raise ValidationError({"at": "This session's dose never started: it has no administration."})
    if started.replace(second=0, microsecond=0) != when.replace(second=0, microsecond=0):
        raise ValidationError(
            {"at": f"This session's dose started at {timezone.localtime(started):%Y-%m-%d %H:%M}."}
        )
    if Entry.objects.filter(session=locked_session, kind=Kind.ADMINISTRATION).exists():
        raise ValidationError({"at": "This session's administration is already on the ledger."})
    locked = _locked(lot)
    substance = Substance.ESKETAMINE if locked_session.is_esketamine else Substance.KETAMINE
    if locked.product.substance != substance:
        raise ValidationError(
            {"lot": f"Lot {locked.number} is {locked.product.substance}; this session gave {substance}."}
        )
    _not_expired(locked, when)
    _after_initial_inventory(locked.registration, locked.product, when)
    entry = _move(
        locked,
        kind=Kind.ADMINISTRATION,
        quantity_mg=-quantity,
        at=when,
        by=by,
        patient_id=locked_session.patient_id,
        session=locked_session,
    )
    # History may arrive out of order: the vial was first punctured at the earliest dose.
    if locked.product.form == Form.INJECTION and (
        locked.first_punctured_at is None or when < locked.first_punctured_at
    ):
        locked.first_punctured_at = when
        locked.save(update_fields=["first_punctured_at"])
    audit_record(actor=actor, action=Action.CREATE, obj=entry, detail={"history": True})
    return entry
