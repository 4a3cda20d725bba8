from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ketacare import backups
from ketacare.audit.anchors import restore_mark
from ketacare.audit.context import Actor
from ketacare.audit.selectors import chain_verify
from ketacare.audit.services import Action, EventSpec, audit_record_many


class Command(BaseCommand):
    help = (
        "Replace every record of the database with a backup's (from `ketacare backup`), then verify "
        "the audit chain and count the main tables. Stop the server first; needs --yes."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("path", help="the backup file")
        parser.add_argument("--yes", action="store_true", help="yes, replace every record of this database")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if not opts["yes"]:
            raise CommandError(
                "Restoring replaces every record of this database with the backup's: add --yes.", returncode=2
            )
        try:
            report = backups.restore(Path(opts["path"]))
        except FileNotFoundError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except (RuntimeError, OSError) as exc:
            raise CommandError(f"Not restored: {exc}", returncode=1) from None
        chain = chain_verify(after_restore=True)
        counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
        if not chain.intact:
            raise CommandError(
                f"Restored {counts}, but the audit chain is BROKEN at event "
                f"{chain.broken_at_seq}: {chain.problem}",
                returncode=1,
            )
        # The anchor file learns where the trail now ends (the backup's end), and the trail
        # records the restore after it.
        restore_mark()
        with transaction.atomic():
            audit_record_many(
                actor=Actor.command("restore"),
                specs=[
                    EventSpec(Action.UPDATE, "database", detail={"restored_from": Path(opts["path"]).name})
                ],
            )
        self.stdout.write(
            f"Restored from {report.path}: {counts}; audit chain intact ({chain.events_checked} events)."
        )
