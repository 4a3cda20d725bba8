from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from ketacare.sessions.checklist import ChecklistError, current


@register()
def checklist_file(app_configs: Any, **kwargs: Any) -> list[Error]:
    """`ketacare check` (and every start) refuses a checklist file that does not fit."""
    try:
        current()
    except ChecklistError as exc:
        return [Error(f"KETACARE_CHECKLIST: {exc}", id="ketacare.E005")]
    return []
