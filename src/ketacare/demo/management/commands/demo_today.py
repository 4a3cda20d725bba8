from django.core.management.base import BaseCommand

from ketacare.accounts.services import claim_demo_database
from ketacare.demo.management.commands.seed_demo import _demo_user
from ketacare.demo.today import seed_today


class Command(BaseCommand):
    help = "The demo's morning in progress (patients in chairs) if nobody is checked in today yet."

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        claim_demo_database()  # refuses a clinic's database
        morning = seed_today(physician=_demo_user("physician"), nurse=_demo_user("nurse"))
        if morning.in_chairs or morning.expected:
            self.stdout.write(
                f"This morning: {morning.in_chairs} patients in chairs, {morning.expected} expected."
            )
        else:
            self.stdout.write(
                "Nothing added: today's clinic is already under way (someone is checked in), or "
                "there are not enough free chairs or patients on a course."
            )
