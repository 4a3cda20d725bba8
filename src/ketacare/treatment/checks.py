from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from ketacare.treatment.rules import ProtocolsError, current


@register()
def protocols_file(app_configs: Any, **kwargs: Any) -> list[Error]:
    """`ketacare check` (and every start) refuses a protocols file that does not fit."""
    try:
        current()
    except ProtocolsError as exc:
        return [Error(f"KETACARE_PROTOCOLS: {exc}", id="ketacare.E003")]
    return []
