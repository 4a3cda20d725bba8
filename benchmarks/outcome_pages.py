"""Clinic outcome figures at scale: the outcome dashboard and `ketacare outcomes --json` on a clinic
of 100,000 treated patients with about 2,000,000 responses and 600,000 sessions; how long a full
recomputation of the stored outcomes takes; and the memory each uses.

The treatments are loaded as imported history (the figures treat imported and live sessions
alike): six infusions per patient at the times of the synthetic score history, two more for the
esketamine patients; about 60% of the patients have antidepressant trials on record.

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
import statistics
import subprocess
import sys
import time
import tracemalloc
from io import StringIO
from pathlib import Path

from stats import cpu_reference_ms, sign_in, summary

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from ketacare.accounts.roles import Role
    from ketacare.accounts.services import user_create
    from ketacare.measures.models import QuestionnaireResponse
    from ketacare.outcomes import services as outcome_services
    from ketacare.outcomes.models import PatientOutcome
    from ketacare.patients.models import Patient
    from ketacare.patients.services import record_changed
    from ketacare.screening.models import AntidepressantTrial
    from ketacare.sessions.models import TreatmentSession

    result: dict[str, object] = {"database": connection.vendor}
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed_treated_clinic(args.patients)
    result["seed_seconds"] = round(time.perf_counter() - started, 1)
    result["patients"] = Patient.objects.count()
    result["responses"] = QuestionnaireResponse.objects.count()
    result["sessions"] = TreatmentSession.objects.count()
    result["trials"] = AntidepressantTrial.objects.count()

    # A full recomputation of every stored outcome (what a change of the clinic's settings costs):
    # the median of three, as a shared machine's speed drifts between runs.
    rebuilds = []
    for _ in range(3):
        started = time.perf_counter()
        outcome_services.rebuild()
        rebuilds.append(time.perf_counter() - started)
    result["refresh_all_seconds"] = round(statistics.median(rebuilds), 1)
    result["refresh_all_runs_seconds"] = [round(s, 1) for s in rebuilds]
    result["cpu_reference_ms"] = cpu_reference_ms()
    assert not outcome_services.catch_up().failure  # records the settings version: nothing left

    # Catching up 1,000 changed patients (what the timer or the next page view does).
    treated_ids = list(
        TreatmentSession.objects.order_by("patient_id").values_list("patient_id", flat=True).distinct()
    )
    catch_up_ms = []
    for n in range(5):
        record_changed(random.Random(n).sample(treated_ids, 1000))
        t = time.perf_counter()
        done = outcome_services.catch_up()
        catch_up_ms.append((time.perf_counter() - t) * 1000)
        assert not done.failure, done.failure
        assert done.patients == 1000, done
    result["catch_up_1000_patients"] = summary(catch_up_ms)

    # Saving a score: its queries (no outcome work inside the write; the mark is one insert).
    from django.test.utils import CaptureQueriesContext

    from ketacare.accounts.models import User
    from ketacare.audit.context import Actor
    from ketacare.measures.services import response_record

    nurse = User.objects.filter(username="bench-nurse").first() or user_create(
        username="bench-nurse",
        password="bench-password-long",  # noqa: S106
        role=Role.NURSE,
    )
    with CaptureQueriesContext(connection) as ctx:
        response_record(
            actor=Actor(user=nurse),
            patient=Patient.objects.get(pk=treated_ids[0]),
            instrument="phq9",
            answers=[1] * 8 + [2],
            context="follow_up",
        )
    result["score_save_queries"] = len(ctx.captured_queries)
    outcome_services.catch_up()
    result["seed_and_refresh_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    result["stored_outcomes"] = PatientOutcome.objects.count()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "patients_patient",
                "measures_questionnaireresponse",
                "treatment_sessions_treatmentsession",
                "outcomes_patientoutcome",
                "measures_safetyalert",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
    gc.collect()
    gc.freeze()

    physician = User.objects.filter(username="bench-physician").first() or user_create(
        username="bench-physician",
        password="bench-password-long",  # noqa: S106
        role=Role.PHYSICIAN,
    )
    client = Client()
    sign_in(client, physician)

    def timed(path: str) -> float:
        t = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
        return elapsed

    dashboard = "/outcomes/?instrument=phq9"
    filtered = "/outcomes/?instrument=phq9&route=iv_ketamine&start=2026-01-01&condition=F33.1"
    # In this process, once: the plots drawn for the new data (a file cache every process shares),
    # and the memory a dashboard request takes.
    result["dashboard_first_request_this_process_ms"] = round(timed(dashboard), 1)
    tracemalloc.start()
    timed(dashboard)
    result["dashboard_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    # Then as a server serves them: a new process that loads the app as a gunicorn worker does,
    # its first request of each page, then warm requests (not this process, which loaded the data).
    served = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("server_requests.py")),
            dashboard,
            filtered,
            f"--requests={args.requests}",
        ],
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    pages = json.loads(served.stdout)
    result["dashboard_first_request_new_process_ms"] = pages["first_ms"][dashboard]
    result["dashboard"] = pages["warm"][dashboard]
    result["dashboard_filtered"] = pages["warm"][filtered]

    def command() -> float:
        out = StringIO()
        t = time.perf_counter()
        call_command("outcomes", "--json", stdout=out)
        elapsed = (time.perf_counter() - t) * 1000
        json.loads(out.getvalue())
        return elapsed

    command()
    tracemalloc.start()
    command()
    result["outcomes_json_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    result["outcomes_json"] = summary([command() for _ in range(args.requests)])
    # The command as a user runs it: a fresh process (Python, Django, SciPy start-up included).
    t = time.perf_counter()
    child = subprocess.run(
        [str(Path(sys.executable).parent / "ketacare"), "outcomes", "--json"],
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result["outcomes_json_process_ms"] = round((time.perf_counter() - t) * 1000, 1)
    result["outcomes_json_process_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
    )
    figures = json.loads(child.stdout)
    result["first_treatment"] = figures["first_treatment"]
    print(json.dumps(result))


def seed_treated_clinic(patients: int) -> None:
    """Patients (10,000 at a time) with score histories, a treatment at each pre-session rating of
    the patient's first scale (esketamine for about 15%, with two more), and antidepressant
    trials for about 60%; up to `patients` (none added when the database holds them already).
    Shared with the FHIR export benchmark."""
    from django.db import transaction

    from ketacare.bulk import bulk_insert
    from ketacare.demo.measures import seed_histories
    from ketacare.demo.patients import seed_cohort
    from ketacare.measures.models import Context, QuestionnaireResponse
    from ketacare.patients.models import Patient
    from ketacare.screening.models import AntidepressantTrial
    from ketacare.sessions.models import TreatmentSession

    rng = random.Random(7)
    seed = 0
    session_columns = (
        "patient",
        "source",
        "protocol",
        "route",
        "number",
        "checked_in_at",
        "dose_started_at",
        "concomitant",
        "discharge_criteria",
        "safety_log",
        "notes",
        "fasting_confirmed",
        "gate_override_reason",
        "signature",
    )
    # Every other required column at its default (the chair-safety record: checklist, escort, ...).
    defaults = {
        f.column: f.get_default()
        for f in TreatmentSession._meta.concrete_fields
        if not f.null and not f.primary_key and f.name not in session_columns
    }
    session_columns += tuple(defaults)
    trial_columns = (
        "patient",
        "drug",
        "daily_dose_mg",
        "started_on",
        "stopped_on",
        "adherence",
        "outcome",
        "current_episode",
        "recorded_at",
        "notes",
        "struck_out_reason",
    )
    while Patient.objects.count() < patients:
        seed += 1
        before = Patient.objects.order_by("-id").values_list("id", flat=True).first() or 0
        seed_cohort(patients=min(10_000, patients - Patient.objects.count()), seed=seed)
        ids = list(Patient.objects.filter(id__gt=before).values_list("id", flat=True))
        seed_histories(patient_ids=ids, seed=seed)
        # A treatment at each pre-session rating of the patient's first scale (10 minutes later).
        pre = QuestionnaireResponse.objects.filter(patient_id__in=ids, context=Context.PRE_SESSION).order_by(
            "patient_id", "administered_at"
        )
        times: dict[int, list[datetime.datetime]] = {}
        first_scale: dict[int, str] = {}
        for pid, code, at in pre.values_list("patient_id", "instrument", "administered_at"):
            if first_scale.setdefault(pid, code) == code:
                times.setdefault(pid, []).append(at + datetime.timedelta(minutes=10))
        sessions, trials = [], []
        for pid, ts in times.items():
            esketamine = rng.random() < 0.15
            if esketamine:
                ts = ts + [ts[-1] + datetime.timedelta(days=3), ts[-1] + datetime.timedelta(days=7)]
            route, protocol = (
                ("esketamine", "esketamine_nasal") if esketamine else ("iv_ketamine", "iv_ketamine_standard")
            )
            for n, at in enumerate(ts, start=1):
                sessions.append(
                    (
                        pid,
                        "import",
                        protocol,
                        route,
                        n,
                        at,
                        at,
                        [],
                        {},
                        [],
                        "",
                        False,
                        "",
                        "",
                        *defaults.values(),
                    )
                )
            if rng.random() < 0.6:
                end = ts[0].date() - datetime.timedelta(days=rng.randint(14, 60))
                for drug, dose in rng.sample(
                    (("sertraline", 150), ("venlafaxine", 225), ("bupropion", 300)), 2
                ):
                    start = end - datetime.timedelta(weeks=rng.randint(6, 14))
                    trials.append((pid, drug, dose, start, end, "good", "no_response", True, ts[0], "", ""))
                    end = start
        with transaction.atomic():
            bulk_insert(TreatmentSession, session_columns, sessions)
            bulk_insert(AntidepressantTrial, trial_columns, trials)


if __name__ == "__main__":
    main()
