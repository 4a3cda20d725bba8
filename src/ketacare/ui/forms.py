"""Form helpers shared by every app's views."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.forms import BaseForm

# An invalid form is answered with 422 and shown again with every error beside its field.
UNPROCESSABLE = 422


def apply_errors(form: BaseForm, exc: ValidationError) -> None:
    """Put a service's validation errors beside the fields they name (or atop the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
