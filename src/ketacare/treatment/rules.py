"""The clinic's treatment protocols: the published defaults in `clinical/protocols.py`, with the
clinic's own settings from the JSON file KETACARE_PROTOCOLS names, for example
    {"iv_ketamine_standard": {"max_dose_mg": 80, "weight_basis": "ideal"},
     "im_ketamine": {"enabled": true}}
(the settable fields are listed in docs/protocols.md)."""

from __future__ import annotations

from ketacare.clinic_settings import overrides_file
from ketacare.clinical.protocols import Protocol, ProtocolCode, with_overrides


class ProtocolsError(ValueError):
    pass


# The protocols in force (re-read when the file changes).
current = overrides_file(
    "PROTOCOLS_FILE", with_overrides, ProtocolsError, "expected an object of protocol code to settings"
)


def get(code: str) -> Protocol:
    try:
        return current()[ProtocolCode(code)]
    except ValueError:
        raise ProtocolsError(f"{code!r} is not a protocol ({', '.join(ProtocolCode)})") from None
