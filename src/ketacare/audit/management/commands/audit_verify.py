from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ketacare.audit.selectors import chain_verify


def _stale(newest: str) -> str:
    """Why the anchors cannot vouch for the trail's end, or "" when a recent one does."""
    limit = timedelta(hours=settings.AUDIT_ANCHOR_MAX_AGE_HOURS)
    if not newest:
        return "No anchor yet: run `ketacare audit-anchor` every few minutes (docs/deployment.md)."
    age = datetime.now(UTC) - datetime.strptime(newest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if age > limit:
        return (
            f"The newest anchor is from {newest}, older than {settings.AUDIT_ANCHOR_MAX_AGE_HOURS} hours: "
            "is `ketacare audit-anchor` still running on its timer?"
        )
    return ""


class Command(BaseCommand):
    help = (
        "Check the audit trail's keyed hash chain, its head, every anchor in the anchor file and the "
        "index of patients shown in lists; exits 1 naming the first problem."
    )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        report = chain_verify()
        if not report.intact:
            raise CommandError(
                f"Audit chain BROKEN at event {report.broken_at_seq}: {report.problem} "
                f"({report.events_checked} events before it verified)",
                returncode=1,
            )
        unkeyed = (
            f" ({report.unkeyed_events} from before the chain was keyed, vouched for by an anchor)"
            if report.unkeyed_events
            else ""
        )
        self.stdout.write(
            f"Audit chain intact: {report.events_checked} events verified{unkeyed}; "
            f"{report.anchors_checked} anchors checked."
        )
        stale = _stale(report.newest_anchor_at)
        if stale:
            if settings.HTTPS:  # production: without recent anchors a cut-off end goes unseen
                raise CommandError(stale, returncode=1)
            self.stderr.write(stale)
