"""C-SSRS screener (Columbia Suicide Severity Rating Scale, screen version), six yes/no questions.

Posner K, Brown GK, Stanley B, et al. The Columbia-Suicide Severity Rating Scale. Am J Psychiatry
2011;168:1266-1277; risk levels per the Columbia Lighthouse Project screener triage.
Licence: electronic use needs a licence from the rights holder. KetaCare implements the logic with
short labels; a licensed clinic loads the wording.

Question 1 wish to be dead; 2 non-specific active suicidal thoughts; only if 2 is yes: 3 thoughts
with a method, 4 intent, 5 a plan with intent; 6 suicidal behaviour ever, and if yes, 6b within the
past 3 months. Answers are positions: 0 = No, 1 = Yes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ketacare.clinical.instruments.base import (
    SAFETY_ITEM_MISSING,
    SUICIDAL_BEHAVIOR,
    SUICIDAL_IDEATION,
    SUICIDE_RISK_HIGH,
    SUICIDE_RISK_MODERATE,
    Answer,
    Band,
    Instrument,
    Item,
    Recall,
    Score,
    options,
)

NO_YES = options("No", "Yes")
ITEMS = (
    Item("1", "Wish to be dead", NO_YES),
    Item("2", "Non-specific active suicidal thoughts", NO_YES),
    Item("3", "Suicidal thoughts with a method (no plan or intent)", NO_YES),
    Item("4", "Suicidal intent (no specific plan)", NO_YES),
    Item("5", "Suicidal intent with a specific plan", NO_YES),
    Item("6", "Suicidal behaviour, ever", NO_YES),
    Item("6b", "Suicidal behaviour within the past 3 months", NO_YES, required=False),
)

# Risk levels: low = 1 or 2 yes; moderate = 3 yes, or 6 yes but longer ago than 3 months;
# high = 4 or 5 yes, or 6 yes within 3 months. High needs safety precautions until a
# mental-health professional has seen the patient (clinical reference).
RISK_LEVELS = ("none", "low", "moderate", "high")


class CssrsScreen(Instrument):
    def score(self, answers: Sequence[Answer]) -> Score:
        clean = self.validate(answers)

        def yes(number: str) -> bool:
            return clean[_INDEX[number]] == 1

        def blank(number: str) -> bool:
            return clean[_INDEX[number]] is None

        needed = ["1", "2", "6"]
        if yes("2"):
            needed += ["3", "4", "5"]
        if yes("6"):
            needed.append("6b")
        complete = not any(blank(n) for n in needed)

        if yes("4") or yes("5") or (yes("6") and yes("6b")):
            risk = "high"
        elif yes("3") or (yes("6") and not yes("6b") and not blank("6b")):
            risk = "moderate"
        elif yes("1") or yes("2"):
            risk = "low"
        else:
            risk = "none"
        flags: list[str] = []
        if any(yes(n) for n in ("1", "2", "3", "4", "5")):
            flags.append(SUICIDAL_IDEATION)
        if yes("6"):
            flags.append(SUICIDAL_BEHAVIOR)
        if risk == "high":
            flags.append(SUICIDE_RISK_HIGH)
        elif risk == "moderate":
            flags.append(SUICIDE_RISK_MODERATE)
        note = ""
        if not complete:
            flags.append(SAFETY_ITEM_MISSING)
            note = "unanswered questions: the risk level can only be a floor"
        band = risk if complete or risk == "high" else None
        return Score(
            instrument=self.code,
            total=None,
            band=band,
            flags=tuple(flags),
            complete=complete,
            item_scores=self.item_scores(clean),
            note=note,
        )


_INDEX = {item.number: n for n, item in enumerate(ITEMS)}

CSSRS_SCREEN = CssrsScreen(
    code="cssrs_screen",
    name="C-SSRS screener (Columbia Suicide Severity Rating Scale)",
    citation="Posner et al., Am J Psychiatry 2011;168:1266-1277",
    stem="Ask questions 1 and 2. If 2 is yes, ask 3, 4 and 5; then ask 6.",
    items=ITEMS,
    bands=tuple(Band(n, n, name) for n, name in enumerate(RISK_LEVELS)),
    max_total=0,
    wording="short labels",
    licence="Columbia Lighthouse Project: electronic use needs a licence",
    # The screener's lifetime/recent version: questions 1-5 ask about the past month; question 6
    # about suicidal behaviour ever, and 6b whether it was within the past 3 months (Columbia
    # Lighthouse Project screener). The "since last contact" version asks about the time since
    # the last visit instead; KetaCare's triage follows the lifetime/recent version.
    recall=Recall(
        30,
        "the past month",
        note="questions 1-5: the past month; question 6: ever, and 6b: the past 3 months",
    ),
)
