"""`ketacare check` (and every start) refuses a protocols file that does not fit."""

from __future__ import annotations

from ketacare.clinic_settings import refuse_on_error
from ketacare.treatment.rules import ProtocolsError, current

protocols_file = refuse_on_error(current, ProtocolsError, check_id="ketacare.E003", name="KETACARE_PROTOCOLS")
