from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from ketacare.measures.wording import WordingError, licensed


@register()
def licensed_wording_file(app_configs: Any, **kwargs: Any) -> list[Error]:
    """`ketacare check` (and every start) refuses a licensed-wording file that does not fit the scales."""
    try:
        licensed()
    except WordingError as exc:
        return [Error(f"KETACARE_LICENSED_WORDING: {exc}", id="ketacare.E001")]
    return []
