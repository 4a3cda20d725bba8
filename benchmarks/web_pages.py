"""Seed a cohort, then time the patient search and the chart page through the whole Django stack
(middleware, sign-in session, permission checks, audit write, template) in this process.

Server time only: no network. Prints one JSON object. Run through benchmarks/run.py.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from ketacare.accounts.models import User
    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create
    from ketacare.demo.patients import seed_cohort
    from ketacare.patients.models import Patient

    call_command("migrate", verbosity=0)
    result: dict[str, object] = {"database": connection.vendor, "patients": args.patients}

    started = time.perf_counter()
    seed_cohort(patients=args.patients, seed=args.seed)
    result["seed_seconds"] = round(time.perf_counter() - started, 2)
    result["seed_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # A server worker never holds the seeding's heap: freeze it so the garbage collector does not
    # rescan it during the timed requests.
    gc.collect()
    gc.freeze()
    if connection.vendor == "postgresql":
        # What autovacuum does shortly after a bulk load in production: statistics and the
        # visibility map, so the planner uses the name indexes.
        with connection.cursor() as cursor:
            for table in (
                "patients_patient",
                "patients_diagnosis",
                "patients_bodymeasurement",
                "audit_auditevent",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")

    user = User.objects.filter(username="bench").first() or user_create(
        username="bench",
        password="bench-password-long",  # noqa: S106 - a throwaway account in a throwaway database
        role=Role.PHYSICIAN,
    )
    client = Client()
    sign_in(client, user)
    rng = random.Random(args.seed)
    sample = list(
        Patient.objects.order_by("?").values_list("id", "mrn", "family_name", "given_name", "date_of_birth")[
            :500
        ]
    )

    def queries(n: int) -> list[str]:
        out = []
        for i in range(n):
            pid, mrn, family, given, dob = rng.choice(sample)
            kind = i % 5
            if kind == 0:
                out.append(family[:3])
            elif kind == 1:
                out.append(f"{family}, {given[:2]}")
            elif kind == 2:
                out.append(mrn)
            elif kind == 3:
                out.append(dob.isoformat())
            else:
                out.append(given[:2])
        return out

    def timed(path: str, params: dict[str, str] | None = None) -> float:
        t = time.perf_counter()
        response = client.get(path, params or {})
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            sys.exit(f"{path} {params} answered {response.status_code}")
        return elapsed

    for q in queries(20):  # warm caches and connections
        timed("/patients/", {"q": q})
    search = [timed("/patients/", {"q": q}) for q in queries(args.requests)]
    unfiltered = [timed("/patients/", {"page": str(rng.randint(1, 200))}) for _ in range(args.requests // 4)]
    chart_ids = [rng.choice(sample)[0] for _ in range(args.requests)]
    for pid in chart_ids[:20]:
        timed(f"/patients/{pid}/")
    chart = [timed(f"/patients/{pid}/") for pid in chart_ids]
    result["search"] = summary(search)
    result["list_unfiltered"] = summary(unfiltered)
    result["chart"] = summary(chart)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
