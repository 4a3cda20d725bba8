import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ketacare.clinical.staging import HistoryError, parse_history, stage
from ketacare.screening import rules


class Command(BaseCommand):
    help = (
        "Stage a treatment history: ketacare stage --json FILE (or - for standard input). Prints trial "
        "adequacy, failed adequate trials, treatment resistance, the Maudsley score and contraindications "
        "(format: docs/staging.md)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--json", required=True, dest="path", metavar="FILE", help="the history, as JSON")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        path = opts["path"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}", returncode=2) from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}", returncode=2) from None
        try:
            in_force = rules.current()
        except rules.RulesError as exc:
            raise CommandError(f"KETACARE_SCREENING_RULES: {exc}", returncode=2) from None
        try:
            history = parse_history(data, table=in_force.drugs)
        except HistoryError as exc:
            raise CommandError(str(exc), returncode=2) from None
        result = stage(history, table=in_force.drugs, rules=in_force.contraindications)
        self.stdout.write(json.dumps(result.as_json(), indent=2))
        for i, a in enumerate(result.trials):
            if a.adequate is None:
                # Not a failure and not an error: the clinic can add the drug to its rules file.
                self.stderr.write(
                    f"note: trials[{i}].drug {a.drug_name!r}: adequacy unknown: drug not in the "
                    "clinic's table (not counted as a failure; add it to KETACARE_SCREENING_RULES)"
                )
