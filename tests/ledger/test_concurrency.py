"""Many chairs starting doses from the same lot at once (PostgreSQL: row locks). Each administration
takes the lot's row lock before it reads the balance, so the doses queue: the balance ends exact,
each entry's balance-after is a different step of the queue, and when the lot runs short exactly
the doses that fit are given and the rest do not start. SQLite serialises every writer with its
IMMEDIATE transactions, so the race cannot happen there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ketacare.audit.context import Actor
from ketacare.clinical.ledger import Kind
from ketacare.ledger.models import Entry, Lot
from ketacare.ledger.services import DoseLedger
from ketacare.sessions import services as sessions
from ketacare.sessions.models import TreatmentSession
from tests.ledger.conftest import IV_PREPARED_MG, K100_MG, iv_session, receive
from tests.treatment_helpers import ago, make_chair, make_eligible, start_plan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks under concurrent transactions: PostgreSQL (SQLite queues every writer)",
    ),
]


@pytest.fixture
def prepare(
    doctor: Actor, nurse_actor: Actor, register: Callable[..., Any]
) -> Callable[[int, str], list[Any]]:
    """`n` patients checked in at their own chairs, each with a 40 mg dose of `lot` ordered."""

    def make(n: int, lot: str) -> list[Any]:
        ready = []
        for i in range(n):
            patient = register(given_name=f"Patient{i}", family_name="Queue", phone=f"(555) 310-{i:04d}")
            make_eligible(doctor, patient)
            plan = start_plan(doctor, patient, make_chair(f"Chair {i}"))
            ready.append(iv_session(doctor, nurse_actor, plan, lot_number=lot))
        return ready

    return make


def _race(sessions_ready: list[Any], start: Callable[[Any], None]) -> dict[int, str]:
    """Run `start` on every session at once, one thread (and connection) each: session pk ->
    "given", or the refusal's message."""
    outcome: dict[int, str] = {}
    gate = threading.Barrier(len(sessions_ready), timeout=60)

    def work(session: Any) -> None:
        try:
            gate.wait()
            start(session)
            outcome[session.pk] = "given"
        except ValidationError as exc:
            outcome[session.pk] = " ".join(exc.messages)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            outcome[session.pk] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions_ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcome


def test_fifty_doses_from_one_lot_at_once_leave_the_exact_balance(
    prepare, nurse_actor, registration, ketamine, k100
):
    receive(nurse_actor, registration, ketamine, "K100", containers=3, expiry=k100.expiry)  # 2500 mg
    ready = prepare(50, "K100")
    outcome = _race(ready, lambda s: DoseLedger().dose_started(actor=nurse_actor, session=s, at=ago(30)))
    assert set(outcome.values()) == {"given"}
    k100.refresh_from_db()
    assert k100.on_hand_mg == Decimal(2500) - 50 * IV_PREPARED_MG == Decimal(500)
    given = Entry.objects.filter(kind=Kind.ADMINISTRATION, lot=k100).order_by("id")
    assert given.count() == 50
    assert {e.session_id for e in given} == {s.pk for s in ready}
    # each took its turn: the balances after are every step from 2460 down to 500 mg, in order
    assert [e.balance_after_mg for e in given] == [Decimal(2500) - 40 * k for k in range(1, 51)]


def _holding(mg: Decimal, lot: Lot, nurse_actor: Actor, witness: Any) -> None:
    """Waste the rest of the lot (damaged vials) so that it holds `mg`."""
    from ketacare.ledger import services

    services.waste_record(
        actor=nurse_actor,
        lot=lot,
        mg=K100_MG - mg,
        manner="Reverse distributor",
        reason="Damaged",
        witness=witness,
    )


def _short_messages(outcome: dict[int, str]) -> list[str]:
    return [m for m in outcome.values() if m != "given"]


def test_when_the_lot_runs_short_exactly_the_administrations_that_fit_are_posted(
    prepare, nurse_actor, physician, k100
):
    _holding(Decimal(500), k100, nurse_actor, physician)  # 12 doses of 40 mg, and 20 mg over
    ready = prepare(20, "K100")
    outcome = _race(ready, lambda s: DoseLedger().dose_started(actor=nurse_actor, session=s, at=ago(30)))
    short = _short_messages(outcome)
    assert len(outcome) == 20 and len(short) == 8
    assert set(short) == {"Lot K100 holds 20 mg (0.40 mL): not enough for 40 mg (0.80 mL)."}
    k100.refresh_from_db()
    assert k100.on_hand_mg == Decimal(20)
    given = Entry.objects.filter(kind=Kind.ADMINISTRATION).order_by("id")
    assert [e.balance_after_mg for e in given] == [Decimal(500) - 40 * k for k in range(1, 13)]
    assert {e.session_id for e in given} == {pk for pk, m in outcome.items() if m == "given"}


def test_when_the_lot_runs_short_at_the_chairs_the_doses_that_do_not_fit_do_not_start(
    prepare, nurse_actor, physician, k100
):
    _holding(Decimal(480), k100, nurse_actor, physician)  # exactly 12 doses of 40 mg
    ready = prepare(20, "K100")
    outcome = _race(
        ready, lambda s: sessions.dose_start(actor=nurse_actor, session=s, at=ago(30), stock=DoseLedger())
    )
    short = _short_messages(outcome)
    assert len(outcome) == 20 and len(short) == 8
    assert set(short) == {"Lot K100 holds 0 mg (0.00 mL): not enough for 40 mg (0.80 mL)."}
    k100.refresh_from_db()
    assert k100.on_hand_mg == 0
    assert Entry.objects.filter(kind=Kind.ADMINISTRATION).count() == 12
    assert not Entry.objects.filter(balance_after_mg__lt=0).exists()
    ids = [s.pk for s in ready]
    started = set(
        TreatmentSession.objects.filter(pk__in=ids, dose_started_at__isnull=False).values_list(
            "pk", flat=True
        )
    )
    assert started == {pk for pk, m in outcome.items() if m == "given"}
    refused = TreatmentSession.objects.filter(pk__in=ids, dose_started_at__isnull=True)
    assert [[e["kind"] for e in s.safety_log] for s in refused] == [["start_refused_stock"]] * 8
