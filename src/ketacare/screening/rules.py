"""The clinic's screening rules: the published defaults in `clinical/`, with the clinic's own
minimum doses and contraindication classes from the file KETACARE_SCREENING_RULES names.

File format (JSON), both keys optional:
    {"min_daily_dose_mg": {"sertraline": 100,
                           "venlafaxine": {"min_daily_dose_mg": 150, "max_daily_dose_mg": 450},
                           "agomelatine": {"class": "melatonergic", "min_daily_dose_mg": 25,
                                           "max_daily_dose_mg": 100, "unit": "mg"}},
     "contraindications": {"pregnancy": {"esketamine_nasal": "absolute"}}}
A number changes a listed drug's minimum; an object changes its minimum and/or maximum, or adds a
drug the table lacks (class, minimum and maximum required; role, unit, note, source optional).
Doses are in mg (docs/staging.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ketacare.clinic_settings import overrides_file
from ketacare.clinical import antidepressants, contraindications

EXPECTED = "expected an object with min_daily_dose_mg and/or contraindications"


class RulesError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rules:
    drugs: dict[str, antidepressants.Drug]
    contraindications: tuple[contraindications.Rule, ...]


def _with_overrides(data: Mapping[str, Any]) -> Rules:
    if set(data) - {"min_daily_dose_mg", "contraindications"}:
        raise RulesError(EXPECTED)
    try:
        return Rules(
            antidepressants.with_overrides(data.get("min_daily_dose_mg", {})),
            contraindications.with_overrides(data.get("contraindications", {})),
        )
    except AttributeError as exc:  # a part that is not an object
        raise RulesError(str(exc)) from None


# The rules in force (re-read when the file changes).
current = overrides_file("SCREENING_RULES_FILE", _with_overrides, RulesError, EXPECTED)
