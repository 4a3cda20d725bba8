"""Checks before every dose (clinical reference section 5, "Every session: checks before the
dose", decisions): the pre-dose checklist and what each answer that matters does, and the minimum
interval between doses.

The checklist is answered at check-in, each item yes or no, and the answers are kept on the
session. Whether an answer that matters stops the dose or only warns is a clinic setting: the
table below is the default, changed by the JSON file KETACARE_CHECKLIST names, for example
{"alcohol_24h": "warn"}.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from ketacare.clinical.protocols import MIN_DOSE_INTERVAL_HOURS


class Effect(StrEnum):
    STOP = "stop"  # the dose cannot start
    WARN = "warn"  # shown loudly on the session; the dose may start
    NONE = "none"  # asked and kept, no effect


class Applies(StrEnum):
    ALL = "all"
    IV_IM = "iv_im"
    ESKETAMINE = "esketamine"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    code: str
    question: str
    # The answer that matters: True when "yes" is the concern (alcohol today), False when "no" is
    # (identity not confirmed).
    concern: bool
    effect: Effect
    message: str
    applies: Applies = Applies.ALL
    # Asked only when another item was answered yes (the pregnancy test when pregnancy is possible).
    only_if: str | None = None
    source: str = ""


_REF = "Clinical reference section 5, checks before the dose (decision)"

# The default table. Sources: the reference's decision for every item; the reasons in the
# messages come from the exclusions of section 5 (pregnancy, alcohol within 24 hours, high-dose
# benzodiazepines and MAOIs) and the esketamine label (fasting: no food 2 hours, no drink 30
# minutes; CNS depressants and psychostimulants increase sedation and blood pressure).
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "identity_confirmed",
        "Identity confirmed with two identifiers (name and date of birth)",
        False,
        Effect.STOP,
        "Confirm the patient's identity with two identifiers before the dose.",
        source=_REF,
    ),
    ChecklistItem(
        "pregnancy_possible",
        "Could the patient be pregnant?",
        True,
        Effect.NONE,
        "Pregnancy is possible: a negative test is needed before the dose.",
        source=_REF + "; pregnancy is an exclusion (section 5)",
    ),
    ChecklistItem(
        "pregnancy_test_negative",
        "Pregnancy test today negative",
        False,
        Effect.STOP,
        "Pregnancy is possible and no negative test today: no dose (pregnancy is an exclusion).",
        only_if="pregnancy_possible",
        source=_REF + "; pregnancy is an exclusion (section 5)",
    ),
    ChecklistItem(
        "alcohol_24h",
        "Alcohol in the last 24 hours",
        True,
        Effect.STOP,
        "Alcohol in the last 24 hours: no dose today (inability to abstain for 24 hours is an exclusion).",
        source=_REF + "; exclusions, section 5",
    ),
    ChecklistItem(
        "new_benzodiazepine",
        "Benzodiazepine started or changed",
        True,
        Effect.WARN,
        "Benzodiazepine started or changed: more sedation, and a dose-related loss of effect.",
        source=_REF,
    ),
    ChecklistItem(
        "new_cns_depressant",
        "Opioid or other CNS depressant started or changed",
        True,
        Effect.WARN,
        "Opioid or other CNS depressant: watch for respiratory depression and sedation.",
        source=_REF + "; esketamine label 5.1 (CNS depressants)",
    ),
    ChecklistItem(
        "new_stimulant",
        "Psychostimulant started or changed",
        True,
        Effect.WARN,
        "Psychostimulant started or changed: blood pressure may rise further.",
        source=_REF + "; esketamine label 5.6 (psychostimulants)",
    ),
    ChecklistItem(
        "new_maoi",
        "MAOI started or changed",
        True,
        Effect.STOP,
        "MAOI started or changed: a physician must review the interaction before any dose.",
        source=_REF + "; esketamine label 5.6 (MAOIs)",
    ),
    ChecklistItem(
        "new_lamotrigine",
        "Lamotrigine started or changed",
        True,
        Effect.WARN,
        "Lamotrigine started or changed: it may attenuate ketamine's effect (Anand 2000).",
        source=_REF,
    ),
    ChecklistItem(
        "fasting",
        "No food for 2 hours and no drink for 30 minutes",
        False,
        Effect.STOP,
        "Not fasting: no food for 2 hours and no drink for 30 minutes before esketamine.",
        applies=Applies.ESKETAMINE,
        source="Spravato prescribing information 2.1",
    ),
    ChecklistItem(
        "fasting",
        "Fasting as the clinic asks before an infusion",
        False,
        Effect.WARN,
        "Not fasting as the clinic asks: nausea and vomiting are more likely.",
        applies=Applies.IV_IM,
        source="Clinic setting (reference section 5: IV fasting is a clinic setting)",
    ),
    ChecklistItem(
        "escort",
        "A responsible adult will take the patient home (name and phone below)",
        False,
        Effect.STOP,
        "No escort: the patient may not drive or go home alone after the dose.",
        source=_REF + "; discharge criteria, section 5",
    ),
)


def no_concern(table: Sequence[ChecklistItem] = CHECKLIST) -> dict[str, bool]:
    """Every item answered the way that is not its concern (identity confirmed, no alcohol, an
    escort...), leaving out the items asked only after another answer: the checklist of a day with
    nothing to stop or warn about (the demo's sessions, tests of the path past the checklist)."""
    return {item.code: not item.concern for item in table if item.only_if is None}


def items_for(route: str, table: Sequence[ChecklistItem] = CHECKLIST) -> list[ChecklistItem]:
    """The items asked for a route (iv_ketamine, im_ketamine or esketamine)."""
    wanted = {Applies.ALL, Applies.ESKETAMINE if route == "esketamine" else Applies.IV_IM}
    return [item for item in table if item.applies in wanted]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    effect: Effect
    message: str


def evaluate(
    answers: Mapping[str, bool | None], route: str, table: Sequence[ChecklistItem] = CHECKLIST
) -> tuple[dict[str, str], list[Finding]]:
    """(unanswered items as {code: message}, findings). Every applicable item needs a yes or no
    (an item that depends on another is needed only when that one was answered yes)."""
    missing: dict[str, str] = {}
    findings: list[Finding] = []
    for item in items_for(route, table):
        if item.only_if is not None and answers.get(item.only_if) is not True:
            continue
        answer = answers.get(item.code)
        if answer is None:
            missing[item.code] = "Answer yes or no."
            continue
        if answer == item.concern and item.effect is not Effect.NONE:
            findings.append(Finding(item.code, item.effect, item.message))
    return missing, findings


def with_overrides(
    overrides: Mapping[str, Any], table: Sequence[ChecklistItem] = CHECKLIST
) -> tuple[ChecklistItem, ...]:
    """The table with a clinic's effects: {"alcohol_24h": "warn"}. Raises ValueError naming the
    item. Identity is never relaxed: a dose given to the wrong patient cannot be warned about."""
    codes = {item.code for item in table}
    result = list(table)
    for code, value in overrides.items():
        if code not in codes:
            raise ValueError(f"{code}: not a checklist item ({', '.join(sorted(codes))})")
        try:
            effect = Effect(value)
        except ValueError:
            raise ValueError(f"{code}: {value!r} is not one of {', '.join(Effect)}") from None
        if code == "identity_confirmed" and effect is not Effect.STOP:
            raise ValueError("identity_confirmed: identity must always stop the dose")
        result = [replace(item, effect=effect) if item.code == code else item for item in result]
    return tuple(result)


# Minimum interval between doses (clinical reference section 5, decision): not two IV or IM doses
# within 20 hours (protocols.MIN_DOSE_INTERVAL_HOURS, a protocol setting); esketamine not on
# consecutive days (twice weekly in induction, Spravato prescribing information 2.2).
MIN_HOURS_BETWEEN_IV_IM_DOSES = MIN_DOSE_INTERVAL_HOURS


def interval_problem(
    *,
    route: str,
    at: datetime.datetime,
    other_doses: Sequence[tuple[datetime.datetime, str]],
    min_hours: int = MIN_HOURS_BETWEEN_IV_IM_DOSES,
    no_consecutive_days: bool = False,
) -> str | None:
    """Why a dose (or a booking) on `route` at `at` is too close to another of the patient's
    doses, given as (time, route); None when it is not. Any two ketamine doses must be `min_hours`
    apart; under a protocol with `no_consecutive_days` (esketamine), two doses of the same route
    are also not on the same or consecutive calendar days. Times are aware datetimes in the
    clinic's time zone, so that a day is the clinic's calendar day."""
    for other, other_route in sorted(other_doses):
        if no_consecutive_days and other_route == route and abs((at.date() - other.date()).days) <= 1:
            return (
                f"Another {route.replace('_', ' ')} dose on {other:%Y-%m-%d}: it is not given on "
                "the same or consecutive days."
            )
        if abs(at - other) < datetime.timedelta(hours=min_hours):
            return (
                f"Another dose at {other:%Y-%m-%d %H:%M}: ketamine doses must be at least "
                f"{min_hours} hours apart."
            )
    return None
