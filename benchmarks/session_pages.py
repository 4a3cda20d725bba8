"""Treatment figures: the session page with a full flowsheet (at the chair, before discharge, and
again once signed), and the calendar's week view with 50 chairs fully booked, over a cohort whose
treatment history is already stored.

Server time through the whole Django stack, in this process. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import resource
import sys
import time
from urllib.parse import quote

from stats import sign_in, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from ketacare.accounts.management.commands.demo_users import DEMO_PASSWORD
    from ketacare.accounts.models import User
    from ketacare.audit.context import Actor
    from ketacare.clinical.contraindications import RULES
    from ketacare.clinical.monitoring import DISCHARGE_CRITERIA, Vitals
    from ketacare.screening import services as screening
    from ketacare.sessions import services
    from ketacare.sessions.models import TreatmentSession, VitalSign
    from ketacare.treatment.models import Appointment, Chair, TreatmentPlan
    from ketacare.treatment.services import plan_start

    result: dict[str, object] = {"database": connection.vendor}
    call_command("migrate", verbosity=0)
    call_command("demo_users", verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", patients=args.patients, seed=1, verbosity=0)
    result["seed_seconds"] = round(time.perf_counter() - started, 1)
    result["seed_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # The seeding above leaves this process with a heap no server worker would hold; freeze it so
    # the garbage collector does not rescan it during the timed requests.
    gc.collect()
    gc.freeze()
    physician = User.objects.get(username="physician")
    nurse = User.objects.get(username="nurse")
    doctor, nursing = Actor(user=physician), Actor(user=nurse)
    client = Client()
    sign_in(client, nurse)

    def timed(path: str, expect: str) -> float:
        t = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200 or expect not in response.content.decode():
            sys.exit(f"{path} answered {response.status_code} without {expect!r}")
        return elapsed

    def timed_page(path: str, expect: str) -> dict[str, float]:
        for _ in range(10):
            timed(path, expect)
        return summary([timed(path, expect) for _ in range(args.requests)])

    # 1. One live session with a full flowsheet: three hours of vitals every 5 minutes, sedation
    # and CADSS at their times, pre and post scales, adverse events, verified high dose, signed,
    # two amendments.
    from ketacare.patients.models import Patient

    patient = Patient.objects.filter(plans__isnull=True).order_by("id").first()
    if patient is None:
        from ketacare.patients.services import patient_register

        patient = patient_register(
            actor=doctor,
            details={
                "given_name": "Bench",
                "family_name": "Patient",
                "date_of_birth": datetime.date(1980, 1, 1),
                "sex": "female",
            },
            diagnoses=("F33.1",),
            primary_diagnosis="F33.1",
            weight_kg=None,
            height_cm=None,
        )
    consultation = screening.consultation_start(actor=doctor, patient=patient)
    screening.episode_record(
        actor=doctor,
        consultation=consultation,
        episode_duration_months=14,
        severity="moderate",
        augmentation_used=False,
    )
    screening.checklist_record(
        actor=doctor, consultation=consultation, answers={r.code: False for r in RULES}
    )
    screening.decision_sign(
        actor=doctor,
        consultation=consultation,
        decision="eligible",
        routes=["iv_ketamine"],
        reasons="Bench",
        password=DEMO_PASSWORD,
    )
    # The patient's consent to the route, signed on paper in front of the physician (a course
    # starts only under it).
    from ketacare.patients.services import consent_record_paper
    from ketacare.screening.selectors import eligible_since

    consent_record_paper(
        actor=doctor,
        patient=patient,
        kind="iv_ketamine",
        version=None,
        typed_name=patient.full_name,
        witnessed=True,
        decided_at=eligible_since(patient_id=patient.pk)["iv_ketamine"],
    )
    chair = Chair.objects.create(name="Bench chair")
    plan = plan_start(
        actor=doctor,
        patient=patient,
        protocol="iv_ketamine_standard",
        chair=chair,
        start_on=timezone.localdate(),
        start_time=datetime.time(0, 0),
    )

    def phq9(answers: list[int], purpose: str) -> None:
        services.scale_record(
            actor=nursing, session=session, purpose=purpose, instrument_code="phq9", answers=answers
        )

    appointment = plan.appointments.order_by("starts_at").first()
    session = services.session_check_in(
        actor=nursing,
        appointment=appointment,
        weight_kg=80,
        height_cm=175,
        confirm_weight=True,
        checklist={
            "identity_confirmed": True,
            "pregnancy_possible": False,
            "alcohol_24h": False,
            "new_benzodiazepine": True,
            "new_cns_depressant": False,
            "new_stimulant": False,
            "new_maoi": False,
            "new_lamotrigine": False,
            "fasting": True,
            "escort": True,
        },
        escort_name="Bench escort",
        escort_phone="555 0100",
        vitals=Vitals(124, 80, 72, 98, 14),
    )
    TreatmentSession.objects.filter(pk=session.pk).update(
        checked_in_at=timezone.now() - datetime.timedelta(hours=4)
    )
    session.refresh_from_db()
    phq9([2] * 8 + [0], "pre")
    from decimal import Decimal

    services.dose_order(actor=doctor, session=session, dose_mg_per_kg=Decimal("0.8"), lot_number="KT1")
    services.dose_verify(actor=nursing, session=session, username="nurse", password=DEMO_PASSWORD)
    start = timezone.now() - datetime.timedelta(minutes=185)
    services.dose_start(actor=nursing, session=session, at=start)
    for minute in range(0, 181, 5):
        services.vitals_record(
            actor=nursing,
            session=session,
            vitals=Vitals(120 + minute % 17, 78 + minute % 9, 70 + minute % 11, 97, 14),
            taken_at=start + datetime.timedelta(minutes=minute),
        )
    for minute in (20, 40, 60, 90, 120, 150):
        services.sedation_record(
            actor=nursing,
            session=session,
            moaas=3 if minute == 40 else 5,  # one sedation alarm, answered below
            at=start + datetime.timedelta(minutes=minute),
        )
    # One SpO2 dip (an alarm, acknowledged) and a mistyped reading struck out.
    services.vitals_record(
        actor=nursing,
        session=session,
        vitals=Vitals(spo2=90),
        taken_at=start + datetime.timedelta(minutes=33),
    )
    services.alarm_acknowledge(actor=nursing, session=session, alarm="spo2_low", note="Probe off; repeat 97%")
    typo = services.vitals_record(
        actor=nursing,
        session=session,
        vitals=Vitals(212, 80, 72),
        taken_at=start + datetime.timedelta(minutes=34),
    )
    services.vitals_strike(actor=nursing, session=session, vital_ids=[typo.pk], reason="typed 212 for 122")
    for minute in (40, 90, 150):
        services.scale_record(
            actor=nursing,
            session=session,
            purpose="dissociation",
            instrument_code="cadss",
            answers=[1] * 23,
            at=start + datetime.timedelta(minutes=minute),
        )
    for kind in ("nausea", "vomiting", "emergence_reaction", "oversedation"):
        services.adverse_event_record(
            actor=nursing, session=session, kind=kind, severity="mild", action_taken="observed"
        )
    services.dose_stop(actor=nursing, session=session, at=start + datetime.timedelta(minutes=40))
    phq9([1] * 8 + [0], "post")
    live_page = timed_page(f"/sessions/{session.pk}/", "Add the reading")
    services.discharge(actor=nursing, session=session, criteria={c: True for c, _ in DISCHARGE_CRITERIA})
    services.session_sign(actor=nursing, session=session, password=DEMO_PASSWORD)
    services.session_sign(actor=doctor, session=session, password=DEMO_PASSWORD)
    for n in range(2):
        services.session_amend(
            actor=nursing, session=session, reason=f"Late note {n}", text="Patient called: well."
        )
    result["flowsheet_readings"] = VitalSign.objects.filter(session=session).count()

    # 2. 50 chairs, each booked back to back 08:00-20:00 every day of next week (2,100 appointments).
    # The demo's own chairs go out of use and its boosters that week are cancelled, so the week
    # shows exactly the 50 chairs.
    monday = timezone.localdate() + datetime.timedelta(days=7 - timezone.localdate().weekday())
    Chair.objects.update(active=False)
    Appointment.objects.filter(
        starts_at__date__gte=monday, starts_at__date__lt=monday + datetime.timedelta(days=7)
    ).update(status="cancelled", cancelled_at=timezone.now(), last_change_reason="benchmark week")
    chairs = [Chair.objects.create(name=f"Bench {n:02d}", room=f"Bay {n // 10}") for n in range(50)]
    plans = list(TreatmentPlan.objects.order_by("id")[:400])
    rows = []
    for c, chair_row in enumerate(chairs):
        for day in range(7):
            for slot in range(6):
                begins = timezone.make_aware(
                    datetime.datetime.combine(
                        monday + datetime.timedelta(days=day), datetime.time(8 + 2 * slot)
                    )
                )
                p = plans[(c * 6 + slot) % len(plans)]
                rows.append(
                    Appointment(
                        patient_id=p.patient_id,
                        plan=p,
                        chair=chair_row,
                        clinician=nurse if slot % 2 else physician,
                        kind="booster",
                        starts_at=begins,
                        ends_at=begins + datetime.timedelta(hours=2),
                    )
                )
    Appointment.objects.bulk_create(rows, batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "treatment_appointment",
                "treatment_sessions_treatmentsession",
                "treatment_sessions_vitalsign",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
    result["patients"] = Patient.objects.count()
    result["sessions"] = TreatmentSession.objects.count()
    result["appointments"] = Appointment.objects.count()
    result["calendar_week_appointments"] = (
        Appointment.objects.holding_time()
        .filter(starts_at__date__gte=monday, starts_at__date__lt=monday + datetime.timedelta(days=7))
        .count()
    )

    # 3. The Today board on that day: the demo's morning in four of the 50 chairs (checked in,
    # dosing, in recovery with an alarm, ready to leave) and three more expected.
    from ketacare.demo.today import seed_today

    morning = seed_today(physician=physician, nurse=nurse, even_if_booked=True)
    result["board_in_chairs"] = morning.in_chairs
    result["board_open_sessions"] = TreatmentSession.objects.filter(locked_at__isnull=True).count()

    result["session_full_flowsheet"] = live_page
    pages = {
        "session_signed": (f"/sessions/{session.pk}/", "Signed and locked"),
        "calendar_week_50_chairs": (f"/calendar/?date={monday.isoformat()}", "booked"),
        "calendar_day_by_staff": (f"/calendar/?date={monday.isoformat()}&view=day&by=staff", "booked"),
    }
    for name, (path, expect) in pages.items():
        result[name] = timed_page(path, expect)
    # The board as an open tablet polls it: with the token of what the page showed, so that a poll
    # showing the same patients is not written to the audit trail again (web/today.py).
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    home = client.get("/").content.decode()
    poll = unescape(home.split('id="today-board"')[1].split('hx-get="')[1].split('"')[0])
    seen = parse_qs(urlsplit(poll).query)["seen"][0]
    result["today_board"] = timed_page(f"/today/board/?seen={quote(seen)}", "Monitoring")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
