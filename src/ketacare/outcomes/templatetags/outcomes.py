from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ketacare.clinical.statistics import Proportion

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


@register.filter
def rate(p: Proportion) -> str:
    """A proportion with its count and Wilson interval: 36.1% (62 of 172; 95% CI 29.3-43.5%)."""
    if not p.n or p.rate is None or p.ci95 is None:
        # No patient has reached this time point: not "nobody responds".
        return mark_safe('<span class="muted">not enough data yet</span>')  # noqa: S308  (a constant)
    return format_html(
        '<strong>{}</strong> <span class="muted">({} of {}; 95% CI {}–{})</span>',
        pct(p.rate),
        p.events,
        p.n,
        pct(p.ci95[0]),
        pct(p.ci95[1]),
    )
