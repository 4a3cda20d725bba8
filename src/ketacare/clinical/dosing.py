"""Dose calculation: the basis weight, the dose in mg, the volume to draw and the pump rate.

Rules from the clinical reference, section 5:
- Ideal body weight (Devine 1974): male 50 kg, female 45.5 kg, plus 2.3 kg per inch of height
  over 60 inches (height_cm / 2.54).
- Adjusted body weight: IBW + 0.4 x (actual - IBW), used only when actual > IBW.
- dose_mg = mg/kg x basis weight; drawn volume = dose_mg / concentration; the infused volume is
  the bag's volume plus the drawn volume, and rate_ml_per_h = infused volume / duration in hours.
  Worked example: 80 kg, 0.5 mg/kg, 10 mg/mL, 100 mL bag, 40 min -> 40 mg, 4 mL, 156 mL/h.
Every quantity carries its unit in its name. Rounding is half up, to the protocol's steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ketacare.clinical.body import HEIGHT_CM_MAX, HEIGHT_CM_MIN, WEIGHT_KG_MAX, WEIGHT_KG_MIN
from ketacare.clinical.protocols import (
    ESKETAMINE_DEVICE_MG,
    ESKETAMINE_FIRST_DOSE_MG,
    Protocol,
    WeightBasis,
)

# Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655 (clinical reference §5).
IBW_BASE_KG = {"male": Decimal(50), "female": Decimal("45.5")}
IBW_KG_PER_INCH = Decimal("2.3")
IBW_FROM_INCHES = Decimal(60)
CM_PER_INCH = Decimal("2.54")
# Adjusted body weight correction factor 0.4 (clinical reference section 5).
ABW_FACTOR = Decimal("0.4")
WEIGHT_STEP_KG = Decimal("0.1")

# Input plausibility (not clinical limits): duration of an infusion, strength and bag volume.
DURATION_MIN_RANGE = (5, 240)
CONCENTRATION_RANGE = (Decimal("0.1"), Decimal(100))  # mg/mL; ketamine vials are 10, 50, 100
BAG_ML_RANGE = (Decimal(0), Decimal(1000))


class DoseError(ValueError):
    """Input that cannot give a dose. `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _round(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def ideal_body_weight_kg(*, height_cm: Decimal, sex: str) -> Decimal:
    """Devine ideal body weight in kg, to 0.1 kg. Sex is female or male (the formula has no other)."""
    if sex not in IBW_BASE_KG:
        raise DoseError("sex", "ideal body weight needs sex female or male (the Devine formula has no other)")
    inches = height_cm / CM_PER_INCH
    return _round(IBW_BASE_KG[sex] + IBW_KG_PER_INCH * (inches - IBW_FROM_INCHES), WEIGHT_STEP_KG)


def adjusted_body_weight_kg(*, actual_kg: Decimal, ideal_kg: Decimal) -> Decimal:
    """IBW + 0.4 x (actual - IBW) when the patient weighs more than their IBW; else actual."""
    if actual_kg <= ideal_kg:
        return actual_kg
    return _round(ideal_kg + ABW_FACTOR * (actual_kg - ideal_kg), WEIGHT_STEP_KG)


@dataclass(frozen=True, slots=True)
class Dose:
    protocol: str
    weight_basis: str | None
    basis_weight_kg: Decimal | None
    dose_mg_per_kg: Decimal | None
    dose_mg: Decimal
    capped: bool
    needs_verification: bool
    concentration_mg_per_ml: Decimal | None
    draw_volume_ml: Decimal | None
    bag_ml: Decimal | None
    infused_volume_ml: Decimal | None
    duration_min: int | None
    rate_ml_per_h: Decimal | None
    devices: int | None
    warnings: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        def num(v: Decimal | None) -> float | None:
            return None if v is None else float(v)

        return {
            "protocol": self.protocol,
            "weight_basis": self.weight_basis,
            "basis_weight_kg": num(self.basis_weight_kg),
            "dose_mg_per_kg": num(self.dose_mg_per_kg),
            "dose_mg": num(self.dose_mg),
            "capped": self.capped,
            "needs_verification": self.needs_verification,
            "concentration_mg_per_ml": num(self.concentration_mg_per_ml),
            "draw_volume_ml": num(self.draw_volume_ml),
            "bag_ml": num(self.bag_ml),
            "infused_volume_ml": num(self.infused_volume_ml),
            "duration_min": self.duration_min,
            "rate_ml_per_h": num(self.rate_ml_per_h),
            "devices": self.devices,
            "warnings": list(self.warnings),
        }


def _check_range(name: str, value: Decimal, low: Decimal, high: Decimal, unit: str) -> None:
    if not value.is_finite() or not low <= value <= high:
        raise DoseError(name, f"{value} {unit} is outside {low}-{high} {unit}")


def calculate(
    protocol: Protocol,
    *,
    weight_kg: Decimal | None,
    height_cm: Decimal | None = None,
    sex: str | None = None,
    weight_basis: WeightBasis | str | None = None,
    dose_mg_per_kg: Decimal | None = None,
    dose_mg: Decimal | None = None,
    duration_min: int | None = None,
    concentration_mg_per_ml: Decimal | None = None,
    bag_ml: Decimal | None = None,
    first_dose: bool = False,
) -> Dose:
    """The dose and its preparation under `protocol`. Values not given take the protocol's
    defaults. Raises DoseError naming the input when the input is out of range or the dose is
    outside the protocol's range; softer concerns are returned as warnings."""
    if protocol.weight_based:
        return _weight_based(
            protocol,
            weight_kg=weight_kg,
            height_cm=height_cm,
            sex=sex,
            weight_basis=weight_basis,
            dose_mg_per_kg=dose_mg_per_kg,
            duration_min=duration_min,
            concentration_mg_per_ml=concentration_mg_per_ml,
            bag_ml=bag_ml,
        )
    return _fixed(protocol, dose_mg=dose_mg, dose_mg_per_kg=dose_mg_per_kg, first_dose=first_dose)


def _weight_based(
    protocol: Protocol,
    *,
    weight_kg: Decimal | None,
    height_cm: Decimal | None,
    sex: str | None,
    weight_basis: WeightBasis | str | None,
    dose_mg_per_kg: Decimal | None,
    duration_min: int | None,
    concentration_mg_per_ml: Decimal | None,
    bag_ml: Decimal | None,
) -> Dose:
    low, high, standard = protocol.mg_per_kg_limits()
    warnings: list[str] = []
    if weight_kg is None:
        raise DoseError("weight_kg", "a weight-based protocol needs the patient's weight")
    _check_range("weight_kg", weight_kg, WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg")
    try:
        basis = WeightBasis(weight_basis or protocol.weight_basis)
    except ValueError:
        raise DoseError("weight_basis", f"{weight_basis!r} is not one of {', '.join(WeightBasis)}") from None
    if height_cm is not None:
        _check_range("height_cm", height_cm, HEIGHT_CM_MIN, HEIGHT_CM_MAX, "cm")
    basis_kg = weight_kg
    if basis is not WeightBasis.ACTUAL:
        if height_cm is None:
            raise DoseError("height_cm", f"{basis} body weight needs the patient's height")
        if sex is None:
            raise DoseError("sex", f"{basis} body weight needs sex female or male")
        ideal = ideal_body_weight_kg(height_cm=height_cm, sex=sex)
        if height_cm / CM_PER_INCH < IBW_FROM_INCHES:
            warnings.append("Height under 60 inches (152.4 cm): the Devine formula is less reliable.")
        if basis is WeightBasis.IDEAL:
            basis_kg = ideal
            if ideal > weight_kg:
                warnings.append(
                    f"Ideal body weight {ideal} kg is above the actual weight {weight_kg} kg: "
                    "the dose is higher than on actual weight."
                )
        else:
            basis_kg = adjusted_body_weight_kg(actual_kg=weight_kg, ideal_kg=ideal)
    per_kg = standard if dose_mg_per_kg is None else dose_mg_per_kg
    if not per_kg.is_finite() or not low <= per_kg <= high:
        raise DoseError(
            "dose_mg_per_kg", f"{per_kg} mg/kg is outside the protocol's range {low}-{high} mg/kg"
        )
    dose = _round(per_kg * basis_kg, protocol.dose_step_mg)
    capped = False
    if protocol.max_dose_mg is not None and dose > protocol.max_dose_mg:
        warnings.append(
            f"Capped at the protocol's maximum of {protocol.max_dose_mg} mg (calculated {dose} mg)."
        )
        dose = protocol.max_dose_mg
        capped = True
    verify = protocol.verify_above_mg_per_kg is not None and per_kg > protocol.verify_above_mg_per_kg
    if verify:
        warnings.append(
            f"{per_kg} mg/kg is above {protocol.verify_above_mg_per_kg} mg/kg: "
            "a second clinician must verify the order."
        )
    if not protocol.enabled:
        warnings.append(f"The {protocol.code} protocol is not enabled at this clinic.")
    concentration = (
        protocol.concentration_mg_per_ml if concentration_mg_per_ml is None else concentration_mg_per_ml
    )
    if concentration is None:
        raise DoseError("concentration_mg_per_ml", "give the concentration of the ketamine used")
    _check_range("concentration_mg_per_ml", concentration, *CONCENTRATION_RANGE, "mg/mL")
    draw = _round(dose / concentration, protocol.volume_step_ml)
    infusion: tuple[Decimal, Decimal, int, Decimal] | None = None
    if protocol.infusion:
        infusion = _infusion(protocol, draw, duration_min=duration_min, bag_ml=bag_ml, warnings=warnings)
    elif duration_min is not None or bag_ml is not None:
        raise DoseError("duration_min", f"the {protocol.code} protocol is not an infusion")
    bag, infused, minutes, rate = infusion if infusion else (None, None, None, None)
    return Dose(
        protocol=protocol.code,
        weight_basis=basis,
        basis_weight_kg=basis_kg,
        dose_mg_per_kg=per_kg,
        dose_mg=dose,
        capped=capped,
        needs_verification=verify,
        concentration_mg_per_ml=concentration,
        draw_volume_ml=draw,
        bag_ml=bag,
        infused_volume_ml=infused,
        duration_min=minutes,
        rate_ml_per_h=rate,
        devices=None,
        warnings=tuple(warnings),
    )


def _infusion(
    protocol: Protocol,
    draw: Decimal,
    *,
    duration_min: int | None,
    bag_ml: Decimal | None,
    warnings: list[str],
) -> tuple[Decimal, Decimal, int, Decimal]:
    """(bag, infused volume, minutes, rate in mL/h) of an infusion."""
    minutes = protocol.duration_min if duration_min is None else duration_min
    if minutes is None:
        raise DoseError("duration_min", "give the infusion's duration")
    if not DURATION_MIN_RANGE[0] <= minutes <= DURATION_MIN_RANGE[1]:
        raise DoseError(
            "duration_min", f"{minutes} min is outside {DURATION_MIN_RANGE[0]}-{DURATION_MIN_RANGE[1]} min"
        )
    if minutes != protocol.duration_min:
        warnings.append(f"Duration {minutes} min differs from the protocol's {protocol.duration_min} min.")
    bag = protocol.bag_ml if bag_ml is None else bag_ml
    if bag is None:
        raise DoseError("bag_ml", "give the bag's volume")
    _check_range("bag_ml", bag, *BAG_ML_RANGE, "mL")
    # Infused volume = bag + drawn volume (clinical reference section 5, decision).
    infused = bag + draw
    return bag, infused, minutes, _round(infused * 60 / minutes, protocol.rate_step_ml_per_h)


def _fixed(
    protocol: Protocol, *, dose_mg: Decimal | None, dose_mg_per_kg: Decimal | None, first_dose: bool
) -> Dose:
    if dose_mg_per_kg is not None:
        raise DoseError("dose_mg_per_kg", f"the {protocol.code} protocol has fixed doses, not mg/kg")
    dose = protocol.fixed_doses_mg[0] if dose_mg is None else dose_mg
    if dose not in protocol.fixed_doses_mg:
        allowed = " or ".join(f"{d} mg" for d in protocol.fixed_doses_mg)
        raise DoseError("dose_mg", f"{dose} mg is not a dose of this protocol ({allowed})")
    # The first esketamine dose is 56 mg; 84 mg only after a 56 mg start (Spravato label 2.2).
    if first_dose and dose != ESKETAMINE_FIRST_DOSE_MG:
        raise DoseError(
            "dose_mg", f"the first dose is {ESKETAMINE_FIRST_DOSE_MG} mg (84 mg only after a 56 mg start)"
        )
    warnings = [] if protocol.enabled else [f"The {protocol.code} protocol is not enabled at this clinic."]
    return Dose(
        protocol=protocol.code,
        weight_basis=None,
        basis_weight_kg=None,
        dose_mg_per_kg=None,
        dose_mg=dose,
        capped=False,
        needs_verification=False,
        concentration_mg_per_ml=None,
        draw_volume_ml=None,
        bag_ml=None,
        infused_volume_ml=None,
        duration_min=None,
        rate_ml_per_h=None,
        devices=int(dose / ESKETAMINE_DEVICE_MG),
        warnings=tuple(warnings),
    )
