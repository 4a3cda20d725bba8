"""The clinic's pre-dose checklist table: the defaults in `clinical/session_checks.py`, with the
clinic's own effects from the JSON file KETACARE_CHECKLIST names, for example
    {"alcohol_24h": "warn", "fasting": "stop"}
(each item's effect is stop, warn or none; identity always stops)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ketacare.clinical.session_checks import CHECKLIST, ChecklistItem, with_overrides


class ChecklistError(ValueError):
    pass


@lru_cache(maxsize=4)
def _load(path: str | None, mtime: float) -> tuple[ChecklistItem, ...]:
    if path is None:
        return CHECKLIST
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChecklistError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ChecklistError("expected an object of checklist item to effect")
    try:
        return with_overrides(data)
    except ValueError as exc:
        raise ChecklistError(str(exc)) from None


def current() -> tuple[ChecklistItem, ...]:
    """The checklist table in force (re-read when the file changes)."""
    path = settings.CHECKLIST_FILE
    mtime = Path(path).stat().st_mtime if path and Path(path).exists() else 0.0
    return _load(path, mtime)
