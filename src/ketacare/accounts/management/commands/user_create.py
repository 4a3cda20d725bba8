import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketacare.accounts.roles import Role
from ketacare.accounts.services import user_create
from ketacare.audit.context import Actor


class Command(BaseCommand):
    help = "Create a staff account in one role (asks for the password)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            raise CommandError("the two passwords differ")
        try:
            user = user_create(
                username=opts["username"],
                password=password,
                role=Role(opts["role"]),
                first_name=opts["first_name"],
                last_name=opts["last_name"],
                email=opts["email"],
                actor=Actor.command("user-create"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        from ketacare.accounts.twofactor import enrolment_code

        code = enrolment_code(actor=Actor.command("user-create"), user=user)
        self.stdout.write(
            f"Created {user.username} ({Role(opts['role']).label}). One-time code for the first sign-in, "
            f"to hand over in person: {code}"
        )
