"""Quantities as the book keeps them: exact, without trailing zeros (1045.3, not 1045.3000)."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def mg(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"
