"""`ketacare check` (and every start) refuses outcome settings (KETACARE_OUTCOMES) that do not
parse; their own words name the setting or the field."""

from __future__ import annotations

from ketacare.clinic_settings import refuse_on_error
from ketacare.outcomes import rules

outcome_settings = refuse_on_error(
    rules.current, ValueError, check_id="ketacare.E004", hint="See docs/outcomes.md for the fields."
)
