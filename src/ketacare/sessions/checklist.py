"""The clinic's pre-dose checklist table: the defaults in `clinical/session_checks.py`, with the
clinic's own effects from the JSON file KETACARE_CHECKLIST names, for example
    {"alcohol_24h": "warn", "fasting": "stop"}
(each item's effect is stop, warn or none; identity always stops)."""

from __future__ import annotations

from ketacare.clinic_settings import overrides_file
from ketacare.clinical.session_checks import with_overrides


class ChecklistError(ValueError):
    pass


# The checklist table in force (re-read when the file changes).
current = overrides_file(
    "CHECKLIST_FILE", with_overrides, ChecklistError, "expected an object of checklist item to effect"
)
