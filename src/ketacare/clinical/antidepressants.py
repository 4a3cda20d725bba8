"""Antidepressants and augmenting agents, with the minimum adequate daily dose of each.

A trial counts toward treatment resistance only at or above the minimum adequate dose (clinical
reference, section 3). The default minimum is the lowest dose of the usual adult therapeutic range
for major depression:
- Newer antidepressants: McMaster Textbook of Internal Medicine, "Antidepressant dosing in adults"
  (usual dose column, lower bound), which agrees with each drug's FDA prescribing information.
- Tricyclics, MAOIs, trazodone, nefazodone: the FDA prescribing information of each drug (lowest
  usual adult outpatient dose for depression).
- Augmenting agents: the FDA prescribing information for adjunctive use in MDD (aripiprazole,
  brexpiprazole, cariprazine, quetiapine XR, olanzapine with fluoxetine); lithium and
  liothyronine from the CANMAT 2016 depression guidelines (Kennedy et al., Can J Psychiatry
  2016;61:540-560), section 3 (augmentation), which guide lithium by serum level (0.5-0.8 mmol/L)
  and liothyronine at 25-50 micrograms a day.

These are defaults: a clinic's pharmacist reviews them, and a clinic may replace any value through
`with_overrides` (settings.ANTIDEPRESSANT_DOSE_OVERRIDES).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class DrugRole(StrEnum):
    ANTIDEPRESSANT = "antidepressant"
    AUGMENTATION = "augmentation"


@dataclass(frozen=True, slots=True)
class Drug:
    name: str  # lowercase generic name, the key used everywhere
    drug_class: str
    role: DrugRole
    min_daily_dose_mg: Decimal
    source: str

    @property
    def label(self) -> str:
        return self.name.capitalize()


_MCM = "McMaster Textbook of Internal Medicine, antidepressant dosing (usual dose, lower bound)"
_FDA = "FDA prescribing information, usual adult dose for depression (lower bound)"
_FDA_ADJ = "FDA prescribing information, adjunctive treatment of MDD (lowest recommended dose)"
_CANMAT = "CANMAT 2016 depression guidelines, section 3 (augmentation)"

_A = DrugRole.ANTIDEPRESSANT
_G = DrugRole.AUGMENTATION


def _d(name: str, cls: str, role: DrugRole, dose: str, source: str) -> Drug:
    return Drug(name, cls, role, Decimal(dose), source)


DRUGS: tuple[Drug, ...] = (
    _d("citalopram", "SSRI", _A, "20", _MCM),
    _d("escitalopram", "SSRI", _A, "10", _MCM),
    _d("fluoxetine", "SSRI", _A, "20", _MCM),
    _d("fluvoxamine", "SSRI", _A, "50", _MCM),
    _d("paroxetine", "SSRI", _A, "20", _MCM),
    _d("sertraline", "SSRI", _A, "50", _MCM),
    _d("desvenlafaxine", "SNRI", _A, "50", _MCM),
    _d("duloxetine", "SNRI", _A, "60", _MCM),
    _d("levomilnacipran", "SNRI", _A, "40", _MCM),
    _d("venlafaxine", "SNRI", _A, "75", _MCM),
    _d("mirtazapine", "NaSSA", _A, "15", _MCM),
    _d("bupropion", "NDRI", _A, "300", _MCM),
    _d("vilazodone", "serotonin modulator", _A, "20", _MCM),
    _d("vortioxetine", "serotonin modulator", _A, "10", _MCM),
    _d("trazodone", "serotonin modulator", _A, "150", _FDA),
    _d("nefazodone", "serotonin modulator", _A, "200", _FDA),
    _d("amitriptyline", "TCA", _A, "75", _FDA),
    _d("clomipramine", "TCA", _A, "100", _FDA),
    _d("desipramine", "TCA", _A, "100", _FDA),
    _d("doxepin", "TCA", _A, "75", _FDA),
    _d("imipramine", "TCA", _A, "75", _FDA),
    _d("nortriptyline", "TCA", _A, "75", _FDA),
    _d("isocarboxazid", "MAOI", _A, "20", _FDA),
    _d("phenelzine", "MAOI", _A, "45", _FDA),
    _d("tranylcypromine", "MAOI", _A, "30", _FDA),
    _d("selegiline transdermal", "MAOI", _A, "6", _FDA + " (mg per 24 hours)"),
    _d("aripiprazole", "atypical antipsychotic", _G, "2", _FDA_ADJ),
    _d("brexpiprazole", "atypical antipsychotic", _G, "2", _FDA_ADJ),
    _d("cariprazine", "atypical antipsychotic", _G, "1.5", _FDA_ADJ),
    _d("quetiapine", "atypical antipsychotic", _G, "150", _FDA_ADJ + " (extended release)"),
    _d("olanzapine", "atypical antipsychotic", _G, "6", _FDA_ADJ + " (with fluoxetine)"),
    _d("lithium", "mood stabiliser", _G, "600", _CANMAT + "; adequacy is better judged by serum level"),
    _d("liothyronine", "thyroid hormone", _G, "0.025", _CANMAT + " (25 micrograms)"),
)

DRUGS_BY_NAME: dict[str, Drug] = {d.name: d for d in DRUGS}


class UnknownDrug(ValueError):
    pass


def drug(name: str, table: Mapping[str, Drug] = DRUGS_BY_NAME) -> Drug:
    try:
        return table[name.strip().lower()]
    except KeyError:
        raise UnknownDrug(
            f"{name!r} is not in the clinic's list of antidepressants and augmenting agents"
        ) from None


def with_overrides(overrides: Mapping[str, object]) -> dict[str, Drug]:
    """The table with a clinic's minimum doses in place of the defaults: {"sertraline": 100}.
    Raises ValueError naming the drug for an unknown name or a dose that is not a positive number."""
    table = dict(DRUGS_BY_NAME)
    for name, value in overrides.items():
        base = drug(name, table)
        try:
            dose = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{name}: minimum daily dose {value!r} is not a number") from None
        if not dose.is_finite() or dose <= 0:
            raise ValueError(f"{name}: minimum daily dose must be a positive number of mg, not {value!r}")
        table[base.name] = replace(base, min_daily_dose_mg=dose, source="clinic setting")
    return table
