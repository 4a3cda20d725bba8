from django.core.management.base import BaseCommand

from ketacare.portal import reminders


class Command(BaseCommand):
    help = (
        "Make and send the reminders and follow-up messages that are due (appointment reminders, "
        "preparation the day before, the check-in the day after): each once, safe to run every "
        "minute from a timer (docs/portal.md)."
    )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        run = reminders.send_due()
        self.stdout.write(reminders.describe(run))
