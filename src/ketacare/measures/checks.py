"""`ketacare check` (and every start) refuses a licensed-wording file that does not fit the scales."""

from __future__ import annotations

from ketacare.clinic_settings import refuse_on_error
from ketacare.measures.wording import WordingError, licensed

licensed_wording_file = refuse_on_error(
    licensed, WordingError, check_id="ketacare.E001", name="KETACARE_LICENSED_WORDING"
)
