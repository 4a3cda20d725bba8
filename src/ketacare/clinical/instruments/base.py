"""The shape every rating scale shares: items, answer options, scoring, bands, safety flags.

Answers are the *position* of the chosen option as printed on the form (0 = first option), in item
order, with None for an unanswered item. An option's score is usually its position; EPDS reverses
some items, which is why positions and scores are kept apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Answer = int | None

# Flag names, shared by all scales, so alerts and reports can rely on them.
SUICIDAL_IDEATION = "suicidal_ideation"
SAFETY_ITEM_MISSING = "safety_item_missing"
SEVERE_SYMPTOMS = "severe_symptoms"
SUICIDAL_BEHAVIOR = "suicidal_behavior"
SUICIDE_RISK_HIGH = "suicide_risk_high"
SUICIDE_RISK_MODERATE = "suicide_risk_moderate"


class ScoringError(ValueError):
    """The answers cannot be scored as given (wrong count, an answer out of range)."""


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    score: int


@dataclass(frozen=True, slots=True)
class Item:
    number: str
    label: str  # a short label, always shipped
    options: tuple[Option, ...]
    text: str = ""  # the full wording, only where the licence allows shipping it
    loinc: str | None = None
    scored: bool = True  # PHQ-9's "how difficult" question is recorded but not scored
    required: bool = True  # False: may be left blank by design (PHQ-9 question 10)

    @property
    def max_position(self) -> int:
        return len(self.options) - 1


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    name: str


@dataclass(frozen=True, slots=True)
class SafetyRule:
    """Raise `flag` when item `index` (0-based) scores at least `min_score`; when the item is left
    blank, raise `missing_flag` (if set) so a clinician follows it up."""

    index: int
    min_score: int
    flag: str
    missing_flag: str | None = None


def suicide_item(number: int, *, min_score: int) -> SafetyRule:
    """The rule the depression scales share for their item on thoughts of death or suicide: item
    `number` (as printed, from 1) scoring `min_score` or more flags suicidal ideation whatever the
    total, and left blank it needs a clinician's follow-up (KetaCare decision, clinical reference;
    each scale names its item and threshold with their source)."""
    return SafetyRule(number - 1, min_score, SUICIDAL_IDEATION, SAFETY_ITEM_MISSING)


@dataclass(frozen=True, slots=True)
class Score:
    instrument: str
    total: int | None
    band: str | None
    flags: tuple[str, ...]
    complete: bool
    item_scores: tuple[int | None, ...]
    prorated: bool = False
    note: str = ""
    extras: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "instrument": self.instrument,
            "total": self.total,
            "band": self.band,
            "flags": list(self.flags),
            "complete": self.complete,
        }


@dataclass(frozen=True, slots=True)
class Recall:
    """The period a scale's questions ask about, as its own published wording puts it (clinical
    reference section 2: every instrument carries its recall period as data). A score reflects
    this whole period, so a score taken soon after a treatment speaks mostly of the days before it
    (`clinical.outcomes.recall_caveat`)."""

    days: int | None  # None: the present moment, rated as things are now
    text: str  # finishes "These questions ask about ...": "the last 2 weeks"
    note: str = ""  # where some items ask about another period, or how raters use it

    def __post_init__(self) -> None:
        if self.days is not None and self.days <= 0:
            raise ValueError(f"a recall period is a positive number of days, not {self.days}")


PRESENT_MOMENT = Recall(None, "the present moment")


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    citation: str
    stem: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    max_total: int
    wording: Literal["shipped", "short labels"]
    licence: str
    recall: Recall
    # Who completes the scale. Only a scale declared "patient" (self-report) is offered to patients
    # (the portal, questionnaires sent home); any other is rated by the clinician, which is the safe
    # default: a patient cannot validly complete a clinician-rated scale (MADRS, CADSS, C-SSRS),
    # while a clinician may administer any scale.
    rater: Literal["patient", "clinician"] = "clinician"
    loinc_panel: str | None = None
    loinc_total: str | None = None
    # How many missing items the published manual allows to be prorated. The default, 0 (any
    # missing item leaves the total unscored), is the conservative reading where the manual or the
    # clinical reference gives no missing-item rule: GAD-7, EPDS, PCL-5, QIDS-SR16, MADRS, CADSS.
    prorate_max_missing: int = 0
    safety: tuple[SafetyRule, ...] = ()
    severe_bands: frozenset[str] = frozenset()
    total_rule: Callable[[Sequence[int]], int] | None = None
    # Lower is better on every scale here; these are the published remission thresholds, if any.
    remission_max: int | None = None

    @property
    def short_name(self) -> str:
        """The name without its expansion: "PHQ-9"."""
        return self.name.split(" (", 1)[0]

    @property
    def recall_days(self) -> int | None:
        return self.recall.days

    @property
    def recall_text(self) -> str:
        return self.recall.text

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.scored)

    @property
    def min_answers(self) -> int:
        return sum(1 for i in self.items if i.required) if self._optional_tail() else len(self.items)

    def _optional_tail(self) -> bool:
        seen_optional = False
        for item in self.items:
            if not item.required:
                seen_optional = True
            elif seen_optional:
                return False
        return seen_optional

    def band_for(self, total: int) -> str | None:
        for band in self.bands:
            if band.low <= total <= band.high:
                return band.name
        return None

    def validate(self, answers: Sequence[Answer]) -> tuple[Answer, ...]:
        count = len(answers)
        if not self.min_answers <= count <= len(self.items):
            expected = (
                str(len(self.items))
                if self.min_answers == len(self.items)
                else f"{self.min_answers} or {len(self.items)}"
            )
            raise ScoringError(f"{self.code} takes {expected} answers, got {count}")
        clean: list[Answer] = []
        for item, answer in zip(self.items, answers, strict=False):
            if answer is None:
                clean.append(None)
                continue
            if isinstance(answer, bool) or not isinstance(answer, int):
                raise ScoringError(f"{self.code} item {item.number}: answer {answer!r} is not a whole number")
            if not 0 <= answer <= item.max_position:
                raise ScoringError(
                    f"{self.code} item {item.number}: answer {answer} is out of range 0-{item.max_position}"
                )
            clean.append(answer)
        clean.extend([None] * (len(self.items) - count))
        return tuple(clean)

    def item_scores(self, answers: Sequence[Answer]) -> tuple[int | None, ...]:
        return tuple(
            None if a is None else item.options[a].score for item, a in zip(self.items, answers, strict=True)
        )

    def safety_flags(self, scores: Sequence[int | None]) -> list[str]:
        flags: list[str] = []
        for rule in self.safety:
            value = scores[rule.index]
            if value is None:
                if rule.missing_flag and rule.missing_flag not in flags:
                    flags.append(rule.missing_flag)
            elif value >= rule.min_score and rule.flag not in flags:
                flags.append(rule.flag)
        return flags

    def score(self, answers: Sequence[Answer]) -> Score:
        """Score a completed form. Raises ScoringError for answers that are not valid for this
        scale; an incomplete form is scored only as far as the manual allows, and says so."""
        clean = self.validate(answers)
        scores = self.item_scores(clean)
        flags = self.safety_flags(scores)
        scored = [s for item, s in zip(self.items, scores, strict=True) if item.scored]
        missing = sum(1 for s in scored if s is None)
        total: int | None
        prorated = False
        note = ""
        if missing == 0:
            total = self.total_rule(scored) if self.total_rule else sum(scored)  # type: ignore[arg-type]
        elif missing <= self.prorate_max_missing:
            answered = [s for s in scored if s is not None]
            total = round_half_up(Decimal(sum(answered)) * len(scored) / len(answered))
            prorated = True
            note = (
                f"{missing} item{'s' if missing > 1 else ''} missing: total prorated from the answered items"
            )
        else:
            total = None
            note = f"{missing} item{'s' if missing > 1 else ''} missing"
        band = self.band_for(total) if total is not None else None
        if band in self.severe_bands:
            flags.append(SEVERE_SYMPTOMS)
        return Score(
            instrument=self.code,
            total=total,
            band=band,
            flags=tuple(flags),
            complete=missing == 0,
            item_scores=scores,
            prorated=prorated,
            note=note,
        )


def options(*labels: str) -> tuple[Option, ...]:
    """Options scored by position: 0 for the first, 1 for the second ..."""
    return tuple(Option(label, n) for n, label in enumerate(labels))


def reversed_options(*labels: str) -> tuple[Option, ...]:
    """Options scored from the highest for the first to 0 for the last."""
    top = len(labels) - 1
    return tuple(Option(label, top - n) for n, label in enumerate(labels))
