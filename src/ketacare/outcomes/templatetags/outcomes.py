from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.3605 -> "36.1%"; nothing -> an en dash."""
    return "–" if value is None else f"{value * 100:.1f}%"


@register.filter
def days(value: float | None) -> str:
    if value is None:
        return "not reached"
    return f"{value:.0f} days" if value >= 2 else f"{value * 24:.0f} hours"


@register.filter
def get(mapping: dict[str, int], key: str) -> int | None:
    return mapping.get(key)
