import json

from django.core.management.base import BaseCommand, CommandError

from ketacare.clinical import instruments
from ketacare.clinical.instruments.parse import parse_answers


class Command(BaseCommand):
    help = "Score a rating scale: ketacare score phq9 --answers 0,1,2,... (an empty place is a missing item)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("code", help=f"one of: {', '.join(instruments.CODES)}")
        parser.add_argument("--answers", required=True, help="positions of the chosen options, in item order")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            score = instruments.get(opts["code"]).score(parse_answers(opts["answers"]))
        except (instruments.ScoringError, instruments.UnknownInstrument) as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(json.dumps(score.as_json()))
        if score.total is None and score.band is None:
            # The form is kept but has no score: say how many answers are missing, exit 2.
            raise CommandError(f"{score.instrument} not scored: {score.note}", returncode=2)
