from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record
from ketacare.clinical.mrn import normalise_mrn
from ketacare.outcomes.report import report_pdf
from ketacare.patients.models import Patient


class Command(BaseCommand):
    help = "Write a patient's progress report (PDF) for the referring clinician and the record."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("mrn", help="the patient's MRN")
        parser.add_argument("--out", required=True, help="the PDF file to write")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        mrn = normalise_mrn(opts["mrn"])
        patient = Patient.objects.select_related("referring_provider").filter(mrn=mrn).first()
        if patient is None:
            raise CommandError(f"MRN: no patient with MRN {opts['mrn']}", returncode=2)
        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out: the folder {out.parent} does not exist", returncode=2)
        pdf = report_pdf(patient)
        out.write_bytes(pdf)
        audit_record(
            actor=Actor.command("report"), action=Action.VIEW, obj=patient, detail={"report": "progress"}
        )
        self.stdout.write(f"Wrote {out} ({len(pdf)} bytes).")
