"""A clinic's ledger as the tests find it: one registered location, a ketamine vial and the
esketamine nasal spray set up, and the initial inventory taken three days ago (two vials of lot
K100 on hand; no esketamine)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.ledger import services
from ketacare.ledger.models import Countersignature, Discrepancy, Entry, Lot, Product, Registration

SUPPLIER = {
    "supplier_name": "Henry Schein",
    "supplier_address": "135 Duryea Road, Melville, NY 11747",
    "supplier_dea": "PH1234563",
}
K100_MG = Decimal(1000)  # two vials of 50 mg/mL x 10 mL


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


@dataclass(frozen=True)
class Snapshot:
    """What a refused action must leave as it was."""

    entries: int
    balances: dict[str, Decimal]
    lots: int
    countersignatures: int
    discrepancies: int
    audited: int  # audit rows about the ledger's records


def snapshot() -> Snapshot:
    return Snapshot(
        entries=Entry.objects.count(),
        balances=dict(Lot.objects.values_list("number", "on_hand_mg")),
        lots=Lot.objects.count(),
        countersignatures=Countersignature.objects.count(),
        discrepancies=Discrepancy.objects.count(),
        audited=AuditEvent.objects.filter(object_type__startswith="ledger.").count(),
    )


@pytest.fixture
def registration(doctor: Actor) -> Registration:
    return services.registration_create(
        actor=doctor, name="Main clinic", address="1 Main St, Springfield, IL 62701", dea_number="AB1234563"
    )


@pytest.fixture
def ketamine(doctor: Actor) -> Product:
    """Ketamine 50 mg/mL, 10 mL vials: 500 mg a vial."""
    return services.product_create(
        actor=doctor,
        code="ketamine-50-10",
        substance="ketamine",
        form="injection",
        concentration_mg_per_ml=Decimal(50),
        container_ml=Decimal(10),
        beyond_use_days=28,
    )


@pytest.fixture
def esketamine(doctor: Actor) -> Product:
    """Spravato: 28 mg devices, 2 to a pack (56 mg a pack)."""
    return services.product_create(
        actor=doctor, code="spravato-56", substance="esketamine", form="nasal spray", devices_per_container=2
    )


@pytest.fixture
def opened(nurse_actor: Actor, registration: Registration, ketamine: Product, esketamine: Product) -> Any:
    """The initial inventory, at the opening of business three days ago: lot K100 (two vials,
    expiring in 300 days) of ketamine; no esketamine on hand."""
    at = days_ago(3)
    services.inventory_record(
        actor=nurse_actor,
        registration=registration,
        product=ketamine,
        lines=[services.InventoryLine("K100", K100_MG, in_days(300))],
        at=at,
    )
    services.inventory_record(
        actor=nurse_actor, registration=registration, product=esketamine, lines=[], at=at
    )
    return at


@pytest.fixture
def k100(opened: Any) -> Lot:
    return Lot.objects.get(number="K100")


def receive(
    actor: Actor,
    registration: Registration,
    product: Product,
    lot_number: str,
    containers: int = 1,
    expiry: datetime.date | None = None,
    **kw: Any,
) -> Entry:
    return services.receipt_record(
        actor=actor,
        registration=registration,
        product=product,
        lot_number=lot_number,
        expiry=expiry or in_days(365),
        containers=containers,
        **{**SUPPLIER, **kw},
    )


@pytest.fixture
def plan(doctor: Actor, patient: Any, eligible: Any, chair: Any) -> Any:
    """An IV ketamine course whose first treatment is today."""
    from tests.treatment_helpers import start_plan

    return start_plan(doctor, patient, chair)


@pytest.fixture
def esk_plan(doctor: Actor, patient: Any, eligible: Any, chair: Any) -> Any:
    """An esketamine course whose first treatment is today."""
    from tests.treatment_helpers import start_plan

    return start_plan(doctor, patient, chair, protocol="esketamine_nasal")


# IV ketamine drawn from the 50 mg/mL vial: 80 kg x 0.5 mg/kg = 40 mg, 0.80 mL into a 100 mL bag
# (100.80 mL over 40 minutes).
IV_ORDER: dict[str, Any] = {"concentration_mg_per_ml": Decimal(50), "lot_number": "K100"}
IV_PREPARED_MG = Decimal(40)
IV_INFUSED_ML = Decimal("100.8")


def iv_session(doctor: Actor, nurse: Actor, plan: Any, **order: Any) -> Any:
    """A checked-in IV session, pre-session scale done, its dose ordered from lot K100."""
    from tests.treatment_helpers import check_in, ready_to_start

    session = check_in(nurse, plan, minutes_ago=60)
    return ready_to_start(doctor, nurse, session, **{**IV_ORDER, **order})
