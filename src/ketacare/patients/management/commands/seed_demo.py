import time

from django.core.management.base import BaseCommand, CommandError

from ketacare.patients.demo import seed_cohort
from ketacare.patients.models import Patient


class Command(BaseCommand):
    help = "Generate a deterministic synthetic cohort (no real patient data)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--patients", type=int, default=200, help="how many patients (default 200)")
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed: the same seed gives the same cohort"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if any patient exists already"
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        count = opts["patients"]
        if not 1 <= count <= 2_000_000:
            raise CommandError("--patients must be between 1 and 2000000", returncode=2)
        if opts["if_empty"] and Patient.objects.exists():
            self.stdout.write(f"Cohort already present ({Patient.objects.count()} patients); nothing added.")
            return
        started = time.perf_counter()
        made = seed_cohort(patients=count, seed=opts["seed"])
        self.stdout.write(f"Seeded {made} synthetic patients in {time.perf_counter() - started:.1f} s.")
