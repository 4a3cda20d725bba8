"""Controlled-substance ledger figures at scale: the stock page and a lot's history (its newest page
and a page from the middle) with about 1,000,000 ledger entries in the database, and the
inspector's CSV download of the last full calendar year (seconds, rows, and the memory it takes:
it streams, so it should stay small).

The book is three years of one registered location with two products (ketamine 50 mg/mL in 10 mL
vials; esketamine in 2-device packs): a lot of each a month, received on the month's first day
with enough for the month's doses; every dose an administration against its own session (imported
history of a few thousand patients); a few doses stopped early (the unused part returned by a
correction and wasted, countersigned later; the last few still wait for a witness); each month's
opened-vial or split-pack remainder wasted; a witnessed count of each lot in use every evening
(a few found a difference: discrepancies, most of the recent ones open); the initial and a
biennial inventory. One long-lived lot, topped up every month, carries about a quarter of all
doses: its history of 200,000+ entries shows whether a lot's page slows with its length. Every
lot's entries run in id (and time) order with the balance after each, never below zero, and each
lot's `on_hand_mg` is its last balance (checked below).

Server time through the whole Django stack, in this process. Prints one JSON object. `--reuse`
measures a database it seeded before again (with an index added by hand, say) without reseeding.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from decimal import Decimal
from typing import Any

from stats import cpu_reference_ms, sign_in, summary

VIAL = 5000  # tenths of a mg: 50 mg/mL x 10 mL
DEVICE = 280  # 28 mg of esketamine per device
PACK = 2 * DEVICE
SPARE_VIALS, SPARE_PACKS = 6, 4  # the lots in use today keep stock for today's doses
SHARE_ESKETAMINE, SHARE_BIG_LOT = 0.26, 0.24  # of the doses; the rest from the month's vial lot
STOPPED_EARLY = 0.03  # ketamine doses stopped early: a correction and a waste each
UNWITNESSED = 5  # the latest wastes from doses stopped early, not yet countersigned
DAYS = 3 * 365
BIG_LOT = "KB0001"
SUPPLIER = ("Bench Pharmaceutical Distribution", "100 Example Way, Springfield", "RD1357917")


def mg_text(tenths: int) -> str:
    """Tenths of a mg as the decimal's database text."""
    sign = "-" if tenths < 0 else ""
    t = abs(tenths)
    return f"{sign}{t // 10}.{t % 10}"


def seed(*, entries: int, patient_ids: list[int], users: dict[str, int]) -> None:
    """The book: about `entries` entries over the three years to yesterday."""
    import numpy as np
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from ketacare.bulk import bulk_insert, db_datetimes
    from ketacare.clinical import ledger as rules
    from ketacare.ledger.models import (
        Countersignature,
        Discrepancy,
        Entry,
        Lot,
        Product,
        Registration,
        WitnessDue,
    )
    from ketacare.sessions.models import TreatmentSession

    rng = random.Random(1304)
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    first_day = today - datetime.timedelta(days=DAYS)
    days = [first_day + datetime.timedelta(days=i) for i in range(DAYS)]  # to yesterday

    def at(day: datetime.date, seconds: int) -> int:
        return int(datetime.datetime.combine(day, datetime.time(0), tzinfo=tz).timestamp()) + seconds

    registration = Registration.objects.create(
        name="Bench clinic", address="1 Bench Street, Springfield", dea_number="BK1234563"
    )
    vial = Product.objects.create(
        code="ketamine-50-10",
        substance=rules.Substance.KETAMINE,
        form=rules.Form.INJECTION,
        concentration_mg_per_ml=50,
        container_ml=10,
        beyond_use_days=rules.MULTI_DOSE_BEYOND_USE_DAYS,
    )
    spray = Product.objects.create(
        code="esketamine-56",
        substance=rules.Substance.ESKETAMINE,
        form=rules.Form.NASAL_SPRAY,
        mg_per_device=28,
        devices_per_container=2,
    )
    months = sorted({(d.year, d.month) for d in days})
    lot_ids: dict[tuple[str, tuple[int, int]], int] = {}
    for product, prefix in ((vial, "KT"), (spray, "SP")):
        for y, m in months:
            lot = Lot.objects.create(
                registration=registration,
                product=product,
                number=f"{prefix}{y % 100:02d}{m:02d}A",
                expiry=datetime.date(y, m, 1) + datetime.timedelta(days=540),
            )
            lot_ids[(prefix, (y, m))] = lot.pk
    big = Lot.objects.create(
        registration=registration,
        product=vial,
        number=BIG_LOT,
        expiry=today + datetime.timedelta(days=365),
    )
    product_of = {lot: vial.pk if key[0] == "KT" else spray.pk for key, lot in lot_ids.items()}
    product_of[big.pk] = vial.pk

    session_fields = (
        "id",
        "patient",
        "source",
        "protocol",
        "route",
        "number",
        "checked_in_at",
        "dose_started_at",
        "dose_stopped_at",
        "given_dose_mg",
        "waste_mg",
        "stop_reason",
    )
    # Every other required column at its default (checklist, escort, signatures, ...), in its
    # database form: JSON as text.
    defaults: dict[str, Any] = {}
    for f in TreatmentSession._meta.concrete_fields:
        if f.null or f.primary_key or f.name in session_fields:
            continue
        value = f.get_default()
        defaults[f.name] = json.dumps(value) if f.get_internal_type() == "JSONField" else value
    session_fields += tuple(defaults)
    entry_fields = (
        "id",
        "registration",
        "product",
        "lot",
        "kind",
        "at",
        "recorded_at",
        "by",
        "witness",
        "quantity_mg",
        "balance_after_mg",
        "counted_mg",
        "business",
        "patient",
        "session",
        "containers",
        "supplier_name",
        "supplier_address",
        "supplier_dea",
        "invoice",
        "manner",
        "reason",
        "corrects",
    )

    def db_times(rows: list[list[Any]], columns: tuple[int, ...]) -> None:
        """Epoch seconds (or None) to the database's text, a column at a time (vectorised)."""
        for c in columns:
            values = np.array([np.nan if r[c] is None else r[c] for r in rows], dtype=float)
            for row, text in zip(rows, db_datetimes(values), strict=True):
                row[c] = text

    next_session = (TreatmentSession.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    next_entry = (Entry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    session_numbers: dict[tuple[int, str], int] = {}
    balance: dict[int, int] = {}
    first_use: dict[int, int] = {}
    created: dict[int, int] = {}
    nurses = [users["nurse"], users["nurse2"]]
    witness = users["physician"]
    admins_total = round(entries / 1.06)  # counts, wastes, receipts: about 6% more
    # Counts that find a difference: (day index, which lot); the ones in the last year stay open.
    miscounts = {150: "KT", 500: "SP", 800: "KB", DAYS - 200: "KT"}
    miscounts.update({DAYS - 60: "SP", DAYS - 9: "KB", DAYS - 2: "KT"})
    discrepancies: list[tuple[Any, ...]] = []
    countersign: list[tuple[int, int]] = []  # (waste id, its time)
    seq = 0
    events: list[tuple[Any, ...]] = []  # a month's: (time, order, what, lot, quantity or detail...)

    def event(t: int, *what: Any) -> None:
        nonlocal seq
        seq += 1
        events.append((t, seq, *what))

    for month in months:
        events.clear()
        month_days = [(i, d) for i, d in enumerate(days) if (d.year, d.month) == month]
        last_month = month == months[-1]
        kt, sp = lot_ids[("KT", month)], lot_ids[("SP", month)]
        sessions: list[list[Any]] = []
        need: dict[int, int] = {kt: 0, sp: 0, big.pk: 0}
        for i, day in month_days:
            if i == 0:
                for product in (vial.pk, spray.pk):
                    event(at(day, 7 * 3600), "initial", product)
            if i == DAYS - 400:
                for product in (vial.pk, spray.pk):
                    event(at(day, 7 * 3600 + 600), "inventory", product)
            n = admins_total * (i + 1) // DAYS - admins_total * i // DAYS
            for k in range(n):
                t = at(day, 8 * 3600 + k * 11 * 3600 // n)  # 08:00 to 19:00
                r = rng.random()
                esketamine = r < SHARE_ESKETAMINE
                lot = sp if esketamine else big.pk if r < SHARE_ESKETAMINE + SHARE_BIG_LOT else kt
                dose = rng.choice((2 * DEVICE, 3 * DEVICE)) if esketamine else rng.randint(250, 600)
                need[lot] += dose
                patient = patient_ids[rng.randrange(len(patient_ids))]
                route = "esketamine" if esketamine else "iv_ketamine"
                number = session_numbers[(patient, route)] = session_numbers.get((patient, route), 0) + 1
                unused = rng.randint(50, dose - 50) if not esketamine and rng.random() < STOPPED_EARLY else 0
                stopped = t + (1200 if unused else 2400)
                sessions.append(
                    [
                        next_session,
                        patient,
                        "import",
                        "esketamine_nasal" if esketamine else "iv_ketamine_standard",
                        route,
                        number,
                        t - 1800,
                        t,
                        None if esketamine else stopped,
                        mg_text(dose - unused),
                        mg_text(unused) if unused else None,
                        "Patient asked to stop" if unused else "",
                        *defaults.values(),
                    ]
                )
                event(t, "administration", lot, dose, patient, next_session)
                if unused:
                    event(stopped, "returned", lot, unused, patient, next_session)
                    event(stopped, "session waste", lot, unused, patient, next_session)
                next_session += 1
            if i == month_days[-1][0] and not last_month:
                event(at(day, 19 * 3600), "remainder", kt)
                event(at(day, 19 * 3600 + 60), "remainder", sp)
            for offset, (key, lot) in enumerate((("KT", kt), ("SP", sp), ("KB", big.pk))):
                event(at(day, 19 * 3600 + 1800 + 60 * offset), "count", lot, miscounts.get(i) == key)
        day0 = month_days[0][1]
        for j, (lot, per, spare) in enumerate(((kt, VIAL, SPARE_VIALS), (sp, PACK, SPARE_PACKS))):
            containers = math.ceil(need[lot] / per) + (spare if last_month else 0)
            if containers:
                event(at(day0, 7 * 3600 + 1800 + 60 * j), "receipt", lot, containers * per, containers)
        # The long-lived lot: topped up to the month's doses and two vials more.
        containers = math.ceil(max(0, need[big.pk] + 2 * VIAL - balance.get(big.pk, 0)) / VIAL)
        if containers:
            event(at(day0, 7 * 3600 + 1920), "receipt", big.pk, containers * VIAL, containers)
        events.sort()

        rows: list[list[Any]] = []
        administration: dict[int, int] = {}  # session: its administration's entry
        for t, _, what, *detail in events:
            eid = next_entry
            next_entry += 1
            by = nurses[eid % 2]
            row: list[Any] = [eid, registration.pk, None, None, "", t, t + 60, by, None]
            row += [mg_text(0), None, None, "", None, None, None, "", "", "", "", "", "", None]
            if what in ("initial", "inventory"):
                (product,) = detail
                on_hand = [lot for lot, b in balance.items() if b > 0 and product_of[lot] == product]
                if what == "inventory" and on_hand:
                    next_entry -= 1
                    for lot in sorted(on_hand):
                        line = list(row)
                        line[0] = next_entry
                        next_entry += 1
                        line[2:4] = [product, lot]
                        line[4], line[12] = "inventory", "opening"
                        line[10] = line[11] = mg_text(balance[lot])
                        rows.append(line)
                    continue
                row[2], row[4], row[11], row[12] = product, "inventory", mg_text(0), "opening"
                rows.append(row)
                continue
            lot = detail[0]
            row[2], row[3], row[4] = product_of[lot], lot, what
            if what == "receipt":
                _, quantity, containers = detail
                row[9], row[15] = mg_text(quantity), containers
                row[16:20] = [*SUPPLIER, f"INV-{eid}"]
                created.setdefault(lot, t)
            elif what == "administration":
                _, dose, patient, session = detail
                quantity = -dose
                row[9], row[13], row[14] = mg_text(quantity), patient, session
                administration[session] = eid
                first_use.setdefault(lot, t)
            elif what in ("returned", "session waste"):
                _, unused, patient, session = detail
                quantity = unused if what == "returned" else -unused
                row[9], row[13], row[14] = mg_text(quantity), patient, session
                if what == "returned":
                    row[4], row[22] = "correction", administration[session]
                    row[21] = "Dose stopped early: the part prepared and not given is wasted."
                else:
                    row[4], row[20] = "waste", "not given: dose stopped early"
                    row[21] = "Patient asked to stop"
                    countersign.append((eid, t))
            elif what == "remainder":
                quantity = -balance.get(lot, 0)
                if not quantity:
                    next_entry -= 1
                    continue
                row[4], row[8], row[9] = "waste", witness, mg_text(quantity)
                row[20] = "Rendered unrecoverable in a drug waste container"
                row[21] = (
                    "Opened vial past its beyond-use date" if lot == kt else "A split pack's last device"
                )
            else:  # count
                miscount = detail[1]
                quantity = 0
                counted = balance.get(lot, 0)
                if miscount:
                    delta = DEVICE if lot == sp else 50
                    counted = counted - delta if counted >= delta else counted + delta
                    opened = t + 60
                    resolved = opened + 86400 if t < at(today, 0) - 365 * 86400 else None
                    discrepancies.append(
                        (
                            eid,
                            lot,
                            mg_text(balance.get(lot, 0)),
                            mg_text(counted),
                            opened,
                            resolved,
                            witness if resolved else None,
                            "Recounted together: the book is right." if resolved else "",
                        )
                    )
                row[4], row[8], row[11] = "count", witness, mg_text(counted)
            balance[lot] = balance.get(lot, 0) + quantity
            assert balance[lot] >= 0, (lot, what, t)
            row[10] = mg_text(balance[lot])
            rows.append(row)
        db_times(sessions, (6, 7, 8))
        db_times(rows, (5, 6))
        with transaction.atomic():
            bulk_insert(TreatmentSession, session_fields, sessions, prepared=True)
            bulk_insert(Entry, entry_fields, rows, prepared=True)

    # The countersignatures (an hour after each waste), but for the latest few; the discrepancies.
    signed = [[eid, witness, t + 3600] for eid, t in countersign[:-UNWITNESSED]]
    db_times(signed, (2,))
    found = [list(d) for d in discrepancies]
    db_times(found, (4, 5))
    with transaction.atomic():
        bulk_insert(Countersignature, ("entry", "witness", "at"), signed, prepared=True)
        bulk_insert(WitnessDue, ("entry",), [[eid] for eid, _ in countersign[-UNWITNESSED:]], prepared=True)
        bulk_insert(
            Discrepancy,
            (
                "entry",
                "lot",
                "book_mg",
                "counted_mg",
                "opened_at",
                "resolved_at",
                "resolved_by",
                "resolution",
            ),
            found,
            prepared=True,
        )
        for lot_id, b in balance.items():
            Lot.objects.filter(pk=lot_id).update(
                on_hand_mg=Decimal(mg_text(b)),
                first_punctured_at=(
                    datetime.datetime.fromtimestamp(first_use[lot_id], tz)
                    if lot_id in first_use and product_of[lot_id] == vial.pk
                    else None
                ),
                created_at=datetime.datetime.fromtimestamp(created.get(lot_id, at(first_day, 0)), tz),
            )
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Entry, TreatmentSession]):
                cursor.execute(sql)
    assert next_entry - 1 == Entry.objects.count()


def book_sizes() -> dict[str, Any]:
    """What the figures were measured on."""
    from ketacare.ledger import selectors
    from ketacare.ledger.models import Discrepancy, Entry, Lot
    from ketacare.sessions.models import TreatmentSession

    big = Lot.objects.get(number=BIG_LOT)
    return {
        "entries": Entry.objects.count(),
        "lots": Lot.objects.count(),
        "big_lot": big.pk,
        "big_lot_entries": Entry.objects.filter(lot=big).count(),
        "sessions": TreatmentSession.objects.count(),
        "open_discrepancies": Discrepancy.objects.filter(resolved_at__isnull=True).count(),
        "awaiting_witness": selectors.awaiting_witness().count(),
    }


def check_book() -> None:
    """Each lot's balances are its running sum, and its on-hand the last of them."""
    from django.db.models import Max, Sum

    from ketacare.clinical import ledger as rules
    from ketacare.ledger.models import Entry, Lot

    sums = {
        r["lot"]: r
        for r in Entry.objects.filter(lot__isnull=False)
        .values("lot")
        .annotate(total=Sum("quantity_mg"), last=Max("id"))
    }
    ends = [r["last"] for r in sums.values()]
    last = dict(Entry.objects.filter(id__in=ends).values_list("lot", "balance_after_mg"))
    for lot in Lot.objects.all():
        # SQLite sums the decimals as floats: to the ledger's precision.
        assert rules.mg(sums[lot.pk]["total"]) == lot.on_hand_mg == last[lot.pk], lot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=4_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--exports", type=int, default=3, help="timed downloads (the median is reported)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure a database this script seeded before again (after adding an index by hand)",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ketacare.accounts.models import User
    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create
    from ketacare.demo.patients import seed_cohort
    from ketacare.ledger.models import Entry, Registration
    from ketacare.patients.models import Patient

    result: dict[str, object] = {"database": connection.vendor}
    call_command("migrate", verbosity=0)
    names = ("nurse", "nurse2", "physician", "admin")
    if args.reuse and Registration.objects.exists():
        users = {name: User.objects.get(username=f"bench-{name}") for name in names}
    else:
        users = {
            name: user_create(
                username=f"bench-{name}",
                password="bench-password-long",  # noqa: S106 - a throwaway account in a throwaway database
                role=role,
                first_name=first,
                last_name="Bench",
            )
            for name, role, first in zip(
                names,
                (Role.NURSE, Role.NURSE, Role.PHYSICIAN, Role.CLINIC_ADMIN),
                ("Nora", "Ned", "Phil", "Ada"),
                strict=True,
            )
        }
        started = time.perf_counter()
        seed_cohort(patients=args.patients, seed=11)
        patient_ids = list(Patient.objects.order_by("id").values_list("id", flat=True))
        seed(entries=args.entries, patient_ids=patient_ids, users={k: u.pk for k, u in users.items()})
        result["seed_seconds"] = round(time.perf_counter() - started, 1)
        result["seed_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        check_book()
        if connection.vendor == "postgresql":
            # What autovacuum does shortly after a bulk load: statistics and the visibility map.
            with connection.cursor() as cursor:
                for table in (
                    "ledger_entry",
                    "ledger_lot",
                    "ledger_discrepancy",
                    "ledger_countersignature",
                    "treatment_sessions_treatmentsession",
                    "patients_patient",
                    "audit_auditevent",
                ):
                    cursor.execute(f"VACUUM ANALYZE {table}")
    result["patients"] = Patient.objects.count()
    sizes = book_sizes()
    result.update(sizes)
    gc.collect()
    gc.freeze()
    result["cpu_reference_ms"] = cpu_reference_ms()

    def signed_in(user: Any) -> Client:
        return sign_in(Client(), user)

    nurse, admin = signed_in(users["nurse"]), signed_in(users["admin"])
    big = int(sizes["big_lot"])
    big_ids = Entry.objects.filter(lot_id=big).order_by("id").values_list("id", flat=True)
    middle = big_ids[int(sizes["big_lot_entries"]) // 2]
    pages = {
        "stock": ("/ledger/", "to witness"),
        "lot_history": (f"/ledger/lots/{big}/", "Older entries"),
        "lot_history_before": (f"/ledger/lots/{big}/?before={middle}", "Older entries"),
    }

    def timed(path: str, expect: str) -> float:
        t = time.perf_counter()
        response = nurse.get(path)
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200 or expect not in response.content.decode():
            sys.exit(f"{path} answered {response.status_code} without {expect!r}")
        return elapsed

    for name, (path, expect) in pages.items():
        with CaptureQueriesContext(connection) as ctx:
            timed(path, expect)
        result[f"{name}_queries"] = len(ctx.captured_queries)
        for _ in range(10):
            timed(path, expect)
        result[name] = summary([timed(path, expect) for _ in range(args.requests)])

    # The inspector's download of the last full calendar year, read to its end as a client would.
    registration = Registration.objects.get()
    year = timezone.localdate().year - 1
    params = {"registration": registration.pk, "start": f"{year}-01-01", "end": f"{year}-12-31"}

    def download() -> tuple[float, int, int]:
        t = time.perf_counter()
        response = admin.get("/ledger/export/", params)
        if response.status_code != 200 or not response.streaming:
            sys.exit(f"export answered {response.status_code}")
        lines = size = 0
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            lines += chunk.count(b"\n")
            size += len(chunk)
        response.close()
        return time.perf_counter() - t, lines - 1, size

    runs = [download() for _ in range(args.exports)]
    seconds = [r[0] for r in runs]
    rows, size = runs[0][1], runs[0][2]
    result["export_year"] = year
    result["export_year_seconds"] = round(statistics.median(seconds), 2)
    result["export_runs_seconds"] = [round(s, 2) for s in seconds]
    result["export_rows"] = rows
    result["export_mb"] = round(size / 2**20, 1)
    expected = Entry.objects.filter(registration=registration, at__year=year).count()
    assert rows == expected, (rows, expected)
    tracemalloc.start()
    download()
    result["export_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
