"""The clinic's treatment protocols: the published defaults in `clinical/protocols.py`, with the
clinic's own settings from the JSON file KETACARE_PROTOCOLS names, for example
    {"iv_ketamine_standard": {"max_dose_mg": 80, "weight_basis": "ideal"},
     "im_ketamine": {"enabled": true}}
(the settable fields are listed in docs/protocols.md)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ketacare.clinical.protocols import DEFAULTS, Protocol, ProtocolCode, with_overrides


class ProtocolsError(ValueError):
    pass


@lru_cache(maxsize=4)
def _load(path: str | None, mtime: float) -> dict[ProtocolCode, Protocol]:
    if path is None:
        return dict(DEFAULTS)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProtocolsError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolsError("expected an object of protocol code to settings")
    try:
        return with_overrides(data)
    except ValueError as exc:
        raise ProtocolsError(str(exc)) from None


def current() -> dict[ProtocolCode, Protocol]:
    """The protocols in force (re-read when the file changes)."""
    path = settings.PROTOCOLS_FILE
    mtime = Path(path).stat().st_mtime if path and Path(path).exists() else 0.0
    return _load(path, mtime)


def get(code: str) -> Protocol:
    try:
        return current()[ProtocolCode(code)]
    except ValueError:
        raise ProtocolsError(f"{code!r} is not a protocol ({', '.join(ProtocolCode)})") from None
