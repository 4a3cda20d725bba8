from django.core.management.base import BaseCommand

from ketacare.accounts.services import claim_demo_database
from ketacare.demo.management.commands.seed_demo import _demo_user
from ketacare.demo.portal import seed_portal


class Command(BaseCommand):
    help = "A demo patient ready for the patient portal (/my/), and how to sign in as them."

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        claim_demo_database()  # refuses a clinic's database
        ready = seed_portal(physician=_demo_user("physician"), nurse=_demo_user("nurse"))
        if ready is None:
            self.stdout.write("No demo patient has an appointment ahead: the portal has nothing to show yet.")
            return
        patient = ready.patient
        self.stdout.write(
            f"  Patient portal: /my/ as the demo patient {patient.full_name}: e-mail {patient.email}, "
            f"born {patient.date_of_birth:%Y-%m-%d}.\n"
            "  The one-time code appears in this server's output (the demo's console e-mail)."
        )
