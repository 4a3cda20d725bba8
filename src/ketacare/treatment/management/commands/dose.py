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


class Command(BaseCommand):
    help = (
        "Calculate a dose under a protocol and print JSON: basis_weight_kg, dose_mg, draw_volume_ml, "
        "rate_ml_per_h and warnings. Input out of range exits 2 with the field named."
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

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            protocol = rules.get(opts["protocol"])
        except rules.ProtocolsError as exc:
            raise CommandError(f"KETACARE_PROTOCOLS: {exc}", returncode=2) from None
        duration = None
        if opts["duration_min"] is not None:
            try:
                duration = int(opts["duration_min"])
            except ValueError:
                raise CommandError(
                    f"--duration-min: {opts['duration_min']!r} is not a whole number", returncode=2
                ) from None
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
            )
        except DoseError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.message}", returncode=2) from None
        self.stdout.write(json.dumps(dose.as_json(), indent=2))
