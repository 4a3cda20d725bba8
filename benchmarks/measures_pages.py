"""Measurement-based care figures: scoring throughput of each scale; the chart page of a patient
with 500 responses (plot included); the clinicians' dashboard with 2,000,000 responses stored.

Server time through the whole Django stack, in this process. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import random
import resource
import sys
import time

from stats import sign_in, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create
    from ketacare.audit.context import Actor
    from ketacare.clinical import instruments
    from ketacare.demo.measures import seed_histories
    from ketacare.demo.patients import seed_cohort
    from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
    from ketacare.measures.services import response_record
    from ketacare.patients.models import Patient

    result: dict[str, object] = {"database": connection.vendor}

    # 1. Scoring throughput, pure Python: 20,000 random complete forms per scale.
    rng = random.Random(1)
    throughput = {}
    for code in instruments.CODES:
        scale = instruments.get(code)
        forms = [[rng.randrange(len(item.options)) for item in scale.items] for _ in range(20_000)]
        started = time.perf_counter()
        for answers in forms:
            scale.score(answers)
        throughput[code] = round(len(forms) / (time.perf_counter() - started))
    result["scores_per_second"] = throughput

    # 2. A cohort with at least --responses responses.
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    made, seed = 0, 0
    while made < args.responses:
        seed += 1
        before = Patient.objects.order_by("-id").values_list("id", flat=True).first() or 0
        seed_cohort(patients=10_000, seed=seed)
        ids = list(Patient.objects.filter(id__gt=before).values_list("id", flat=True))
        made += seed_histories(patient_ids=ids, seed=seed)
    result["seed_seconds"] = round(time.perf_counter() - started, 1)
    result["seed_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # A server worker never holds the seeding's heap: freeze it so the garbage collector does not
    # rescan it during the timed requests.
    gc.collect()
    gc.freeze()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "patients_patient",
                "measures_questionnaireresponse",
                "measures_safetyalert",
                "audit_auditevent",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
    result["responses"] = QuestionnaireResponse.objects.count()
    result["patients"] = Patient.objects.count()
    result["open_alerts"] = SafetyAlert.objects.filter(acknowledged_at__isnull=True).count()

    # 3. One patient with 500 responses over two years (PHQ-9 and GAD-7).
    nurse = user_create(username="bench-nurse", password="bench-password-long", role=Role.NURSE)  # noqa: S106
    actor = Actor(user=nurse)
    patient = Patient.objects.order_by("id").first()
    assert patient is not None
    QuestionnaireResponse.objects.filter(patient=patient).count()
    now = timezone.now()
    existing = QuestionnaireResponse.objects.filter(patient=patient).count()
    for n in range(500 - existing):
        code = "phq9" if n % 2 == 0 else "gad7"
        items = 9 if code == "phq9" else 7
        response_record(
            actor=actor,
            patient=patient,
            instrument=code,
            context="follow_up",
            answers=[rng.randrange(3) for _ in range(items - 1)] + [0],
            administered_at=now - datetime.timedelta(days=730 * (500 - n) / 500),
        )
    result["chart_patient_responses"] = QuestionnaireResponse.objects.filter(patient=patient).count()

    client = Client()
    sign_in(client, nurse)

    def timed(path: str) -> float:
        t = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
        return elapsed

    chart = f"/patients/{patient.pk}/"
    for _ in range(10):
        timed(chart)
    result["chart_500_responses"] = summary([timed(chart) for _ in range(args.requests)])
    for _ in range(10):
        timed("/")
    result["dashboard"] = summary([timed("/") for _ in range(args.requests)])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
