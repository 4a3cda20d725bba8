from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ketacare import backups


class Command(BaseCommand):
    help = (
        "Copy the whole database to a backup file readable by its owner only (default "
        "var/backups/ketacare-<UTC time>.sqlite3, or .dump on PostgreSQL)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--to", dest="path", help="the backup file to write (must not exist)")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            report = backups.backup(Path(opts["path"]) if opts["path"] else None)
        except FileExistsError as exc:
            raise CommandError(
                f"--to: {exc.filename} exists already; name a new file", returncode=2
            ) from None
        except RuntimeError as exc:
            raise CommandError(str(exc), returncode=1) from None
        counts = ", ".join(f"{n} {t}" for t, n in report.counts.items())
        self.stdout.write(f"Backed up to {report.path} ({report.bytes} bytes): {counts}.")
