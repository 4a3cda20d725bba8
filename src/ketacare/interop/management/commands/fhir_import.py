from pathlib import Path

from django.core.management.base import BaseCommand

from ketacare.audit.context import Actor
from ketacare.interop.fhir_import import fhir_import
from ketacare.interop.history import refusals_reported


class Command(BaseCommand):
    help = (
        "Import patients, their doses and their scale answers from FHIR R4: a Bundle (JSON file) "
        "or a Bulk Data export (a folder of NDJSON files). All or nothing: every problem is named "
        "by the resource's path or its file and line. See docs/fhir.md."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("path", type=Path, metavar="FILE_OR_DIR")
        parser.add_argument(
            "--source",
            metavar="NAME",
            help="match patients by this identifier system's ids rather than KetaCare MRNs",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        with refusals_reported(self.stderr):
            summary = fhir_import(
                actor=Actor.command("fhir-import"), path=opts["path"], source=opts["source"]
            )
        self.stdout.write(str(summary))
