"""The clinic's outcome settings: the published defaults in `clinical/outcomes.py`, changed by the
JSON object in KETACARE_OUTCOMES, for example {"first_treatment_hours": 48,
"relapse_rule": "above_remission"} (fields: docs/outcomes.md)."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings

from ketacare.clinical import instruments
from ketacare.clinical.outcomes import OUTCOME_SCALES, OutcomeRules, rules_from_json
from ketacare.treatment import rules as protocol_rules


@lru_cache(maxsize=4)
def _parse(text: str | None) -> OutcomeRules:
    if not text:
        return OutcomeRules()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"KETACARE_OUTCOMES is not JSON: {exc}") from None
    return rules_from_json(data)


def current() -> OutcomeRules:
    return _parse(settings.OUTCOME_RULES)


def course_sizes() -> dict[str, int]:
    """Treatments in each protocol's induction course (the clinic's protocols)."""
    return {str(code): p.course_sessions() for code, p in protocol_rules.current().items()}


def version() -> str:
    """A digest of everything a stored outcome depends on besides the data: when the clinic
    changes a setting, the stored outcomes are recomputed."""
    rules = current()
    parts = [repr(rules), repr(sorted(course_sizes().items()))]
    parts += [f"{code}:{instruments.get(code).remission_max}" for code in OUTCOME_SCALES]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
