from pathlib import Path

from django.core.management.base import BaseCommand

from ketacare.audit.context import Actor
from ketacare.interop.history import history_import, refusals_reported


class Command(BaseCommand):
    help = (
        "Import a clinic's history from three CSV files (patients, sessions, scores) in one "
        "transaction: every row is checked first, and any bad row rejects the whole import, "
        "listing each bad row with its file, line and reason. See docs/import.md."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--patients", required=True, type=Path, help="mrn,given_name,family_name,birth_date,sex"
        )
        parser.add_argument("--sessions", required=True, type=Path, help="mrn,datetime,route,dose_mg")
        parser.add_argument(
            "--scores",
            required=True,
            type=Path,
            help="mrn,datetime,instrument,total (or item1..itemN)[,context]",
        )
        parser.add_argument(
            "--source",
            metavar="NAME",
            help="the files' mrn column holds this system's patient ids, not KetaCare MRNs "
            "(see `ketacare identifier-systems`)",
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        with refusals_reported(self.stderr):
            summary = history_import(
                actor=Actor.command("import-history"),
                patients=opts["patients"],
                sessions=opts["sessions"],
                scores=opts["scores"],
                source=opts["source"],
            )
        self.stdout.write(str(summary))
