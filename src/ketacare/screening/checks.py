from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from ketacare.screening.rules import RulesError, current


@register()
def screening_rules_file(app_configs: Any, **kwargs: Any) -> list[Error]:
    """`ketacare check` (and every start) refuses a screening-rules file that does not fit."""
    try:
        current()
    except RulesError as exc:
        return [Error(f"KETACARE_SCREENING_RULES: {exc}", id="ketacare.E002")]
    return []
