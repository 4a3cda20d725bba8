"""The clinic's outcome settings: the published defaults in `clinical/outcomes.py`, changed by the
JSON object in KETACARE_OUTCOMES, for example {"first_treatment_max_days": 10,
"relapse_rule": "above_remission", "pcl5_response_points": 10} (fields: docs/outcomes.md)."""

from __future__ import annotations

import hashlib

from django.conf import settings

from ketacare.clinical import instruments
from ketacare.clinical.outcomes import OUTCOME_SCALES, OutcomeRules, response_rule, rules_from_text
from ketacare.treatment import rules as protocol_rules


def current() -> OutcomeRules:
    return rules_from_text(settings.OUTCOME_RULES)


def problem() -> str:
    """What is wrong with the clinic's outcome settings, or "" (the figures cannot be read under
    settings that do not parse)."""
    try:
        current()
    except ValueError as exc:
        return str(exc)
    return ""


def course_sizes() -> dict[str, int]:
    """Treatments in each protocol's induction course (the clinic's protocols)."""
    return {str(code): p.course_sessions() for code, p in protocol_rules.current().items()}


# Bumped when what a stored outcome row holds changes, so the first catch-up rebuilds every row.
STORED_FORM = "3: same-day, due dates, baseline context; treated patients with their due dates"


def version() -> str:
    """A digest of everything a stored outcome depends on besides the data: when the clinic
    changes a setting, or a scale's remission threshold or response rule changes (PCL-5: 10
    points, not 50%), the stored outcomes are recomputed."""
    rules = current()
    parts = [STORED_FORM, repr(rules), repr(sorted(course_sizes().items()))]
    parts += [
        f"{code}:{instruments.get(code).remission_max}:{response_rule(code, rules)!r}"
        for code in OUTCOME_SCALES
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
