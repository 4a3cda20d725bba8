from __future__ import annotations

from typing import Any

from django.core.checks import Error, register


@register()
def outcome_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    from ketacare.outcomes import rules

    try:
        rules.current()
    except ValueError as exc:
        return [Error(str(exc), id="ketacare.E004", hint="See docs/outcomes.md for the fields.")]
    return []
