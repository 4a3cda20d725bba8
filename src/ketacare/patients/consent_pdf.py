"""A signed consent as PDF (WeasyPrint), for the patient (their page in the portal) and for staff
(the patient's consent page): the document's words exactly as the version signed, its version
and fingerprint, the name typed or written, when and how it was signed, the witness, and a
withdrawal if one is recorded."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.patients.consent import BY_CODE
from ketacare.patients.models import ConsentSignature
from ketacare.ui.documents import letterhead
from ketacare.ui.markdown import render


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def copy_context(signature: ConsentSignature) -> dict[str, Any]:
    document = signature.document
    return {
        "clinic": letterhead(),
        "today": timezone.localdate(),
        "printed_at": timezone.localtime(),
        "patient": signature.patient,
        "signature": signature,
        "document": document,
        "kind_label": BY_CODE[document.kind].label,
        "html": render(document.body),
        "signed_local": timezone.localtime(signature.signed_at),
        "published_local": timezone.localtime(document.published_at),
        "witness": _name(signature.witness),
        "withdrawn_local": timezone.localtime(signature.withdrawn_at) if signature.withdrawn_at else None,
        "withdrawn_by": _name(signature.withdrawn_by),
    }


def copy_html(signature: ConsentSignature) -> str:
    return render_to_string("patients/consent_copy.html", copy_context(signature))


def copy_pdf(signature: ConsentSignature) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only documents need

    return bytes(HTML(string=copy_html(signature)).write_pdf() or b"")


def copy_filename(signature: ConsentSignature) -> str:
    """The kind, the version and the day signed only: a file name is shown in download lists,
    browser histories and e-mail attachments, where no patient identifier belongs."""
    document = signature.document
    return (
        f"consent-{document.kind.replace('_', '-')}-v{document.version}-"
        f"{timezone.localtime(signature.signed_at):%Y%m%d}.pdf"
    )
