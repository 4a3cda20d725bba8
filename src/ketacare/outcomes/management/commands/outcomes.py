import json

from django.core.management.base import BaseCommand, CommandError

from ketacare.outcomes import rules, selectors, services
from ketacare.outcomes.forms import FiltersForm

OPTION = {
    "instrument": "--instrument",
    "start": "--from",
    "end": "--to",
    "route": "--route",
    "condition": "--condition",
}


class Command(BaseCommand):
    help = (
        "Print the clinic's outcome figures (the dashboard's) as JSON: response and remission at "
        "each time point, completers' and intention-to-treat, with Wilson 95% intervals, the "
        "same-day change, durability and the excluded patients. --refresh brings the stored "
        "outcomes up to date (the patients changed since the last catch-up; run it on a timer), "
        "--rebuild recomputes every one."
    )

    # The checks would load every URL and view (matplotlib, the API schema) for a command that
    # needs none of them; the one check that matters here, the outcome settings, is made below.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--json", action="store_true", help="print JSON (the only format)")
        parser.add_argument("--instrument", default="phq9")
        parser.add_argument("--from", dest="start", help="first treatment on or after (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", help="first treatment on or before (YYYY-MM-DD)")
        parser.add_argument("--route", default="")
        parser.add_argument("--condition", default="", help="primary diagnosis, ICD-10-CM")
        parser.add_argument(
            "--refresh",
            action="store_true",
            help="catch up: recompute the patients changed since the last time",
        )
        parser.add_argument("--rebuild", action="store_true", help="recompute every stored outcome")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            rules.current()
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        form = FiltersForm({k: opts[k] or "" for k in OPTION})
        if not form.is_valid():
            problems = [f"{OPTION.get(k, k)}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()]
            raise CommandError("; ".join(problems), returncode=2)
        if opts["rebuild"]:
            services.rebuild()
        caught_up = services.catch_up()
        if caught_up.failure:
            raise CommandError(
                f"The outcomes could not be brought up to date: {caught_up.failure}", returncode=1
            )
        if opts["refresh"] and not opts["json"]:
            what = (
                "every patient (the settings changed)"
                if caught_up.rebuilt
                else f"{caught_up.patients} patient(s)"
            )
            self.stdout.write(f"Outcomes up to date: recomputed {what}.")
            return
        figures = selectors.dashboard(form.filters())
        self.stdout.write(json.dumps(figures.as_json(), indent=2))
