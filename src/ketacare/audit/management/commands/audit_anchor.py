from django.core.management.base import BaseCommand

from ketacare.audit.anchors import anchor_path, anchor_write


class Command(BaseCommand):
    help = (
        "Append the audit chain's head (sequence, hash, time) to the anchor file outside the database; "
        "run it every few minutes (cron or a systemd timer). `ketacare audit-verify` checks every anchor."
    )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        anchor = anchor_write()
        self.stdout.write(f"Anchored event {anchor.seq} at {anchor.at} in {anchor_path()}.")
