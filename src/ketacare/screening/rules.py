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

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ketacare.clinical import antidepressants, contraindications


class RulesError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rules:
    drugs: dict[str, antidepressants.Drug]
    contraindications: tuple[contraindications.Rule, ...]


@lru_cache(maxsize=4)
def _load(path: str | None, mtime: float) -> Rules:
    if path is None:
        return Rules(dict(antidepressants.DRUGS_BY_NAME), contraindications.RULES)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RulesError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"min_daily_dose_mg", "contraindications"}:
        raise RulesError("expected an object with min_daily_dose_mg and/or contraindications")
    try:
        return Rules(
            antidepressants.with_overrides(data.get("min_daily_dose_mg", {})),
            contraindications.with_overrides(data.get("contraindications", {})),
        )
    except (ValueError, AttributeError) as exc:
        raise RulesError(str(exc)) from None


def current() -> Rules:
    """The rules in force (re-read when the file changes)."""
    path = settings.SCREENING_RULES_FILE
    mtime = Path(path).stat().st_mtime if path and Path(path).exists() else 0.0
    return _load(path, mtime)
