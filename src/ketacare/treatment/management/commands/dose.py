import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from ketacare.clinical.dosing import DoseError, calculate
from ketacare.clinical.protocols import ProtocolCode, WeightBasis
from ketacare.treatment import rules


def _decimal(name: str, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise CommandError(f"--{name}: {value!r} is not a number", returncode=2) from None
    if not number.is_finite():
        raise CommandError(f"--{name}: {value!r} is not a number", returncode=2)
    return number


def _whole(name: str, value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        raise CommandError(f"--{name}: {value!r} is not a whole number", returncode=2) from None


class Command(BaseCommand):
    help = (
        "Calculate a dose under a protocol and print JSON: basis_weight_kg, dose_mg (the order) beside "
        "prepared_dose_mg (what the drawn volume holds), draw_volume_ml (rounded to the syringe "
        "graduation), rate_ml_per_h, warnings and notes. A refusal (input out of range, a dose that "
        "cannot be prepared safely) exits 2 naming the option and what to do instead."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--protocol", required=True, choices=[c.value for c in ProtocolCode])
        parser.add_argument("--weight-kg", dest="weight_kg")
        parser.add_argument("--height-cm", dest="height_cm")
        parser.add_argument("--sex", choices=["female", "male"])
        parser.add_argument("--weight-basis", dest="weight_basis", choices=[b.value for b in WeightBasis])
        parser.add_argument("--dose-mg-per-kg", dest="dose_mg_per_kg")
        parser.add_argument("--dose-mg", dest="dose_mg", help="fixed-dose protocols (esketamine: 56 or 84)")
        parser.add_argument("--first-dose", action="store_true", help="esketamine: the patient's first dose")
        parser.add_argument("--duration-min", dest="duration_min")
        parser.add_argument("--concentration-mg-per-ml", dest="concentration_mg_per_ml")
        parser.add_argument("--bag-ml", dest="bag_ml")
        parser.add_argument(
            "--duration-reason",
            dest="duration_reason",
            default="",
            help="IV: the physician's reason for an infusion shorter than the protocol's duration",
        )
        parser.add_argument(
            "--suicidal-ideation",
            dest="suicidal_ideation",
            action="store_true",
            help="esketamine: depressive symptoms with acute suicidal ideation or behaviour "
            "(84 mg allowed as the first dose)",
        )
        parser.add_argument("--age-years", dest="age_years", help="the patient's age in completed years")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            protocol = rules.get(opts["protocol"])
        except rules.ProtocolsError as exc:
            raise CommandError(f"KETACARE_PROTOCOLS: {exc}", returncode=2) from None
        duration = _whole("duration-min", opts["duration_min"])
        age = _whole("age-years", opts["age_years"])
        if protocol.weight_based and opts["weight_kg"] is None:
            raise CommandError("--weight-kg: required for a weight-based protocol", returncode=2)
        try:
            dose = calculate(
                protocol,
                weight_kg=_decimal("weight-kg", opts["weight_kg"]),
                height_cm=_decimal("height-cm", opts["height_cm"]),
                sex=opts["sex"],
                weight_basis=opts["weight_basis"],
                dose_mg_per_kg=_decimal("dose-mg-per-kg", opts["dose_mg_per_kg"]),
                dose_mg=_decimal("dose-mg", opts["dose_mg"]),
                duration_min=duration,
                concentration_mg_per_ml=_decimal("concentration-mg-per-ml", opts["concentration_mg_per_ml"]),
                bag_ml=_decimal("bag-ml", opts["bag_ml"]),
                first_dose=opts["first_dose"],
                duration_reason=opts["duration_reason"],
                suicidal_ideation=opts["suicidal_ideation"],
                age_years=age,
            )
        except DoseError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.message}", returncode=2) from None
        self.stdout.write(json.dumps(dose.as_json(), indent=2))
