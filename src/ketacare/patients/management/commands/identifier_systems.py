from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketacare.audit.context import Actor
from ketacare.patients.models import IdentifierSystem
from ketacare.patients.services import identifier_system_add


class Command(BaseCommand):
    help = (
        "List the other systems whose patient ids the clinic keeps beside the MRN, or add one "
        "(then `ketacare import-history --source NAME` reads that system's ids). See docs/import.md."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--add", metavar="NAME", help="a short name: lower-case letters, digits, dashes")
        parser.add_argument("--label", help="the name the chart shows (with --add)")
        parser.add_argument("--uri", default="", help="its FHIR Identifier.system URI (with --add; optional)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["add"]:
            if not opts["label"]:
                raise CommandError("--label: give the name the chart shows for this system")
            try:
                system = identifier_system_add(
                    actor=Actor.command("identifier-systems"),
                    name=opts["add"],
                    label=opts["label"],
                    uri=opts["uri"],
                )
            except ValidationError as exc:
                problems = [f"{name}: {' '.join(m)}" for name, m in exc.message_dict.items()]
                raise CommandError("; ".join(problems)) from None
            self.stdout.write(f"Added {system.name} ({system.label}), URI {system.uri}.")
            return
        systems = IdentifierSystem.objects.order_by("name")
        if not systems:
            self.stdout.write("No identifier systems yet: add one with --add NAME --label LABEL.")
        for system in systems:
            self.stdout.write(f"{system.name}\t{system.label}\t{system.uri}")
