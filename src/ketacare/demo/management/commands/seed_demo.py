import time
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ketacare.accounts.services import claim_demo_database
from ketacare.demo.ledger import seed_ledger
from ketacare.demo.measures import seed_histories
from ketacare.demo.patients import seed_cohort
from ketacare.demo.sessions import seed_treatment
from ketacare.demo.today import seed_closures, seed_today
from ketacare.outcomes import services as outcome_changes
from ketacare.patients.models import Patient
from ketacare.patients.services import record_changed

ANALYZED = (
    "patients_patient",
    "patients_diagnosis",
    "patients_bodymeasurement",
    "measures_questionnaireresponse",
    "measures_safetyalert",
    "treatment_appointment",
    "treatment_sessions_treatmentsession",
    "treatment_sessions_vitalsign",
    "outcomes_patientoutcome",
)


def _demo_user(username: str) -> Any:
    """The demo physician and nurse sign the demo's decisions and sessions (made if missing)."""
    from ketacare.accounts.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        call_command("demo_users", stdout=StringIO())
        user = User.objects.get(username=username)
    return user


class Command(BaseCommand):
    help = "Generate a deterministic synthetic cohort with score histories (no real patient data)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--patients", type=int, default=200, help="how many patients (default 200)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same cohort")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any patient exists")
        parser.add_argument("--without-scores", action="store_true", help="patients only, no score histories")
        parser.add_argument(
            "--without-morning",
            action="store_true",
            help="the history only: nobody in a chair today (whether the morning fits depends on the hour)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        count = opts["patients"]
        if not 1 <= count <= 2_000_000:
            raise CommandError("--patients must be between 1 and 2000000", returncode=2)
        claim_demo_database()  # refuses a clinic's database
        if opts["if_empty"] and Patient.objects.exists():
            self.stdout.write(f"Cohort already present ({Patient.objects.count()} patients); nothing added.")
            return
        started = time.perf_counter()
        before = Patient.objects.order_by("-id").values_list("id", flat=True).first() or 0
        made = seed_cohort(patients=count, seed=opts["seed"])
        line = f"Seeded {made} synthetic patients"
        if not opts["without_scores"]:
            ids = list(Patient.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True))
            responses = seed_histories(patient_ids=ids, seed=opts["seed"])
            line += f" with {responses} rating-scale responses"
            plans, sessions = seed_treatment(
                patient_ids=ids,
                seed=opts["seed"],
                physician=_demo_user("physician"),
                nurse=_demo_user("nurse"),
            )
            entries = seed_ledger(physician=_demo_user("physician"), nurse=_demo_user("nurse"))
            line += f", {plans} treatment plans, {sessions} sessions and {entries} ledger entries"
            if not opts["without_morning"]:
                morning = seed_today(physician=_demo_user("physician"), nurse=_demo_user("nurse"))
                line += f"; this morning {morning.in_chairs} patients in chairs, {morning.expected} expected"
            seed_closures(admin=_demo_user("admin"))
            record_changed(ids)
            caught_up = outcome_changes.catch_up()
            if caught_up.failure:
                raise CommandError(f"The outcome figures could not be computed: {caught_up.failure}")
        if connection.vendor == "postgresql":
            # Fresh statistics after a bulk load, so the planner uses the indexes at once.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(ANALYZED))
        self.stdout.write(f"{line} in {time.perf_counter() - started:.1f} s.")
