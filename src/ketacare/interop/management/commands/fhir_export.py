import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.interop.bulk import DEFAULT_BASE, fhir_export


class Command(BaseCommand):
    help = (
        "Write every patient's record as FHIR R4 Bulk Data NDJSON, one file per resource type, "
        "into DIR (streamed: memory stays flat). See docs/fhir.md."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--out", required=True, type=Path, metavar="DIR")
        parser.add_argument(
            "--since", metavar="DATE", help="only what was recorded or changed from this date (YYYY-MM-DD)"
        )
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE,
            help="the FHIR base URL for the Questionnaires' canonical URLs (default %(default)s)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        since = None
        if opts["since"]:
            try:
                day = datetime.date.fromisoformat(opts["since"])
            except ValueError:
                raise CommandError(
                    f"--since: {opts['since']!r} is not a date (YYYY-MM-DD)", returncode=2
                ) from None
            since = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        base = opts["base_url"] if opts["base_url"].endswith(("/", ":")) else opts["base_url"] + "/"
        exported = fhir_export(opts["out"], since=since, base=base)
        audit_record_many(
            actor=Actor.command("fhir-export"),
            specs=[
                EventSpec(
                    Action.VIEW,
                    "fhir-export",
                    "",
                    None,
                    {
                        # Indexed per patient (audit's "patients"): each chart's audit trail
                        # lists the export.
                        "disclosure": "FHIR Bulk Data export of the clinic's records",
                        "patients": exported.patient_ids,
                        "resources": dict(exported.resources),
                        "since": opts["since"] or "",
                        "to": str(opts["out"]),
                    },
                )
            ],
        )
        self.stdout.write(str(exported))
