"""Dose calculation: the basis weight, the ordered dose in mg, what is drawn up (the prepared
dose), the bag and the pump rate.

Rules from the clinical reference, section 5 ("IV racemic ketamine", "Esketamine nasal spray",
"Dose preparation", "Every session"):
- Ideal body weight (Devine 1974): male 50 kg, female 45.5 kg, plus 2.3 kg per inch of height
  over 60 inches (height_cm / 2.54); only from 60 inches (152.4 cm) up. Adjusted body weight:
  IBW + 0.4 x (actual - IBW), used only when actual > IBW. On an ideal or adjusted basis the
  dose is computed on the lower of that weight and the actual weight.
- Ordered dose = mg/kg x basis weight. Drawn volume = ordered dose / concentration, rounded half
  up to the syringe graduation; the prepared dose = drawn volume x concentration is what the
  patient receives and what the record and the controlled-substance ledger use. It may differ
  from the order by at most 2%, and a drawn volume under 0.1 mL cannot be measured.
- IV: always diluted in a bag, at most 2 mg/mL; infused volume = bag + drawn volume and
  rate_ml_per_h = infused volume / duration in hours; at least 20 minutes, under the protocol's
  40 only with a physician's stated reason.
  Worked example: 80 kg, 0.5 mg/kg, 10 mg/mL, 100 mL bag, 40 min -> 40 mg, 4.00 mL, 156 mL/h.
- IM: at most 5 mL per injection site, split across at most 2 sites (clinic settings).
- Esketamine: 28 mg devices; first dose 56 mg (84 mg with acute suicidal ideation or
  behaviour); not under 18; 28 mg first for 65 and older where the clinic follows the EU SmPC.
Every quantity carries its unit in its name. Rounding is half up, to the protocol's steps.
Refusals raise DoseError naming the input at fault and saying what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from ketacare.clinical.body import HEIGHT_CM_MAX, HEIGHT_CM_MIN, WEIGHT_KG_MAX, WEIGHT_KG_MIN, bmi
from ketacare.clinical.protocols import (
    ESKETAMINE_DEVICE_MG,
    ESKETAMINE_FIRST_DOSE_MG,
    ESKETAMINE_MIN_AGE_YEARS,
    ESKETAMINE_OLDER_ADULT_AGE_YEARS,
    ESKETAMINE_SUICIDAL_IDEATION_DOSE_MG,
    Protocol,
    WeightBasis,
)

# Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655 (clinical reference §5).
IBW_BASE_KG = {"male": Decimal(50), "female": Decimal("45.5")}
IBW_KG_PER_INCH = Decimal("2.3")
IBW_FROM_INCHES = Decimal(60)
CM_PER_INCH = Decimal("2.54")
# The formula applies only from 60 inches up (clinical reference section 5, "Dose preparation").
IBW_FROM_HEIGHT_CM = Decimal("152.4")  # 60 inches x 2.54
# Adjusted body weight correction factor 0.4 (clinical reference section 5).
ABW_FACTOR = Decimal("0.4")
WEIGHT_STEP_KG = Decimal("0.1")
# At BMI 30 or more the APA consensus suggests dosing on ideal body weight: Sanacora G et al., A
# consensus statement on the use of ketamine in the treatment of mood disorders, JAMA Psychiatry
# 2017;74:399-405 (clinical reference section 5). Compared on the BMI as shown, to 0.1.
APA_IBW_FROM_BMI = Decimal(30)

# Ketamine hydrochloride injection comes as 10, 50 and 100 mg/mL (Ketalar prescribing
# information, "How supplied"): the strengths a refusal may suggest instead.
KETAMINE_STOCK_MG_PER_ML = (Decimal(10), Decimal(50), Decimal(100))
# The prepared dose may differ from the ordered dose by at most 2% of the order, and a drawn
# volume under 0.1 mL is not measurable (clinical reference section 5, "Dose preparation",
# decisions). Not clinic settings.
MAX_PREPARED_DIFFERENCE_FRACTION = Decimal("0.02")
MIN_DRAW_VOLUME_ML = Decimal("0.1")
# mg/kg is compared with the protocol's limits at 0.01 mg/kg, the precision an order is written in
# (0.1, 0.5, 0.75, 1.0): rounding the dose to 0.1 mg moves it by at most 0.002 mg/kg at 25 kg, so
# an order of exactly 0.75 mg/kg does not need verification because of that rounding alone.
MG_PER_KG_STEP = Decimal("0.01")
FINAL_CONCENTRATION_STEP = Decimal("0.01")
BAG_STEP_ML = Decimal(1)

# Input plausibility (not clinical limits): duration of an infusion, strength and bag volume, age.
DURATION_MIN_RANGE = (5, 240)
CONCENTRATION_RANGE = (Decimal("0.1"), Decimal(100))  # mg/mL; ketamine vials are 10, 50, 100
BAG_ML_RANGE = (Decimal(0), Decimal(1000))
AGE_YEARS_RANGE = (0, 130)


class DoseError(ValueError):
    """Input that cannot give a dose. `field` names the input at fault; `message` says why and
    what to do instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _round(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _round_up(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_CEILING) * step


def _mg_per_kg(dose_mg: Decimal, weight_kg: Decimal) -> Decimal:
    return (dose_mg / weight_kg).quantize(MG_PER_KG_STEP, rounding=ROUND_HALF_UP)


def _strengths(values: tuple[Decimal, ...]) -> str:
    return ", ".join(f"{v} mg/mL" for v in values)


def _fmt(value: Decimal) -> str:
    """A quantity in words without trailing zeros: 53.00 -> 53, 52.50 -> 52.5."""
    return f"{value.normalize():f}"


def ideal_body_weight_kg(*, height_cm: Decimal, sex: str) -> Decimal:
    """Devine ideal body weight in kg, to 0.1 kg. Sex is female or male (the formula has no other);
    the height at least 60 inches (152.4 cm), below which the formula does not apply."""
    if sex not in IBW_BASE_KG:
        raise DoseError("sex", "ideal body weight needs sex female or male (the Devine formula has no other)")
    if height_cm < IBW_FROM_HEIGHT_CM:
        raise DoseError(
            "height_cm",
            f"the Devine formula applies from {IBW_FROM_HEIGHT_CM} cm (60 inches): dose on actual weight",
        )
    inches = height_cm / CM_PER_INCH
    return _round(IBW_BASE_KG[sex] + IBW_KG_PER_INCH * (inches - IBW_FROM_INCHES), WEIGHT_STEP_KG)


def adjusted_body_weight_kg(*, actual_kg: Decimal, ideal_kg: Decimal) -> Decimal:
    """IBW + 0.4 x (actual - IBW) when the patient weighs more than their IBW; else actual."""
    if actual_kg <= ideal_kg:
        return actual_kg
    return _round(ideal_kg + ABW_FACTOR * (actual_kg - ideal_kg), WEIGHT_STEP_KG)


def _devine_kg(height_cm: Decimal | None, sex: str | None) -> Decimal | None:
    """IBW when the formula applies (female or male, 152.4 cm and over, a positive result)."""
    if height_cm is None or sex not in IBW_BASE_KG or height_cm < IBW_FROM_HEIGHT_CM:
        return None
    ideal = ideal_body_weight_kg(height_cm=height_cm, sex=sex)
    return ideal if ideal > 0 else None


@dataclass(frozen=True, slots=True)
class Dose:
    """A calculated dose. `dose_mg` is the order; `prepared_dose_mg` (the drawn volume x the
    concentration, or the devices x 28 mg) is what the patient receives and what is recorded."""

    protocol: str
    dose_mg: Decimal
    prepared_dose_mg: Decimal
    capped: bool
    needs_verification: bool
    # None where the dose has no such part: a fixed (esketamine) dose has no weight, mg/kg,
    # syringe or infusion; a weight-based one has no devices.
    weight_basis: str | None = None
    basis_weight_kg: Decimal | None = None
    dose_mg_per_kg: Decimal | None = None
    concentration_mg_per_ml: Decimal | None = None
    draw_volume_ml: Decimal | None = None  # rounded to the syringe graduation
    bag_ml: Decimal | None = None
    infused_volume_ml: Decimal | None = None
    duration_min: int | None = None
    rate_ml_per_h: Decimal | None = None
    devices: int | None = None
    prepared_mg_per_kg_actual: Decimal | None = None  # to 0.01 mg/kg
    final_concentration_mg_per_ml: Decimal | None = None  # in the bag, to 0.01 mg/mL
    injection_sites: int | None = None
    volume_per_site_ml: Decimal | None = None  # the largest volume at one site
    ibw_dose_mg: Decimal | None = None  # the same mg/kg on ideal body weight, beside the APA note
    duration_reason: str = ""  # the physician's reason for an infusion shorter than the protocol's
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # information, nothing to act on

    def as_json(self) -> dict[str, Any]:
        def num(v: Decimal | None) -> float | None:
            return None if v is None else float(v)

        return {
            "protocol": self.protocol,
            "weight_basis": self.weight_basis,
            "basis_weight_kg": num(self.basis_weight_kg),
            "dose_mg_per_kg": num(self.dose_mg_per_kg),
            "dose_mg": num(self.dose_mg),
            "prepared_dose_mg": num(self.prepared_dose_mg),
            "prepared_mg_per_kg_actual": num(self.prepared_mg_per_kg_actual),
            "capped": self.capped,
            "needs_verification": self.needs_verification,
            "concentration_mg_per_ml": num(self.concentration_mg_per_ml),
            "draw_volume_ml": num(self.draw_volume_ml),
            "bag_ml": num(self.bag_ml),
            "final_concentration_mg_per_ml": num(self.final_concentration_mg_per_ml),
            "infused_volume_ml": num(self.infused_volume_ml),
            "duration_min": self.duration_min,
            "duration_reason": self.duration_reason,
            "rate_ml_per_h": num(self.rate_ml_per_h),
            "injection_sites": self.injection_sites,
            "volume_per_site_ml": num(self.volume_per_site_ml),
            "devices": self.devices,
            "ibw_dose_mg": num(self.ibw_dose_mg),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
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
    duration_reason: str = "",
    suicidal_ideation: bool = False,
    age_years: int | None = None,
) -> Dose:
    """The dose and its preparation under `protocol`. Values not given take the protocol's
    defaults. Raises DoseError naming the input when the input is out of range, the dose is
    outside the protocol's range or cannot be prepared safely (the message says what to do
    instead); softer concerns are returned as warnings, information as notes.

    Guarantees for every dose returned: the prepared dose differs from the order by at most 2%,
    the drawn volume is at least 0.1 mL, the prepared mg/kg of the basis and of the actual weight
    (to 0.01 mg/kg) is within the protocol's maximum, an IV bag is at most max_bag_mg_per_ml and
    runs for at least min_duration_min, and an IM dose fits im_max_sites sites."""
    if age_years is not None and not AGE_YEARS_RANGE[0] <= age_years <= AGE_YEARS_RANGE[1]:
        raise DoseError(
            "age_years", f"{age_years} years is outside {AGE_YEARS_RANGE[0]}-{AGE_YEARS_RANGE[1]} years"
        )
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
            duration_reason=duration_reason,
        )
    return _fixed(
        protocol,
        dose_mg=dose_mg,
        dose_mg_per_kg=dose_mg_per_kg,
        first_dose=first_dose,
        suicidal_ideation=suicidal_ideation,
        age_years=age_years,
    )


def _basis_weight(
    protocol: Protocol,
    *,
    weight_kg: Decimal,
    height_cm: Decimal | None,
    sex: str | None,
    weight_basis: WeightBasis | str | None,
    warnings: list[str],
) -> tuple[WeightBasis, Decimal]:
    """(basis, basis weight): never more than the actual weight."""
    try:
        basis = WeightBasis(weight_basis or protocol.weight_basis)
    except ValueError:
        raise DoseError("weight_basis", f"{weight_basis!r} is not one of {', '.join(WeightBasis)}") from None
    if basis is WeightBasis.ACTUAL:
        return basis, weight_kg
    if height_cm is None:
        raise DoseError("height_cm", f"{basis} body weight needs the patient's height")
    if sex is None:
        raise DoseError("sex", f"{basis} body weight needs sex female or male")
    if sex not in IBW_BASE_KG:
        raise DoseError("sex", "ideal body weight needs sex female or male (the Devine formula has no other)")
    ideal = _devine_kg(height_cm, sex)
    if ideal is None:
        warnings.append(
            f"Height {height_cm} cm is under 60 inches ({IBW_FROM_HEIGHT_CM} cm), where the Devine "
            f"formula does not apply: dosed on the actual weight {weight_kg} kg."
        )
        return WeightBasis.ACTUAL, weight_kg
    if basis is WeightBasis.IDEAL:
        if ideal > weight_kg:
            warnings.append(
                f"Ideal body weight {ideal} kg is above the actual weight {weight_kg} kg: dosed on the "
                "actual weight (never more drug than on actual weight)."
            )
        return basis, min(ideal, weight_kg)
    return basis, min(adjusted_body_weight_kg(actual_kg=weight_kg, ideal_kg=ideal), weight_kg)


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
    duration_reason: str,
) -> Dose:
    low, high, standard = protocol.mg_per_kg_limits()
    warnings: list[str] = []
    notes: list[str] = []
    if weight_kg is None:
        raise DoseError("weight_kg", "a weight-based protocol needs the patient's weight")
    _check_range("weight_kg", weight_kg, WEIGHT_KG_MIN, WEIGHT_KG_MAX, "kg")
    if height_cm is not None:
        _check_range("height_cm", height_cm, HEIGHT_CM_MIN, HEIGHT_CM_MAX, "cm")
    basis, basis_kg = _basis_weight(
        protocol,
        weight_kg=weight_kg,
        height_cm=height_cm,
        sex=sex,
        weight_basis=weight_basis,
        warnings=warnings,
    )
    per_kg = standard if dose_mg_per_kg is None else dose_mg_per_kg
    if not per_kg.is_finite() or not low <= per_kg <= high:
        raise DoseError(
            "dose_mg_per_kg", f"{per_kg} mg/kg is outside the protocol's range {low}-{high} mg/kg"
        )
    # The range is checked on the actual weight too: on a lower basis weight the dose per kg of
    # actual weight is lower (clinical reference section 5, "Dose preparation").
    if basis_kg < weight_kg and _mg_per_kg(per_kg * basis_kg, weight_kg) < low:
        needed = _round_up(low * weight_kg / basis_kg, MG_PER_KG_STEP)
        instead = (
            f"order at least {needed} mg/kg" if needed <= high else f"no order up to {high} mg/kg reaches it"
        )
        raise DoseError(
            "dose_mg_per_kg",
            f"{per_kg} mg/kg of the {basis} weight {basis_kg} kg is "
            f"{_mg_per_kg(per_kg * basis_kg, weight_kg)} mg/kg of the actual weight {weight_kg} kg, under "
            f"the protocol's minimum {low} mg/kg: {instead}, or dose on actual weight",
        )
    dose = _round(per_kg * basis_kg, protocol.dose_step_mg)
    capped = False
    if protocol.max_dose_mg is not None and dose > protocol.max_dose_mg:
        warnings.append(
            f"Capped at the protocol's maximum of {protocol.max_dose_mg} mg (calculated {dose} mg)."
        )
        dose = protocol.max_dose_mg
        capped = True
    concentration = (
        protocol.concentration_mg_per_ml if concentration_mg_per_ml is None else concentration_mg_per_ml
    )
    if concentration is None:
        raise DoseError("concentration_mg_per_ml", "give the concentration of the ketamine used")
    _check_range("concentration_mg_per_ml", concentration, *CONCENTRATION_RANGE, "mg/mL")
    weights = _weights(basis, basis_kg, weight_kg)
    prep = _prepare(protocol, dose, concentration, weights)
    per_kg_actual = _mg_per_kg(prep.prepared_mg, weight_kg)
    verify = _verification(protocol, per_kg, prep.prepared_mg, weights)
    if verify:
        warnings.append(verify)
    if not protocol.enabled:
        warnings.append(f"The {protocol.code} protocol is not enabled at this clinic.")
    sites: int | None = None
    per_site: Decimal | None = None
    infusion: _Infusion | None = None
    if protocol.infusion:
        infusion = _infusion(
            protocol,
            prep,
            duration_min=duration_min,
            duration_reason=duration_reason,
            bag_ml=bag_ml,
            warnings=warnings,
        )
    else:
        if duration_min is not None or bag_ml is not None:
            raise DoseError("duration_min", f"the {protocol.code} protocol is not an infusion")
        if duration_reason.strip():
            raise DoseError("duration_reason", f"the {protocol.code} protocol is not an infusion")
        sites, per_site = _sites(protocol, prep.volume_ml)
        if sites > 1:
            warnings.append(
                f"{prep.volume_ml} mL is more than {protocol.im_max_ml_per_site} mL for one injection site: "
                f"split it across {sites} sites, at most {per_site} mL each."
            )
    ibw_dose = _apa_note(protocol, per_kg, weight_kg=weight_kg, height_cm=height_cm, sex=sex, notes=notes)
    return Dose(
        protocol=protocol.code,
        dose_mg=dose,
        prepared_dose_mg=prep.prepared_mg,
        capped=capped,
        needs_verification=bool(verify),
        weight_basis=basis,
        basis_weight_kg=basis_kg,
        dose_mg_per_kg=per_kg,
        concentration_mg_per_ml=concentration,
        draw_volume_ml=prep.volume_ml,
        bag_ml=infusion.bag_ml if infusion else None,
        infused_volume_ml=infusion.infused_ml if infusion else None,
        duration_min=infusion.minutes if infusion else None,
        rate_ml_per_h=infusion.rate_ml_per_h if infusion else None,
        prepared_mg_per_kg_actual=per_kg_actual,
        final_concentration_mg_per_ml=infusion.final_mg_per_ml if infusion else None,
        injection_sites=sites,
        volume_per_site_ml=per_site,
        ibw_dose_mg=ibw_dose,
        duration_reason=infusion.reason if infusion else "",
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class _Preparation:
    volume_ml: Decimal
    prepared_mg: Decimal


def _draw(protocol: Protocol, dose_mg: Decimal, concentration: Decimal) -> _Preparation:
    volume = _round(dose_mg / concentration, protocol.volume_step_ml)
    return _Preparation(volume_ml=volume, prepared_mg=volume * concentration)


def _sites(protocol: Protocol, volume_ml: Decimal) -> tuple[int, Decimal]:
    """(injection sites, the largest volume at one site) for an IM volume."""
    sites = max(1, int(_round_up(volume_ml / protocol.im_max_ml_per_site, Decimal(1))))
    while (per_site := _round_up(volume_ml / sites, protocol.volume_step_ml)) > protocol.im_max_ml_per_site:
        sites += 1
    return sites, per_site


Weights = tuple[tuple[str, Decimal], ...]


def _weights(basis: WeightBasis, basis_kg: Decimal, actual_kg: Decimal) -> Weights:
    """The weights mg/kg is checked on, named: the basis weight and the actual weight."""
    if basis_kg == actual_kg:
        return (("actual weight", actual_kg),)
    return ((f"{basis} weight", basis_kg), ("actual weight", actual_kg))


def _preparation_problem(
    protocol: Protocol, dose_mg: Decimal, concentration: Decimal, weights: Weights
) -> tuple[str, str] | None:
    """(kind, words) of the first rule drawing `dose_mg` from `concentration` breaks, or None.
    Kind "weaker" is mended by a weaker stock, "stronger" by a stronger one."""
    prep = _draw(protocol, dose_mg, concentration)
    if prep.volume_ml < MIN_DRAW_VOLUME_ML:
        return "weaker", (
            f"{_fmt(dose_mg)} mg of {concentration} mg/mL is {prep.volume_ml} mL, "
            f"under the {MIN_DRAW_VOLUME_ML} mL that can be measured"
        )
    if abs(prep.prepared_mg - dose_mg) > dose_mg * MAX_PREPARED_DIFFERENCE_FRACTION:
        # Rounded up, so that a refused difference never reads as 2.00%.
        off = _round_up(abs(prep.prepared_mg - dose_mg) * 100 / dose_mg, Decimal("0.01"))
        return "weaker", (
            f"{prep.volume_ml} mL (the syringe's {protocol.volume_step_ml} mL graduation) of {concentration} "
            f"mg/mL holds {_fmt(prep.prepared_mg)} mg, {off}% off the ordered {_fmt(dose_mg)} mg (at most "
            f"{MAX_PREPARED_DIFFERENCE_FRACTION * 100:.0f}%)"
        )
    high = protocol.max_mg_per_kg
    if high is not None:
        for label, kg in weights:
            if _mg_per_kg(prep.prepared_mg, kg) > high:
                return "weaker", (
                    f"the prepared dose {_fmt(prep.prepared_mg)} mg is {_mg_per_kg(prep.prepared_mg, kg)} "
                    f"mg/kg of the {label} {kg} kg, above the protocol's maximum {high} mg/kg"
                )
    if not protocol.infusion:
        sites, _ = _sites(protocol, prep.volume_ml)
        if sites > protocol.im_max_sites:
            return "stronger", (
                f"{prep.volume_ml} mL needs {sites} injection sites of at most "
                f"{protocol.im_max_ml_per_site} mL (at most {protocol.im_max_sites} sites)"
            )
    return None


def _prepare(protocol: Protocol, dose_mg: Decimal, concentration: Decimal, weights: Weights) -> _Preparation:
    """The drawn volume and the prepared dose; refused (naming a stock strength that works) when
    the dose cannot be drawn measurably and accurately from this stock."""
    problem = _preparation_problem(protocol, dose_mg, concentration, weights)
    if problem is None:
        return _draw(protocol, dose_mg, concentration)
    kind, words = problem
    if kind == "weaker":
        candidates = tuple(sorted((s for s in KETAMINE_STOCK_MG_PER_ML if s < concentration), reverse=True))
        direction = "weaker"
    else:
        candidates = tuple(sorted(s for s in KETAMINE_STOCK_MG_PER_ML if s > concentration))
        direction = "stronger"
    for strength in candidates:
        if _preparation_problem(protocol, dose_mg, strength, weights) is None:
            raise DoseError("concentration_mg_per_ml", f"{words}: use the {strength} mg/mL stock")
    standard = _strengths(KETAMINE_STOCK_MG_PER_ML)
    instead = "order a lower dose" if kind == "stronger" else "change the order"
    raise DoseError(
        "concentration_mg_per_ml",
        f"{words}, and no {direction} standard stock ({standard}) gives an accurate dose: {instead}",
    )


def _verification(protocol: Protocol, per_kg: Decimal, prepared_mg: Decimal, weights: Weights) -> str:
    """Why a second clinician must verify the order ("" when not): the order, or the prepared
    dose per kg of the basis or the actual weight, above the protocol's level."""
    threshold = protocol.verify_above_mg_per_kg
    if threshold is None:
        return ""
    if per_kg > threshold:
        return f"{per_kg} mg/kg is above {threshold} mg/kg: a second clinician must verify the order."
    for label, kg in weights:
        prepared_per_kg = _mg_per_kg(prepared_mg, kg)
        if prepared_per_kg > threshold:
            return (
                f"The prepared dose {_fmt(prepared_mg)} mg is {prepared_per_kg} mg/kg of the {label} "
                f"{kg} kg, above {threshold} mg/kg: a second clinician must verify the order."
            )
    return ""


def _apa_note(
    protocol: Protocol,
    per_kg: Decimal,
    *,
    weight_kg: Decimal,
    height_cm: Decimal | None,
    sex: str | None,
    notes: list[str],
) -> Decimal | None:
    """At BMI 30 or more, the APA consensus note; returns the dose on ideal body weight when the
    Devine formula applies (shown beside the note), else None."""
    if height_cm is None:
        return None
    body_mass_index = bmi(weight_kg, height_cm)
    if body_mass_index < APA_IBW_FROM_BMI:
        return None
    ideal = _devine_kg(height_cm, sex)
    ibw_dose = None if ideal is None else _round(per_kg * min(ideal, weight_kg), protocol.dose_step_mg)
    if ibw_dose is not None and protocol.max_dose_mg is not None:
        ibw_dose = min(ibw_dose, protocol.max_dose_mg)
    beside = (
        f" On ideal body weight {ideal} kg this order would be {ibw_dose} mg."
        if ibw_dose is not None
        else " (Ideal body weight needs sex female or male and a height of 152.4 cm or more.)"
    )
    notes.append(
        f"BMI {body_mass_index} (30 or more): the APA consensus (Sanacora et al., JAMA Psychiatry 2017) "
        f"suggests considering ideal body weight for dosing.{beside}"
    )
    return ibw_dose


@dataclass(frozen=True, slots=True)
class _Infusion:
    bag_ml: Decimal
    infused_ml: Decimal
    minutes: int
    rate_ml_per_h: Decimal
    final_mg_per_ml: Decimal
    reason: str


def _infusion(
    protocol: Protocol,
    prep: _Preparation,
    *,
    duration_min: int | None,
    duration_reason: str,
    bag_ml: Decimal | None,
    warnings: list[str],
) -> _Infusion:
    bag = protocol.bag_ml if bag_ml is None else bag_ml
    if bag is None:
        raise DoseError("bag_ml", "give the bag's volume")
    _check_range("bag_ml", bag, *BAG_ML_RANGE, "mL")
    # IV ketamine is always diluted, at most 2 mg/mL in the bag (clinical reference section 5,
    # decision; Ketalar prescribing information: 100 mg/mL must not be injected IV without proper
    # dilution, and infusions are made up at 1 or 2 mg/mL).
    if bag == 0:
        raise DoseError(
            "bag_ml",
            f"IV ketamine is always diluted: add it to a bag (at most {protocol.max_bag_mg_per_ml} mg/mL; "
            f"this dose needs at least {_smallest_bag_ml(protocol, prep)} mL)",
        )
    # Infused volume = bag + drawn volume (clinical reference section 5, decision).
    infused = bag + prep.volume_ml
    final = prep.prepared_mg / infused
    if final > protocol.max_bag_mg_per_ml:
        raise DoseError(
            "bag_ml",
            f"{_fmt(prep.prepared_mg)} mg in {bag} mL + {prep.volume_ml} mL is "
            f"{_round_up(final, FINAL_CONCENTRATION_STEP)} mg/mL, over the {protocol.max_bag_mg_per_ml} "
            f"mg/mL an infusion may hold: use a bag of at least {_smallest_bag_ml(protocol, prep)} mL",
        )
    minutes = protocol.duration_min if duration_min is None else duration_min
    if minutes is None:
        raise DoseError("duration_min", "give the infusion's duration")
    if not DURATION_MIN_RANGE[0] <= minutes <= DURATION_MIN_RANGE[1]:
        raise DoseError(
            "duration_min", f"{minutes} min is outside {DURATION_MIN_RANGE[0]}-{DURATION_MIN_RANGE[1]} min"
        )
    standard = protocol.duration_min if protocol.duration_min is not None else minutes
    # Ketalar prescribing information: rapid administration risks respiratory depression and an
    # enhanced pressor response; under 20 minutes is refused (clinical reference section 5).
    if minutes < protocol.min_duration_min:
        raise DoseError(
            "duration_min",
            f"{minutes} min is under the {protocol.min_duration_min} minutes an infusion must take (rapid "
            f"administration risks respiratory depression and a rise in blood pressure): give it over "
            f"{standard} min",
        )
    # Under the protocol's duration needs a physician's stated reason (clinical reference section 5).
    reason = duration_reason.strip()
    if minutes < standard:
        if not reason:
            raise DoseError(
                "duration_reason",
                f"{minutes} min is shorter than the protocol's {standard} min: state the physician's reason, "
                f"or give it over {standard} min",
            )
        warnings.append(
            f"Duration {minutes} min is shorter than the protocol's {standard} min. Reason: {reason}"
        )
    else:
        reason = ""
        if minutes != standard:
            warnings.append(f"Duration {minutes} min differs from the protocol's {standard} min.")
    return _Infusion(
        bag_ml=bag,
        infused_ml=infused,
        minutes=minutes,
        rate_ml_per_h=_round(infused * 60 / minutes, protocol.rate_step_ml_per_h),
        final_mg_per_ml=_round(final, FINAL_CONCENTRATION_STEP),
        reason=reason,
    )


def _smallest_bag_ml(protocol: Protocol, prep: _Preparation) -> Decimal:
    """The smallest whole-mL bag that keeps the final concentration within the limit."""
    return max(
        BAG_STEP_ML, _round_up(prep.prepared_mg / protocol.max_bag_mg_per_ml - prep.volume_ml, BAG_STEP_ML)
    )


def _fixed(
    protocol: Protocol,
    *,
    dose_mg: Decimal | None,
    dose_mg_per_kg: Decimal | None,
    first_dose: bool,
    suicidal_ideation: bool,
    age_years: int | None,
) -> Dose:
    if dose_mg_per_kg is not None:
        raise DoseError("dose_mg_per_kg", f"the {protocol.code} protocol has fixed doses, not mg/kg")
    # Not approved under 18 years (Spravato prescribing information 8.4; clinical reference §5).
    if age_years is not None and age_years < ESKETAMINE_MIN_AGE_YEARS:
        raise DoseError(
            "age_years",
            f"esketamine is not approved under {ESKETAMINE_MIN_AGE_YEARS} years "
            f"(the patient is {age_years}): it cannot be ordered; consider other treatment",
        )
    warnings: list[str] = []
    notes: list[str] = []
    older = age_years is not None and age_years >= ESKETAMINE_OLDER_ADULT_AGE_YEARS
    older_start = protocol.older_adult_start_mg
    # EU SmPC 4.2: patients 65 and older start at 28 mg, then 28, 56 or 84 mg; 28 mg is a dose
    # only for them, and only where the clinic follows the SmPC (older_adult_start_mg = 28).
    allowed = tuple(protocol.fixed_doses_mg)
    if older_start is not None and older_start not in allowed:
        allowed = (older_start, *allowed)
    if dose_mg is None:
        dose = older_start if first_dose and older and older_start is not None else protocol.fixed_doses_mg[0]
    else:
        dose = dose_mg
    if dose not in allowed:
        listed = " or ".join(f"{d} mg" for d in allowed)
        raise DoseError("dose_mg", f"{dose} mg is not a dose of this protocol ({listed})")
    if dose not in protocol.fixed_doses_mg and not older:
        if age_years is None:
            raise DoseError(
                "age_years",
                f"{dose} mg is a dose for patients {ESKETAMINE_OLDER_ADULT_AGE_YEARS} and older: "
                "give the patient's age",
            )
        raise DoseError(
            "dose_mg",
            f"{dose} mg is a dose for patients {ESKETAMINE_OLDER_ADULT_AGE_YEARS} and older: order "
            + " or ".join(f"{d} mg" for d in protocol.fixed_doses_mg),
        )
    if first_dose:
        _check_first_dose(
            dose,
            older=older,
            older_start=older_start,
            suicidal_ideation=suicidal_ideation,
            age_known=age_years is not None,
            warnings=warnings,
        )
    if suicidal_ideation and dose == ESKETAMINE_SUICIDAL_IDEATION_DOSE_MG:
        notes.append(
            "Depressive symptoms with acute suicidal ideation or behaviour: the label dose is "
            f"{ESKETAMINE_SUICIDAL_IDEATION_DOSE_MG} mg twice weekly for 4 weeks "
            "(Spravato prescribing information 2.3)."
        )
    if not protocol.enabled:
        warnings.append(f"The {protocol.code} protocol is not enabled at this clinic.")
    return Dose(
        protocol=protocol.code,
        dose_mg=dose,
        prepared_dose_mg=dose,
        capped=False,
        needs_verification=False,
        devices=int(dose / ESKETAMINE_DEVICE_MG),
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _check_first_dose(
    dose: Decimal,
    *,
    older: bool,
    older_start: Decimal | None,
    suicidal_ideation: bool,
    age_known: bool,
    warnings: list[str],
) -> None:
    """The first esketamine dose: 56 mg (Spravato prescribing information 2.2; 84 mg only after
    a 56 mg start), or 84 mg from the start for depressive symptoms with acute suicidal ideation
    or behaviour (2.3). Where the clinic follows the EU SmPC, patients 65 and older start at
    28 mg whatever the indication (the SmPC gives the 84 mg emergency dose for adults under 65
    only)."""
    if older and older_start is not None:
        if dose != older_start:
            raise DoseError(
                "dose_mg",
                f"the first dose for a patient {ESKETAMINE_OLDER_ADULT_AGE_YEARS} or older is "
                f"{older_start} mg (clinic setting, EU SmPC)",
            )
        return
    if older_start is not None and not age_known:
        warnings.append(
            f"Age not given: the first dose for patients {ESKETAMINE_OLDER_ADULT_AGE_YEARS} and older is "
            f"{older_start} mg at this clinic; check the patient's age."
        )
    first = (
        (ESKETAMINE_FIRST_DOSE_MG, ESKETAMINE_SUICIDAL_IDEATION_DOSE_MG)
        if suicidal_ideation
        else (ESKETAMINE_FIRST_DOSE_MG,)
    )
    if dose not in first:
        raise DoseError(
            "dose_mg",
            f"the first dose is {ESKETAMINE_FIRST_DOSE_MG} mg (84 mg only after a 56 mg start, or from "
            "the start for depressive symptoms with acute suicidal ideation or behaviour)",
        )
