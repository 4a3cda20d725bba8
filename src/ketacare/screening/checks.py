"""`ketacare check` (and every start) refuses a screening-rules file that does not fit."""

from __future__ import annotations

from ketacare.clinic_settings import refuse_on_error
from ketacare.screening.rules import RulesError, current

screening_rules_file = refuse_on_error(
    current, RulesError, check_id="ketacare.E002", name="KETACARE_SCREENING_RULES"
)
