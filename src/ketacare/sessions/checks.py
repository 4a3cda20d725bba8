"""`ketacare check` (and every start) refuses a checklist file that does not fit."""

from __future__ import annotations

from ketacare.clinic_settings import refuse_on_error
from ketacare.sessions.checklist import ChecklistError, current

checklist_file = refuse_on_error(current, ChecklistError, check_id="ketacare.E005", name="KETACARE_CHECKLIST")
