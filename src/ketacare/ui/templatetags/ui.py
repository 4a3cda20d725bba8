"""Tags for the markup every app's pages share."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField

register = template.Library()


@register.inclusion_tag("ui/_field_row.html")
def field_row(*fields: BoundField, legend: str = "") -> dict[str, Any]:
    """The fields side by side in one `fieldset.row`, each with its label, hint and errors as
    `ui/_field.html` writes them: `{% field_row form.lot_number form.expiry %}`."""
    return {"fields": fields, "legend": legend}
