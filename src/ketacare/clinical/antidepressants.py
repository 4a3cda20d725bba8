"""Antidepressants and augmenting agents: the minimum adequate and the plausible maximum daily dose
of each, with the unit a clinician writes it in.

A trial counts toward treatment resistance only at or above the minimum adequate dose (clinical
reference, section 3). Sources of the minimum, per row (`source`):
- Newer antidepressants: McMaster Textbook of Internal Medicine, "Antidepressant dosing in adults"
  (usual dose column, lower bound), which agrees with each drug's FDA prescribing information.
- Corrections decided in the clinical reference, section 3 (a starting dose is not an adequate
  dose): phenelzine 60 mg (Nardil FDA label: "at least 60 mg per day"), mirtazapine 30 mg (Taylor
  et al., The Maudsley Prescribing Guidelines in Psychiatry), tricyclics 150 mg except nortriptyline
  75 mg, nefazodone 300 mg.
- Fluvoxamine and clomipramine are labelled in the US for OCD only: their depression doses come
  from the UK summaries of product characteristics (Faverin; Anafranil), and the table marks them
  off-label for depression in the US (`note`), shown wherever the drug is listed.
- Other tricyclics, MAOIs, trazodone: the FDA prescribing information of each drug.
- Augmenting agents: the FDA prescribing information for adjunctive use in MDD (aripiprazole,
  brexpiprazole, cariprazine, quetiapine XR, olanzapine with fluoxetine); lithium and
  liothyronine from the CANMAT 2016 depression guidelines (Kennedy et al., Can J Psychiatry
  2016;61:540-560), section 3 (augmentation): lithium guided by serum level (0.5-0.8 mmol/L),
  liothyronine 25-50 micrograms a day.

Plausible maximum (clinical reference, section 3): about twice the label's maximum daily dose
(`max_source` names the maximum used). A dose above it is not a clinical judgement but a likely
unit error (5000 mg of sertraline; 25 "mg" of liothyronine, which is dosed in micrograms) and is
refused, naming the field.

Doses are held in mg throughout (`*_mg`); `unit` is the unit the drug is written in (mg or
microgram), used for display and entry only.

These are defaults: a clinic's pharmacist reviews them, and a clinic may replace a minimum or
maximum, or add a drug, through `with_overrides` (the screening-rules file,
KETACARE_SCREENING_RULES; docs/staging.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class DrugRole(StrEnum):
    ANTIDEPRESSANT = "antidepressant"
    AUGMENTATION = "augmentation"


class Unit(StrEnum):
    MG = "mg"
    MICROGRAM = "microgram"


MG_PER_UNIT = {Unit.MG: Decimal(1), Unit.MICROGRAM: Decimal("0.001")}


@dataclass(frozen=True, slots=True)
class Drug:
    name: str  # lowercase generic name, the key used everywhere
    drug_class: str
    role: DrugRole
    min_daily_dose_mg: Decimal
    source: str
    max_daily_dose_mg: Decimal
    max_source: str
    unit: Unit = Unit.MG
    # Shown wherever the drug is listed, e.g. "off-label for depression in the US".
    note: str = ""

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def off_label_for_depression(self) -> bool:
        return "off-label" in self.note

    def in_unit(self, dose_mg: Decimal) -> Decimal:
        """A dose in mg, in the unit this drug is written in."""
        return (dose_mg / MG_PER_UNIT[self.unit]).normalize()

    def dose_text(self, dose_mg: Decimal) -> str:
        """ "150 mg" or "25 micrograms": the dose as the clinician writes it."""
        value = self.in_unit(dose_mg)
        text = f"{value:f}"
        if self.unit == Unit.MG:
            return f"{text} mg"
        return f"{text} microgram" + ("" if value == 1 else "s")

    @property
    def choice_label(self) -> str:
        """How the form's list shows the drug: class, adequate dose, and any note."""
        text = f"{self.label} ({self.drug_class}, adequate from {self.dose_text(self.min_daily_dose_mg)}/day"
        return text + (f"; {self.note})" if self.note else ")")


_MCM = "McMaster Textbook of Internal Medicine, antidepressant dosing (usual dose, lower bound)"
_FDA = "FDA prescribing information, usual adult dose for depression (lower bound)"
_FDA_ADJ = "FDA prescribing information, adjunctive treatment of MDD (lowest recommended dose)"
_CANMAT = "CANMAT 2016 depression guidelines, section 3 (augmentation)"
_REF3 = "clinical reference section 3 (decision)"
_OFF_LABEL_US = "off-label for depression in the US (labelled for OCD only)"

_A = DrugRole.ANTIDEPRESSANT
_G = DrugRole.AUGMENTATION
_UG = Unit.MICROGRAM


def _d(
    name: str,
    cls: str,
    role: DrugRole,
    dose: str,
    source: str,
    label_max: str,
    max_source: str,
    *,
    unit: Unit = Unit.MG,
    note: str = "",
) -> Drug:
    """A row: `dose` and `label_max` in mg; the plausible maximum is twice the label maximum."""
    return Drug(
        name,
        cls,
        role,
        Decimal(dose),
        source,
        2 * Decimal(label_max),
        f"twice the label maximum of {label_max} mg/day ({max_source})",
        unit,
        note,
    )


# Columns: name, class, role, minimum adequate mg/day and its source, label maximum mg/day and
# the label it is from.
DRUGS: tuple[Drug, ...] = (
    _d("citalopram", "SSRI", _A, "20", _MCM, "40", "Celexa FDA label"),
    _d("escitalopram", "SSRI", _A, "10", _MCM, "20", "Lexapro FDA label"),
    _d("fluoxetine", "SSRI", _A, "20", _MCM, "80", "Prozac FDA label"),
    # US label: OCD only. Depression: Faverin UK SmPC, "the recommended dose is 100 mg a day"
    # (start 50-100 mg; maximum 300 mg).
    _d(
        "fluvoxamine",
        "SSRI",
        _A,
        "100",
        "Faverin UK SmPC, depression (recommended dose)",
        "300",
        "Faverin UK SmPC",
        note=_OFF_LABEL_US,
    ),
    _d("paroxetine", "SSRI", _A, "20", _MCM, "50", "Paxil FDA label, MDD"),
    _d("sertraline", "SSRI", _A, "50", _MCM, "200", "Zoloft FDA label"),
    # Pristiq label: 50 mg recommended; doses up to 400 mg/day were studied (no added benefit).
    _d("desvenlafaxine", "SNRI", _A, "50", _MCM, "400", "Pristiq FDA label, highest dose studied"),
    _d("duloxetine", "SNRI", _A, "60", _MCM, "120", "Cymbalta FDA label"),
    _d("levomilnacipran", "SNRI", _A, "40", _MCM, "120", "Fetzima FDA label"),
    _d("venlafaxine", "SNRI", _A, "75", _MCM, "375", "Effexor FDA label, severely depressed inpatients"),
    # Maudsley Prescribing Guidelines: 30 mg, not the 15 mg starting dose (clinical reference 3).
    _d(
        "mirtazapine",
        "NaSSA",
        _A,
        "30",
        "Maudsley Prescribing Guidelines (" + _REF3 + ")",
        "45",
        "Remeron FDA label",
    ),
    _d("bupropion", "NDRI", _A, "300", _MCM, "450", "Wellbutrin FDA label"),
    _d("vilazodone", "serotonin modulator", _A, "20", _MCM, "40", "Viibryd FDA label"),
    _d("vortioxetine", "serotonin modulator", _A, "10", _MCM, "20", "Trintellix FDA label"),
    _d("trazodone", "serotonin modulator", _A, "150", _FDA, "600", "Desyrel FDA label, inpatients"),
    # Nefazodone FDA label: effective range 300-600 mg/day; 200 mg is the starting dose.
    _d(
        "nefazodone",
        "serotonin modulator",
        _A,
        "300",
        "nefazodone FDA label, effective range (" + _REF3 + ")",
        "600",
        "nefazodone FDA label",
    ),
    # Tricyclics: 150 mg/day (clinical reference 3), the usual adequate dose for depression, not
    # the 75 mg outpatient starting dose of the FDA labels.
    _d("amitriptyline", "TCA", _A, "150", _REF3, "300", "amitriptyline FDA label, hospitalized patients"),
    # US label: OCD only. Depression: Anafranil UK SmPC, 75-150 mg/day, up to 250 mg.
    _d(
        "clomipramine",
        "TCA",
        _A,
        "150",
        "Anafranil UK SmPC, depression (" + _REF3 + ")",
        "250",
        "Anafranil FDA label",
        note=_OFF_LABEL_US,
    ),
    _d("desipramine", "TCA", _A, "150", _REF3, "300", "Norpramin FDA label"),
    _d("doxepin", "TCA", _A, "150", _REF3, "300", "doxepin FDA label"),
    _d("imipramine", "TCA", _A, "150", _REF3, "300", "Tofranil FDA label, hospitalized patients"),
    # Nortriptyline is the exception: 75 mg/day (plasma 50-150 ng/mL; Pamelor FDA label).
    _d("nortriptyline", "TCA", _A, "75", "Pamelor FDA label (" + _REF3 + ")", "150", "Pamelor FDA label"),
    _d("trimipramine", "TCA", _A, "150", _REF3, "300", "Surmontil FDA label, hospitalized patients"),
    _d("isocarboxazid", "MAOI", _A, "20", _FDA, "60", "Marplan FDA label"),
    # Nardil FDA label: "at least 60 mg per day" to reach a therapeutic effect; 45 mg is the start.
    _d(
        "phenelzine",
        "MAOI",
        _A,
        "60",
        'Nardil FDA label, "at least 60 mg per day" (' + _REF3 + ")",
        "90",
        "Nardil FDA label",
    ),
    _d("tranylcypromine", "MAOI", _A, "30", _FDA, "60", "Parnate FDA label"),
    _d(
        "selegiline transdermal",
        "MAOI",
        _A,
        "6",
        _FDA + " (mg per 24 hours)",
        "12",
        "Emsam FDA label, mg per 24 hours",
    ),
    _d("aripiprazole", "atypical antipsychotic", _G, "2", _FDA_ADJ, "15", "Abilify FDA label, adjunct MDD"),
    _d("brexpiprazole", "atypical antipsychotic", _G, "2", _FDA_ADJ, "3", "Rexulti FDA label, adjunct MDD"),
    _d("cariprazine", "atypical antipsychotic", _G, "1.5", _FDA_ADJ, "3", "Vraylar FDA label, adjunct MDD"),
    _d(
        "quetiapine",
        "atypical antipsychotic",
        _G,
        "150",
        _FDA_ADJ + " (extended release)",
        "800",
        "Seroquel XR FDA label, all indications",
    ),
    _d(
        "olanzapine",
        "atypical antipsychotic",
        _G,
        "6",
        _FDA_ADJ + " (with fluoxetine)",
        "20",
        "Zyprexa FDA label",
    ),
    _d(
        "lithium",
        "mood stabiliser",
        _G,
        "600",
        _CANMAT + "; adequacy is better judged by serum level",
        "1800",
        "lithium carbonate FDA label, acute mania",
    ),
    _d(
        "liothyronine",
        "thyroid hormone",
        _G,
        "0.025",
        _CANMAT + " (25 micrograms)",
        "0.1",
        "Cytomel FDA label, 100 micrograms",
        unit=_UG,
    ),
)

DRUGS_BY_NAME: dict[str, Drug] = {d.name: d for d in DRUGS}

# What a clinic may write for a drug (docs/staging.md, "A clinic's own rules").
_KNOWN_DRUG_KEYS = frozenset({"min_daily_dose_mg", "max_daily_dose_mg", "source"})
_ADDED_DRUG_KEYS = _KNOWN_DRUG_KEYS | {"class", "role", "unit", "note"}
_ADDED_DRUG_REQUIRED = ("class", "min_daily_dose_mg", "max_daily_dose_mg")
MAX_NAME_LENGTH = 40  # AntidepressantTrial.drug


class UnknownDrug(ValueError):
    pass


def normalise_name(name: str) -> str:
    return " ".join(name.strip().lower().split())


def drug(name: str, table: Mapping[str, Drug] = DRUGS_BY_NAME) -> Drug:
    try:
        return table[normalise_name(name)]
    except KeyError:
        raise UnknownDrug(
            f"{name!r} is not in the clinic's list of antidepressants and augmenting agents"
        ) from None


def dose_problem(d: Drug, dose_mg: Decimal) -> str | None:
    """Why a daily dose cannot be right for this drug, or None. Above the plausible maximum is a
    likely unit error: for a drug written in micrograms, the message asks whether it is."""
    if not dose_mg.is_finite() or dose_mg <= 0:
        return "must be more than 0"
    if dose_mg <= d.max_daily_dose_mg:
        return None
    message = (
        f"{_plain(dose_mg)} mg/day of {d.name} is above the plausible maximum of "
        f"{d.dose_text(d.max_daily_dose_mg)}/day ({d.max_source}): likely a unit error"
    )
    if d.unit == Unit.MICROGRAM:
        message += (
            f"; {d.name} is dosed in micrograms: is it in micrograms? "
            f"{_plain(dose_mg)} micrograms is {_plain(dose_mg * MG_PER_UNIT[Unit.MICROGRAM])} mg"
        )
    return message + "."


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _dose(name: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name}.{key}: must be a number of mg, not {value!r}")
    try:
        dose = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name}.{key}: {value!r} is not a number") from None
    if not dose.is_finite() or dose <= 0:
        raise ValueError(f"{name}.{key}: must be a positive number of mg, not {value!r}")
    return dose


def _text(name: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}.{key}: must be a non-empty text, not {value!r}")
    return value.strip()


def _added(name: str, spec: Mapping[str, object]) -> Drug:
    """A drug the clinic adds, with its class, minimum and maximum (mg) and unit."""
    missing = [k for k in _ADDED_DRUG_REQUIRED if k not in spec]
    if missing:
        raise ValueError(
            f"{name}: not in the table, so the clinic must give {', '.join(_ADDED_DRUG_REQUIRED)} "
            f"(missing: {', '.join(missing)})"
        )
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{name!r}: a drug name has 1 to {MAX_NAME_LENGTH} characters")
    try:
        role = DrugRole(spec.get("role", DrugRole.ANTIDEPRESSANT.value))  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(
            f"{name}.role: must be antidepressant or augmentation, not {spec['role']!r}"
        ) from None
    try:
        unit = Unit(spec.get("unit", Unit.MG.value))  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"{name}.unit: must be mg or microgram, not {spec['unit']!r}") from None
    return Drug(
        name=name,
        drug_class=_text(name, "class", spec["class"]),
        role=role,
        min_daily_dose_mg=_dose(name, "min_daily_dose_mg", spec["min_daily_dose_mg"]),
        source=_text(name, "source", spec.get("source", "clinic setting")),
        max_daily_dose_mg=_dose(name, "max_daily_dose_mg", spec["max_daily_dose_mg"]),
        max_source="clinic setting",
        unit=unit,
        note=_text(name, "note", spec["note"]) if "note" in spec else "",
    )


def with_overrides(overrides: Mapping[str, object]) -> dict[str, Drug]:
    """The table with a clinic's changes. For a drug in the table, a number replaces its minimum
    ({"sertraline": 100}), or an object replaces its minimum and/or maximum
    ({"sertraline": {"min_daily_dose_mg": 100, "max_daily_dose_mg": 300}}). A drug not in the
    table is added with an object giving its class, minimum and maximum, and optionally its role,
    unit, note and source. Doses are in mg. Raises ValueError naming the drug and the key."""
    table = dict(DRUGS_BY_NAME)
    for raw_name, value in overrides.items():
        if not isinstance(raw_name, str):
            raise ValueError(f"{raw_name!r}: a drug name must be text")
        name = normalise_name(raw_name)
        base = table.get(name)
        if isinstance(value, Mapping):
            allowed = _KNOWN_DRUG_KEYS if base else _ADDED_DRUG_KEYS
            unknown = sorted(str(k) for k in set(value) - allowed)
            if unknown:
                raise ValueError(
                    f"{name}: unknown key {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
                )
            if base is None:
                new = _added(name, value)
            else:
                new = replace(
                    base,
                    min_daily_dose_mg=_dose(name, "min_daily_dose_mg", value["min_daily_dose_mg"])
                    if "min_daily_dose_mg" in value
                    else base.min_daily_dose_mg,
                    source=_text(name, "source", value.get("source", "clinic setting"))
                    if "min_daily_dose_mg" in value
                    else base.source,
                    max_daily_dose_mg=_dose(name, "max_daily_dose_mg", value["max_daily_dose_mg"])
                    if "max_daily_dose_mg" in value
                    else base.max_daily_dose_mg,
                    max_source="clinic setting" if "max_daily_dose_mg" in value else base.max_source,
                )
        elif base is None:
            raise ValueError(
                f"{name}: not in the table; to add it give an object with class, "
                "min_daily_dose_mg and max_daily_dose_mg (docs/staging.md)"
            )
        else:
            new = replace(
                base, min_daily_dose_mg=_dose(name, "min_daily_dose_mg", value), source="clinic setting"
            )
        if new.min_daily_dose_mg > new.max_daily_dose_mg:
            raise ValueError(
                f"{name}: minimum daily dose {_plain(new.min_daily_dose_mg)} mg is above the maximum "
                f"{_plain(new.max_daily_dose_mg)} mg"
            )
        table[name] = new
    return table
