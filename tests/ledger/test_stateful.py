"""The book adds up whatever the clinic does, in whatever order: receipts, witnessed waste, counts,
losses, corrections and doses posted from the chair, with the refusals among them. After every step
each lot's balance is its initial inventory plus receipts, minus what was given, wasted or lost,
plus corrections; it is the balance after the lot's last entry, and it is never below zero. A
refused step changes nothing.

Each example runs inside a savepoint rolled back at its end, so the examples share the clinic set
up once (users, the location, the products, two prepared sessions) and nothing is deleted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ketacare.audit.context import Actor
from ketacare.clinical.ledger import DISPOSITIONS, Kind
from ketacare.ledger import services
from ketacare.ledger.models import Entry, Lot, Product, Registration
from ketacare.ledger.services import DoseLedger
from tests.ledger.conftest import IV_PREPARED_MG, K100_MG, in_days, iv_session, receive, snapshot
from tests.treatment_helpers import make_chair, make_eligible, start_plan

pytestmark = pytest.mark.django_db

EXPIRY_DAYS = {"K100": 300, "K200": 365, "K300": 365}
LOTS = st.sampled_from(sorted(EXPIRY_DAYS))
# Mostly a dose's worth, sometimes more than a lot holds.
MG = st.one_of(
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100), places=4),
    st.decimals(min_value=Decimal(100), max_value=Decimal(4000), places=4),
)


@dataclass
class Clinic:
    nurse: Actor
    witness: Any
    registration: Registration
    ketamine: Product
    sessions: list[Any]


@dataclass
class Posted:
    lot: str
    kind: str
    quantity_mg: Decimal


class LedgerMachine(RuleBasedStateMachine):
    clinic: Clinic
    seen: Counter[str] = Counter()  # what the examples did, so a run that tried nothing fails
    movements = Bundle("movements")

    def __init__(self) -> None:
        super().__init__()
        self._example = transaction.atomic()
        self._example.__enter__()
        self.balance: dict[str, Decimal] = {"K100": K100_MG}  # the fixture's initial inventory
        self.posted: dict[int, Posted] = {}
        self.corrected: set[int] = set()
        self.dosed: set[int] = set()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # --- helpers

    def _record(self, entry: Entry) -> Entry:
        assert entry.lot is not None
        self.seen[entry.kind] += 1
        self.balance[entry.lot.number] += entry.quantity_mg
        self.posted[entry.pk] = Posted(entry.lot.number, entry.kind, entry.quantity_mg)
        return entry

    def _refused(self, action: Any, what: str) -> None:
        self.seen[f"{what} refused"] += 1
        before = snapshot()
        with pytest.raises(ValidationError):
            action()
        assert snapshot() == before

    def _lot(self, number: str) -> Lot:
        return Lot.objects.get(number=number)

    # --- the clinic's actions

    @initialize(target=movements)
    def the_initial_inventory(self) -> int:
        entry = Entry.objects.get(lot__number="K100", kind=Kind.INVENTORY)
        self.posted[entry.pk] = Posted("K100", Kind.INVENTORY, K100_MG)
        return entry.pk

    @rule(target=movements, number=LOTS, containers=st.integers(1, 3))
    def receive(self, number: str, containers: int) -> int:
        self.balance.setdefault(number, Decimal(0))
        entry = receive(
            self.clinic.nurse,
            self.clinic.registration,
            self.clinic.ketamine,
            number,
            containers=containers,
            expiry=in_days(EXPIRY_DAYS[number]),
        )
        assert entry.quantity_mg == 500 * containers
        return self._record(entry).pk

    @rule(target=movements, number=LOTS, mg=MG)
    def waste(self, number: str, mg: Decimal) -> int | None:
        if number not in self.balance:  # not received yet
            return None

        def act() -> Entry:
            return services.waste_record(
                actor=self.clinic.nurse,
                lot=self._lot(number),
                mg=mg,
                manner="Rendered unrecoverable",
                reason="Drawn up, not used",
                witness=self.clinic.witness,
            )

        if mg > self.balance[number]:
            self._refused(act, "waste")
            return None
        return self._record(act()).pk

    @rule(target=movements, number=LOTS, mg=MG)
    def lose(self, number: str, mg: Decimal) -> int | None:
        if number not in self.balance:
            return None

        def act() -> Entry:
            return services.loss_record(
                actor=self.clinic.nurse, lot=self._lot(number), mg=mg, reason="Missing"
            )

        if mg > self.balance[number]:
            self._refused(act, "loss")
            return None
        return self._record(act()).pk

    @rule(number=LOTS, off_by=st.sampled_from([Decimal(0), Decimal(0), Decimal("-0.5"), Decimal(25)]))
    def count(self, number: str, off_by: Decimal) -> None:
        if number not in self.balance:
            return
        counted = max(self.balance[number] + off_by, Decimal(0))
        entry = services.count_record(
            actor=self.clinic.nurse, lot=self._lot(number), counted_mg=counted, witness=self.clinic.witness
        )
        assert (entry.quantity_mg, entry.counted_mg) == (0, counted)
        assert hasattr(entry, "discrepancy") == (counted != self.balance[number])
        self.seen["discrepancy" if counted != self.balance[number] else "count"] += 1

    @rule(target=movements, entry_id=movements)
    def correct(self, entry_id: int | None) -> int | None:
        if entry_id is None:  # a refused action left nothing to correct
            return None
        original = self.posted[entry_id]

        def act() -> Entry:
            return services.correction_record(
                actor=self.clinic.nurse, entry=Entry.objects.get(pk=entry_id), reason="Entered in error"
            )

        if (
            entry_id in self.corrected
            or original.kind == Kind.ADMINISTRATION
            or self.balance[original.lot] - original.quantity_mg < 0
        ):
            self._refused(act, "correction")
            return None
        self.corrected.add(entry_id)
        correction = self._record(act())
        assert correction.quantity_mg == -original.quantity_mg
        return correction.pk

    @precondition(lambda self: len(self.dosed) < len(self.clinic.sessions))
    @rule(target=movements, which=st.integers(0, 1))
    def dose_at_the_chair(self, which: int) -> int | None:
        """A prepared session's 40 mg dose from lot K100 (the ledger's part of dose_start)."""
        session = self.clinic.sessions[which % len(self.clinic.sessions)]
        if session.pk in self.dosed:
            return None
        self.dosed.add(session.pk)

        def act() -> None:
            DoseLedger().dose_started(actor=self.clinic.nurse, session=session, at=session.checked_in_at)

        if self.balance["K100"] < IV_PREPARED_MG:
            self._refused(act, "administration")
            return None
        act()
        entry = Entry.objects.get(session=session, kind=Kind.ADMINISTRATION)
        assert entry.quantity_mg == -IV_PREPARED_MG
        return self._record(entry).pk

    # --- what must always hold

    @invariant()
    def every_lot_adds_up(self) -> None:
        lots = {lot.number: lot for lot in Lot.objects.all()}
        assert set(lots) == set(self.balance)
        for number, lot in lots.items():
            entries = Entry.objects.filter(lot=lot)
            by_kind = {
                row["kind"]: row["total"]
                for row in entries.values("kind").annotate(total=Sum("quantity_mg")).order_by()
            }
            initial = by_kind.get(Kind.INVENTORY, Decimal(0))
            receipts = by_kind.get(Kind.RECEIPT, Decimal(0))
            dispositions = -sum((by_kind.get(k, Decimal(0)) for k in DISPOSITIONS), Decimal(0))
            corrections = by_kind.get(Kind.CORRECTION, Decimal(0))
            assert dispositions >= 0
            assert lot.on_hand_mg == initial + receipts - dispositions + corrections == self.balance[number]
            last = entries.exclude(balance_after_mg=None).order_by("-id").first()
            assert last is not None and last.balance_after_mg == lot.on_hand_mg
            assert lot.on_hand_mg >= 0
            assert not entries.filter(balance_after_mg__lt=0).exists()


@pytest.fixture
def clinic(doctor, nurse_actor, physician, registration, ketamine, k100, register) -> Clinic:
    """Two patients checked in, each with a 40 mg dose of lot K100 ordered."""
    prepared = []
    for n in (1, 2):
        patient = register(given_name=f"Patient{n}", phone=f"(555) 301-000{n}")
        make_eligible(doctor, patient)
        plan = start_plan(doctor, patient, make_chair(f"Chair {n}"))
        prepared.append(iv_session(doctor, nurse_actor, plan))
    return Clinic(nurse_actor, physician, registration, ketamine, prepared)


def test_the_book_adds_up_after_every_step(clinic):
    LedgerMachine.clinic = clinic
    LedgerMachine.seen = Counter()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            derandomize=True,  # the same examples every run: the tally below is stable
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    tried = {
        "receipt", "waste", "waste refused", "loss", "loss refused", "count", "discrepancy",
        "correction", "correction refused", "administration",
    }  # fmt: skip
    assert tried <= set(LedgerMachine.seen), LedgerMachine.seen
    # every example was rolled back: the clinic is as the fixture left it
    assert list(Lot.objects.values_list("number", "on_hand_mg")) == [("K100", K100_MG)]
    assert Entry.objects.filter(kind=Kind.ADMINISTRATION).count() == 0
