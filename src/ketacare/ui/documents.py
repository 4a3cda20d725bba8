"""What every printed document (the consultation letter, the progress report) shares: the clinic's
letterhead from the settings, and the printed page `ui/document.html` with its print style
(`ui/_document_style.html`)."""

from __future__ import annotations

from django.conf import settings


def letterhead() -> dict[str, str]:
    return {"name": settings.CLINIC_NAME, "address": settings.CLINIC_ADDRESS, "phone": settings.CLINIC_PHONE}
