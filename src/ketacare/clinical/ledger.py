"""Controlled-substance record rules (ketamine and esketamine are Schedule III): what a ledger
entry must hold, DEA registration numbers, the inventory cycle, and the arithmetic of stock.

Sources: 21 CFR 1304 (records and inventories; clinical reference section 6); 21 CFR 1301.76(b)
(theft or significant loss); USP <797> (beyond-use date of an opened multi-dose vial); the
Spravato prescribing information (28 mg of esketamine per nasal device).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class Substance(StrEnum):
    KETAMINE = "ketamine"
    ESKETAMINE = "esketamine"


class Form(StrEnum):
    INJECTION = "injection"  # vials of racemic ketamine hydrochloride solution
    NASAL_SPRAY = "nasal spray"  # Spravato devices


class Kind(StrEnum):
    """What an entry records (21 CFR 1304.21-22): stock in, stock out, and what was on hand."""

    INVENTORY = "inventory"  # 21 CFR 1304.11: initial, then at least every two years
    RECEIPT = "receipt"  # 21 CFR 1304.22(c): date actually received, containers, supplier
    ADMINISTRATION = "administration"  # 21 CFR 1304.22(c): date, patient, quantity, person
    WASTE = "waste"  # other disposition: date, manner, quantity (witnessed: clinic practice)
    COUNT = "count"  # a physical count by two people, compared with the book
    LOSS = "loss"  # theft or significant loss (21 CFR 1301.76(b))
    CORRECTION = "correction"  # records are append-only: a reversing entry naming the one it corrects


# Entries that take stock out of a lot (their quantity is stored negative).
DISPOSITIONS = frozenset({Kind.ADMINISTRATION, Kind.WASTE, Kind.LOSS})

# Spravato: each nasal spray device delivers 28 mg of esketamine (prescribing information 2.1).
ESKETAMINE_MG_PER_DEVICE = Decimal(28)

# USP <797> (2023): an opened (punctured) multi-dose container may be used for 28 days unless the
# manufacturer's labelling says otherwise (a product setting overrides it).
MULTI_DOSE_BEYOND_USE_DAYS = 28

# 21 CFR 1304.11(c): an inventory at least every two years; KetaCare warns a month ahead (23 months).
INVENTORY_INTERVAL_MONTHS = 24
INVENTORY_WARNING_MONTHS = 23

# 21 CFR 1301.76(b): a theft or significant loss is reported to the DEA Field Division in writing
# within one business day of discovery, and on DEA Form 106 within 45 days of discovery.
NOTICE_BUSINESS_DAYS = 1
FORM_106_DAYS = 45


class LossType(StrEnum):
    """DEA Form 106, "type of theft or loss"."""

    NIGHT_BREAK_IN = "night break-in"
    ARMED_ROBBERY = "armed robbery"
    EMPLOYEE_PILFERAGE = "employee pilferage"
    CUSTOMER_THEFT = "customer theft"
    LOST_IN_TRANSIT = "lost in transit"
    OTHER = "other"  # explained in the description (a significant loss of unknown cause)


def business_days_after(day: datetime.date, days: int) -> datetime.date:
    """The day `days` business days after `day`, counting Monday to Friday. Public holidays are
    not skipped: the deadline this gives is never later than the rule's (a clinic closed on a
    holiday reports the day before)."""
    out = day
    while days:
        out += datetime.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


@dataclass(frozen=True)
class IncidentDeadlines:
    notice_due: datetime.date  # the written notice to the DEA Field Division
    form_106_due: datetime.date


def incident_deadlines(discovered: datetime.date) -> IncidentDeadlines:
    return IncidentDeadlines(
        notice_due=business_days_after(discovered, NOTICE_BUSINESS_DAYS),
        form_106_due=discovered + datetime.timedelta(days=FORM_106_DAYS),
    )


MG_PLACES = Decimal("0.0001")  # quantities are kept to 0.1 microgram: a prepared dose's precision
ML_PLACES = Decimal("0.01")  # syringe graduation (clinical reference section 5, dose preparation)

# DEA registration number: two letters and seven digits, the last a check digit (DEA Diversion
# Control Division, "Registrant type" and the check-digit rule: the sum of digits 1, 3 and 5 plus
# twice the sum of digits 2, 4 and 6 ends in digit 7). The first letter is the registrant type;
# the second is the first letter of the registrant's surname or business name, or 9.
DEA_TYPES = frozenset("ABCDEFGHJKLMPRSTUX")
_DEA = re.compile(r"^([A-Z])([A-Z9])(\d{7})$")


def dea_number_problem(value: str) -> str | None:
    """Why `value` is not a valid DEA registration number, or None if it is."""
    text = value.strip().upper()
    match = _DEA.match(text)
    if match is None:
        return "A DEA number is two letters and seven digits, such as AB1234563."
    kind, _, digits = match.groups()
    if kind not in DEA_TYPES:
        return f"{kind} is not a DEA registrant type: the number's first letter is wrong."
    d = [int(c) for c in digits]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    if check != d[6]:
        return "The check digit does not match: the DEA number has been mistyped."
    return None


def mg(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(MG_PLACES, rounding=ROUND_HALF_UP)


def ml_of(quantity_mg: Decimal, concentration_mg_per_ml: Decimal | None) -> Decimal | None:
    """The volume of a solution holding `quantity_mg` (None for devices)."""
    if not concentration_mg_per_ml:
        return None
    return (quantity_mg / concentration_mg_per_ml).quantize(ML_PLACES, rounding=ROUND_HALF_UP)


def beyond_use_on(first_punctured: datetime.date, days: int = MULTI_DOSE_BEYOND_USE_DAYS) -> datetime.date:
    """The last day an opened multi-dose vial may be used."""
    return first_punctured + datetime.timedelta(days=days)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):  # the 31st of a shorter month: its last day
        try:
            return datetime.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 exists in every month


@dataclass(frozen=True)
class InventoryDue:
    due_on: datetime.date  # the day the next inventory is due at the latest
    warn_from: datetime.date
    overdue: bool
    warning: bool


def inventory_due(last_inventory: datetime.date, today: datetime.date) -> InventoryDue:
    """When the next (biennial) inventory is due after the last one, and whether to warn."""
    due = _add_months(last_inventory, INVENTORY_INTERVAL_MONTHS)
    warn = _add_months(last_inventory, INVENTORY_WARNING_MONTHS)
    return InventoryDue(due, warn, today > due, warn <= today <= due)


@dataclass(frozen=True)
class Movement:
    """One entry's effect on one lot, for `replay`: signed mg (receipts and reversals of
    dispositions add; dispositions subtract)."""

    kind: Kind
    quantity_mg: Decimal


def replay(movements: Iterable[Movement], opening_mg: Decimal = Decimal(0)) -> list[Decimal]:
    """The running balance after each movement. Raises ValueError at the first that would take the
    lot below zero: a lot can never give more than it holds."""
    balance = opening_mg
    out: list[Decimal] = []
    for i, move in enumerate(movements):
        if move.kind in DISPOSITIONS and move.quantity_mg > 0:
            raise ValueError(f"entry {i}: a {move.kind} takes stock out: its quantity is negative")
        balance += move.quantity_mg
        if balance < 0:
            raise ValueError(f"entry {i}: the lot holds {balance - move.quantity_mg} mg, not enough")
        out.append(balance)
    return out


def discrepancy_mg(book_mg: Decimal, counted_mg: Decimal) -> Decimal:
    """Counted minus the book: negative is stock missing."""
    return counted_mg - book_mg


def describe_quantity(
    quantity_mg: Decimal,
    concentration_mg_per_ml: Decimal | None,
    mg_per_device: Decimal | None = ESKETAMINE_MG_PER_DEVICE,
) -> str:
    """`35 mg (0.70 mL)` for a solution, `56 mg (2 devices)` for esketamine."""
    amount = f"{quantity_mg.normalize():f} mg"
    volume = ml_of(quantity_mg, concentration_mg_per_ml)
    if volume is not None:
        return f"{amount} ({volume} mL)"
    if not mg_per_device:
        return amount
    devices = quantity_mg / mg_per_device
    if devices == devices.to_integral_value():
        return f"{amount} ({int(devices)} device{'s' if devices != 1 else ''})"
    return amount
