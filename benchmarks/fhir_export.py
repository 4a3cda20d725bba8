"""FHIR at scale (issue 17): `ketacare fhir-export` of a clinic of 100,000 treated patients with
about 2,000,000 responses (the outcome benchmark's clinic: patients, score histories, sessions,
antidepressant trials), as a fresh process, with its time and peak memory; and
`GET /fhir/Patient/{id}/$everything` for a patient with 500 responses and 40 sessions, through
the whole Django stack in this process.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from outcome_pages import seed_treated_clinic
from stats import cpu_reference_ms, sign_in, summary

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create
    from ketacare.audit.context import Actor
    from ketacare.clinical import instruments
    from ketacare.demo.patients import seed_cohort
    from ketacare.measures.models import QuestionnaireResponse
    from ketacare.measures.services import responses_import, scored
    from ketacare.patients.models import Patient
    from ketacare.sessions.models import TreatmentSession
    from ketacare.sessions.services import sessions_import

    result: dict[str, object] = {"database": connection.vendor}
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed_treated_clinic(args.patients)
    result["seed_seconds"] = round(time.perf_counter() - started, 1)
    result["patients"] = Patient.objects.count()
    result["responses"] = QuestionnaireResponse.objects.count()
    result["sessions"] = TreatmentSession.objects.count()

    # The export as a clinic runs it: a fresh process, its peak memory as the kernel counts it.
    out = Path(tempfile.mkdtemp(prefix="fhir-export-"))
    ketacare = str(Path(sys.executable).parent / "ketacare")
    started = time.perf_counter()
    done = subprocess.run(
        [ketacare, "fhir-export", "--out", str(out)], capture_output=True, text=True, check=False
    )
    result["export_seconds"] = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result["export_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    result["export_files_mb"] = round(sum(p.stat().st_size for p in out.iterdir()) / 2**20, 1)
    result["export_summary"] = done.stdout.strip()
    shutil.rmtree(out)

    # One long-treated patient: 500 responses (PHQ-9 and GAD-7 in turn) and 40 imported sessions.
    actor = Actor.command("bench")
    before = Patient.objects.order_by("-id").values_list("id", flat=True).first() or 0
    seed_cohort(patients=1, seed=9_999)
    patient = Patient.objects.filter(id__gt=before).get()
    now = timezone.now()
    rows = []
    for n in range(500):
        code = ("phq9", "gad7")[n % 2]
        scale = instruments.get(code)
        answers = [(n + i) % 4 for i in range(len(scale.items))]
        if code == "phq9":
            answers[8] = 0
        rows.append(
            {
                "patient_id": patient.pk,
                "instrument": code,
                "context": "follow_up",
                "administered_at": now - datetime.timedelta(days=500 - n, hours=1),
                **scored(scale, answers),
            }
        )
    with transaction.atomic():
        responses_import(rows)
        sessions_import(
            [
                {
                    "patient_id": patient.pk,
                    "at": now - datetime.timedelta(days=480 - 12 * n),
                    "route": "iv_ketamine",
                    "protocol": "iv_ketamine_standard",
                    "dose_mg": Decimal(36),
                }
                for n in range(40)
            ]
        )
    user = user_create(
        username=f"bench-fhir-{patient.pk}",  # a fresh account on every run
        password="bench-password-long",  # noqa: S106
        role=Role.PHYSICIAN,
        actor=actor,
    )
    client = Client()
    sign_in(client, user)
    url = f"/fhir/Patient/{patient.pk}/$everything"
    first = client.get(url)
    if first.status_code != 200:
        raise SystemExit(f"{url} answered {first.status_code}")
    result["everything_resources"] = json.loads(first.content)["total"]
    timings = []
    for _ in range(args.requests):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    result["everything_500_responses"] = summary(timings)
    result["cpu_reference_ms"] = cpu_reference_ms()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
