"""The demo clinic's controlled-substance ledger: a year of history that agrees with its sessions.

Written through the ledger's own services, so it obeys every rule a clinic's does: an initial
inventory of nothing a year ago; each month's lot of ketamine (10 mg/mL, 20 mL multi-dose vials,
the stock the demo's doses are drawn from)
and of esketamine (2-device packs) received before its first dose, with enough for the month;
every dose the demo gave posted from its session; the part of a dose stopped early wasted and
countersigned; each month's opened-vial remainder wasted at its beyond-use date; a witnessed
count at each month's end and this morning (one of them, the first spray lot's if one has closed,
found a miscount, resolved); and stock on hand today.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.clinical import ledger as rules
from ketacare.ledger import services
from ketacare.ledger.models import Lot, Product, Registration
from ketacare.sessions.models import DoseOrder, TreatmentSession

DEMO_DEA = "FK2468242"  # a well-formed, check-digit-valid number that belongs to no one
SUPPLIER = {
    "supplier_name": "Demo Pharmaceutical Distribution",
    "supplier_address": "100 Example Way, Springfield",
    "supplier_dea": "RD1357917",
}
SPARE_VIALS_NOW = 6  # the lot in use today holds this many unopened vials for today's doses
SPARE_PACKS_NOW = 4


def _day(at: datetime.datetime, hour: int) -> datetime.datetime:
    local = timezone.localtime(at)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def seed_ledger(*, physician: Any, nurse: Any, now: datetime.datetime | None = None) -> int:
    """The demo ledger, in one transaction; returns the number of entries. Does nothing if the
    demo already has a ledger."""
    if Registration.objects.exists():
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        return _seed(physician, nurse, now)


def _seed(physician: Any, nurse: Any, now: datetime.datetime) -> int:
    doctor, by = Actor(user=physician), Actor(user=nurse)
    registration = services.registration_create(
        actor=doctor, name="KetaCare demo clinic", address="1 Demo Street, Springfield", dea_number=DEMO_DEA
    )
    vial = services.product_create(
        actor=doctor,
        code="ketamine-10-20",
        substance=rules.Substance.KETAMINE,
        form=rules.Form.INJECTION,
        concentration_mg_per_ml=Decimal(10),
        container_ml=Decimal(20),
        beyond_use_days=rules.MULTI_DOSE_BEYOND_USE_DAYS,
    )
    spray = services.product_create(
        actor=doctor,
        code="esketamine-56",
        substance=rules.Substance.ESKETAMINE,
        form=rules.Form.NASAL_SPRAY,
        devices_per_container=2,
    )
    sessions = list(
        TreatmentSession.objects.filter(dose_started_at__isnull=False, source=TreatmentSession.Source.LIVE)
        .select_related("patient")
        .order_by("dose_started_at", "id")
    )
    orders = {
        o.session_id: o
        for o in DoseOrder.objects.filter(session__in=sessions, superseded_at__isnull=True).exclude(
            lot_number=""
        )
    }
    first = min([s.dose_started_at for s in sessions if s.dose_started_at], default=now)
    opened = _day(min(first, now - datetime.timedelta(days=365)) - datetime.timedelta(days=3), 8)
    for product in (vial, spray):
        services.inventory_record(actor=by, registration=registration, product=product, lines=[], at=opened)
    count = 2

    # Each month's lot: what its doses take, so the receipt holds enough (and today's lot more).
    by_lot: dict[str, list[TreatmentSession]] = defaultdict(list)
    for session in sessions:
        if session.pk in orders:
            by_lot[orders[session.pk].lot_number].append(session)
    miscounted = False  # the demo's one miscount, resolved, is made on the first count it can be
    # The latest lot of each product is the one in use today: it keeps spare stock.
    current = {max((n for n in by_lot if n.startswith(prefix)), default="") for prefix in ("KT", "SP")}
    for number in sorted(by_lot, key=lambda n: by_lot[n][0].dose_started_at or now):
        doses = by_lot[number]
        product = spray if number.startswith("SP") else vial
        takes = [(services.session_dose_mg(s, orders[s.pk]), s) for s in doses]
        containers = _containers_needed(product, takes)
        if number in current:
            containers += SPARE_PACKS_NOW if product == spray else SPARE_VIALS_NOW
        first_dose = doses[0].dose_started_at or now
        services.receipt_record(
            actor=by,
            registration=registration,
            product=product,
            lot_number=number,
            expiry=(first_dose + datetime.timedelta(days=540)).date(),
            containers=containers,
            invoice=f"INV-{number}",
            at=_day(first_dose - datetime.timedelta(days=2), 10),
            **SUPPLIER,
        )
        count += 1
        lot = Lot.objects.get(registration=registration, product=product, number=number)
        for session in doses:
            lot.refresh_from_db()
            if lot.past_beyond_use(session.dose_started_at or now):
                count += _waste_open_vial(lot, by, physician, session.dose_started_at or now)
            services.administration_post(actor=by, session=session, at=session.dose_started_at or now)
            count += 1
            waste = services.session_waste_post(actor=by, session=session)
            if waste is not None:
                services.countersign(actor=doctor, entry=waste, witness=physician)
                count += 1
        if number in current:
            continue
        lot.refresh_from_db()
        last = doses[-1].dose_started_at or now
        month_end = _day(last, 18)
        if product == vial and lot.on_hand_mg:
            # The month's last opened vial: its remainder is wasted when the lot is closed out
            # (the next month's lot is in use; an opened vial keeps 28 days at most, USP <797>).
            closed_out = "Remainder of the lot's last opened vial: lot closed out"
            count += _waste(lot, lot.on_hand_mg, closed_out, by, physician, month_end)
        # Two people count the lot at the month's end; the first spray lot's first count was a
        # device short (or, if no spray lot has closed yet, this morning's count: see below).
        miscount = not miscounted and product == spray and lot.on_hand_mg >= _short_by(product)
        count += _count(
            lot, product, by, physician, doctor, month_end + datetime.timedelta(minutes=30), miscount
        )
        miscounted = miscounted or miscount
    return count + _counts_today(registration, [spray, vial], by, physician, doctor, now, not miscounted)


def _short_by(product: Product) -> Decimal:
    """What the demo's one miscount leaves out: a device of a nasal spray, or a vial."""
    if product.form == rules.Form.INJECTION:
        return product.mg_per_container
    return rules.ESKETAMINE_MG_PER_DEVICE


def _count(
    lot: Lot, product: Product, by: Actor, witness: Any, doctor: Actor, at: datetime.datetime, miscount: bool
) -> int:
    """A witnessed count matching the book; with `miscount`, the first count is short by
    `_short_by` and the physician resolves the discrepancy it opens."""
    counted = lot.on_hand_mg - _short_by(product) if miscount else lot.on_hand_mg
    entry = services.count_record(actor=by, lot=lot, counted_mg=counted, witness=witness, at=at)
    if miscount:
        services.discrepancy_resolve(
            actor=doctor,
            discrepancy=entry.discrepancy,
            resolution="Recounted together: it was in the wrong bin; the book is right.",
        )
    return 1


def _counts_today(
    registration: Registration,
    products: list[Product],
    by: Actor,
    witness: Any,
    doctor: Actor,
    now: datetime.datetime,
    miscount: bool,
) -> int:
    """This morning's count of the lots in use, matching the book; with `miscount` (no lot has
    closed with one yet), the first lot that can be is counted short once and resolved."""
    at = min(_day(now, 7), now - datetime.timedelta(minutes=1))
    counted = 0
    for product in products:
        for lot in Lot.objects.filter(registration=registration, product=product, on_hand_mg__gt=0):
            short = miscount and lot.on_hand_mg >= _short_by(product)
            counted += _count(lot, product, by, witness, doctor, at, short)
            miscount = miscount and not short
    return counted


def _waste_open_vial(lot: Lot, by: Actor, witness: Any, before: datetime.datetime) -> int:
    """The open vial's remainder, wasted on the morning of the dose that finds it past its
    beyond-use date (USP <797>)."""
    at = min(_day(before, 8), before - datetime.timedelta(minutes=5))
    return _waste(lot, lot.open_vial_mg, "Opened vial past its beyond-use date", by, witness, at)


def _waste(lot: Lot, mg: Decimal, reason: str, by: Actor, witness: Any, at: datetime.datetime) -> int:
    """A witnessed waste of `mg` from the lot, rendered unrecoverable."""
    services.waste_record(
        actor=by,
        lot=lot,
        mg=mg,
        manner="Rendered unrecoverable in a drug waste container",
        reason=reason,
        witness=witness,
        at=at,
    )
    lot.refresh_from_db()
    return 1


def _containers_needed(product: Product, doses: list[tuple[Decimal, TreatmentSession]]) -> int:
    """The containers a lot's doses take: for multi-dose vials, a new vial once the open one is
    used up or past its beyond-use date (its remainder is wasted), as the ledger will post them."""
    per = product.mg_per_container
    if product.form != rules.Form.INJECTION or not product.beyond_use_days:
        return math.ceil(sum(mg for mg, _ in doses) / per)
    opened, left, punctured = 0, Decimal(0), None
    for mg, session in doses:
        day = timezone.localtime(session.dose_started_at).date()
        if left and punctured and day > rules.beyond_use_on(punctured, product.beyond_use_days):
            left = Decimal(0)
        if left < mg:
            new = math.ceil((mg - left) / per)
            opened, left, punctured = opened + new, left + new * per, day
        left -= mg
    return opened
