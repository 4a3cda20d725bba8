"""The demo's ledger: a year of history that agrees with the demo's sessions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from ketacare.ledger.models import Discrepancy, Entry, Lot
from ketacare.sessions.models import DoseOrder, TreatmentSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", "--patients", "30", "--seed", "3", "--without-morning", stdout=StringIO())


def _every_dose_the_demo_gave_is_on_its_ledger_once_with_its_prepared_dose():
    given = TreatmentSession.objects.filter(dose_started_at__isnull=False)
    assert given.count() == 180
    administrations = {
        e.session_id: e for e in Entry.objects.filter(kind="administration").select_related("lot")
    }
    assert set(administrations) == set(given.values_list("pk", flat=True))
    for order in DoseOrder.objects.filter(session__in=given, superseded_at__isnull=True).select_related(
        "session"
    ):
        entry = administrations[order.session_id]
        assert entry.lot.number == order.lot_number
        assert entry.patient_id == order.patient_id
        assert entry.at == order.session.dose_started_at
        expected = Decimal(28) * (order.devices or 1) if order.session.is_esketamine else order.dose_given_mg
        assert -entry.quantity_mg == expected


def _each_lot_balance_is_the_sum_of_its_entries_and_never_went_negative():
    for lot in Lot.objects.all():
        entries = list(Entry.objects.filter(lot=lot).order_by("id"))
        running = Decimal(0)
        for entry in entries:
            running += entry.quantity_mg
            assert running >= 0
            assert entry.balance_after_mg == running
        assert lot.on_hand_mg == running


def _the_demo_ledger_covers_a_year_witnesses_every_waste_and_has_stock_today():
    first = Entry.objects.order_by("at").first()
    assert first.kind == "inventory"
    assert first.at <= timezone.now() - datetime.timedelta(days=365)
    wastes = Entry.objects.filter(kind="waste")
    assert wastes.exists()
    assert not wastes.filter(witness__isnull=True, countersignature__isnull=True).exists()
    assert Entry.objects.filter(kind="count").count() >= 6
    assert Discrepancy.objects.count() == 1
    assert not Discrepancy.objects.filter(resolved_at__isnull=True).exists()
    on_hand = Lot.objects.filter(product__code="ketamine-10-20").aggregate(mg=Sum("on_hand_mg"))["mg"]
    assert on_hand >= 6 * 200  # the spare vials of the lot in use today


def test_the_demo_ledger_agrees_with_its_sessions_adds_up_and_covers_a_year(demo):
    # One demo seeded (about 5 s), read three ways.
    _every_dose_the_demo_gave_is_on_its_ledger_once_with_its_prepared_dose()
    _each_lot_balance_is_the_sum_of_its_entries_and_never_went_negative()
    _the_demo_ledger_covers_a_year_witnesses_every_waste_and_has_stock_today()
