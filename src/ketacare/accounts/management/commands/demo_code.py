from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.models import DemoDatabase, User
from ketacare.accounts.twofactor import current_code


class Command(BaseCommand):
    help = (
        "Demo databases only: print the code a demo account's authenticator shows now (or the one "
        "being set up), for trying KetaCare without a phone."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if not DemoDatabase.objects.exists():
            raise CommandError(
                "This is not a demo database: codes come only from the person's own authenticator.",
                returncode=2,
            )
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No account named {opts['username']!r}.")
        try:
            self.stdout.write(current_code(user))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
