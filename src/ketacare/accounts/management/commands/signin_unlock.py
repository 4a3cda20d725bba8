from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.signin import unlock
from ketacare.audit.context import Actor


class Command(BaseCommand):
    help = "Lift a sign-in lockout at once: a username, an address, or both (audited)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username", nargs="?", default="")
        parser.add_argument("--address", default="", help="an IP address locked out")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            cleared = unlock(
                actor=Actor.command("signin-unlock"), username=opts["username"], address=opts["address"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=2) from None
        what = " and ".join(x for x in (opts["username"], opts["address"]) if x)
        self.stdout.write(f"Unlocked {what} ({cleared} record(s) of failed attempts cleared).")
