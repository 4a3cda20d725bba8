"""Synthetic score histories for the demo cohort and the benchmarks. Nothing here is real data.

Each patient gets a treatment timeline: a baseline a few days before the first infusion, six
infusions over about two weeks (a rating before each and one 4 hours after), then follow-ups weekly
for a month and every two weeks to three months. Roughly half respond quickly, some partially,
some not at all, and some responders relapse, so the charts and the outcome figures are meaningful.
History older than two weeks is stored as imported (no alerts are raised for history); flagged
responses from the last two weeks raise open alerts, as live entry would.
"""

from __future__ import annotations

import datetime
import functools
import random
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.bulk import bulk_insert
from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import Instrument
from ketacare.measures.models import (
    RESPONSE_BULK_COLUMNS,
    Context,
    QuestionnaireResponse,
    SafetyAlert,
    Source,
)
from ketacare.measures.services import alert_priority
from ketacare.patients.models import Diagnosis

INFUSION_DAYS = (0, 2, 4, 7, 9, 11)
# Day 14: the check three days after the course (its time point reads from 20 hours to 7 days
# after the last induction treatment, clinical reference section 2), then weekly and fortnightly.
FOLLOW_UP_DAYS = (14, 18, 25, 32, 39, 53, 67, 81, 95)
POST_SESSION_MINUTES = 240
LIVE_WINDOW = datetime.timedelta(days=14)

SCALES_BY_PRIMARY = {
    "F53.0": ("epds", "phq9"),
    "F43.10": ("pcl5", "phq9"),
    "F43.11": ("pcl5", "phq9"),
    "F43.12": ("pcl5", "phq9"),
    "F41.1": ("gad7",),
}
DEFAULT_SCALES = ("phq9",)


class _Shape:
    """Per scale, what answer generation needs, computed once: where each item's score units can
    go, and which option position gives each score."""

    def __init__(self, scale: Instrument) -> None:
        self.scale = scale
        self.safety_index = scale.safety[0].index if scale.safety else None
        self.slots = [
            i
            for i, item in enumerate(scale.items)
            if item.scored and i != self.safety_index
            for _ in range(item.max_position)
        ]
        self.position_of = [{o.score: n for n, o in enumerate(item.options)} for item in scale.items]
        self.unscored = [(i, len(item.options)) for i, item in enumerate(scale.items) if not item.scored]


def _answers_for(shape: _Shape, total: int, rng: random.Random, safety_positive: bool) -> list[int]:
    """Item answers (positions) whose scored total is `total` (summed scales)."""
    scores = [0] * len(shape.scale.items)
    if safety_positive and shape.safety_index is not None:
        scores[shape.safety_index] = 1
        total -= 1
    for i in rng.sample(shape.slots, min(max(0, total), len(shape.slots))):
        scores[i] += 1
    for i, count in shape.unscored:
        scores[i] = rng.randrange(count)
    return [shape.position_of[i][score] for i, score in enumerate(scores)]


def _timeline(
    rng: random.Random, start: datetime.datetime
) -> Iterator[tuple[datetime.datetime, str, int | None, str]]:
    """(when, context, minutes after dose, phase) for every rating of one patient."""
    yield start - datetime.timedelta(days=rng.randint(3, 10)), Context.BASELINE, None, "baseline"
    for n, day in enumerate(INFUSION_DAYS):
        when = start + datetime.timedelta(days=day, hours=rng.choice((8, 9, 10, 13)))
        yield when, Context.PRE_SESSION, None, f"infusion{n}"
        yield (
            when + datetime.timedelta(minutes=POST_SESSION_MINUTES),
            Context.POST_SESSION,
            POST_SESSION_MINUTES,
            f"post{n}",
        )
    for day in FOLLOW_UP_DAYS:
        yield (
            start + datetime.timedelta(days=day, hours=rng.randint(7, 20)),
            Context.FOLLOW_UP,
            None,
            f"day{day}",
        )


def _fraction(kind: str, phase: str, rng: random.Random, relapse_day: int | None) -> float:
    """The share of the baseline score left at this point of the course."""
    if phase == "baseline":
        return 1.0
    if phase.startswith(("infusion", "post")):
        n = int(phase[-1]) + (1 if phase.startswith("post") else 0)
    else:
        n = 7
    target = {"rapid": 0.3, "partial": 0.62, "none": 0.9}[kind]
    progress = min(1.0, n / (1.25 if kind == "rapid" else 5))
    fraction = 1 - (1 - target) * progress
    if phase.startswith("day") and relapse_day is not None and int(phase[3:]) >= relapse_day:
        fraction = min(1.0, fraction + 0.45)
    return max(0.0, fraction + rng.gauss(0, 0.07))


@functools.cache
def _shape(code: str) -> _Shape:
    return _Shape(instruments.get(code))


def seed_histories(
    *, patient_ids: list[int], seed: int, actor: Actor | None = None, now: datetime.datetime | None = None
) -> int:
    """Score histories for these patients, in one transaction. Returns the number of responses."""
    actor = actor or Actor.command("seed-demo")
    rng = random.Random(seed)
    now = now or timezone.now()
    primaries = dict(
        Diagnosis.objects.filter(patient_id__in=patient_ids, is_primary=True).values_list(
            "patient_id", "code"
        )
    )
    made = 0
    with transaction.atomic():
        for start in range(0, len(patient_ids), 2000):
            made += _seed_batch(patient_ids[start : start + 2000], primaries, rng, now, actor)
    return made


def _seed_batch(
    patient_ids: list[int],
    primaries: dict[int, str],
    rng: random.Random,
    now: datetime.datetime,
    actor: Actor,
) -> int:
    rows: list[tuple[object, ...]] = []
    live: list[tuple[int, str, datetime.datetime, list[str], int]] = []  # recent flagged responses
    counts: dict[int, int] = {}
    for pid in patient_ids:
        scales = SCALES_BY_PRIMARY.get(primaries.get(pid, ""), DEFAULT_SCALES)
        kind = rng.choices(("rapid", "partial", "none"), weights=(50, 20, 30))[0]
        relapse_day = rng.choice(FOLLOW_UP_DAYS[3:]) if kind == "rapid" and rng.random() < 0.35 else None
        # Midnight, clinic time, of the first infusion day: the ratings then fall at clinic hours
        # whatever the time the demo is seeded at (never across midnight onto another day).
        first_day = timezone.localdate(now) - datetime.timedelta(days=rng.randint(20, 200))
        first_infusion = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time()))
        # One timeline for all the patient's scales: they are filled in together, so every
        # pre-session rating comes before that session's dose, whichever scale it is.
        timeline = list(_timeline(rng, first_infusion))
        for code in scales:
            shape = _shape(code)
            scale = shape.scale
            baseline = min(
                scale.max_total, max(scale.max_total // 3, round(rng.gauss(0.62, 0.12) * scale.max_total))
            )
            for when, context, minutes, phase in timeline:
                if when > now:
                    break
                total = min(scale.max_total, round(baseline * _fraction(kind, phase, rng, relapse_day)))
                suicidal = code in ("phq9", "epds") and total >= 0.6 * scale.max_total and rng.random() < 0.12
                answers = _answers_for(shape, total, rng, suicidal)
                score = scale.score(answers)
                recent = now - when < LIVE_WINDOW
                rows.append(
                    (
                        pid,
                        code,
                        answers,
                        list(score.item_scores),
                        score.total,
                        score.band or "",
                        list(score.flags),
                        score.complete,
                        score.prorated,
                        context,
                        minutes,
                        when,
                        Source.STAFF if recent else Source.IMPORT,
                        when,
                    )
                )
                priority = alert_priority(score.flags)
                if recent and priority is not None:
                    live.append((pid, code, when, list(score.flags), priority))
                counts[pid] = counts.get(pid, 0) + 1
    bulk_insert(QuestionnaireResponse, RESPONSE_BULK_COLUMNS, rows)
    if live:
        just_made = QuestionnaireResponse.objects.filter(
            patient_id__in={pid for pid, *_ in live}, administered_at__gte=now - LIVE_WINDOW
        ).values_list("id", "patient_id", "instrument", "administered_at")
        ids = {(pid, code, at): rid for rid, pid, code, at in just_made}
        SafetyAlert.objects.bulk_create(
            [
                SafetyAlert(
                    patient_id=pid,
                    response_id=ids[(pid, code, when)],
                    flags=flags,
                    priority=priority,
                    created_at=when,
                )
                for pid, code, when, flags, priority in live
            ]
        )
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(
                Action.CREATE,
                "measures.questionnaireresponse",
                "",
                pid,
                {"source": "seed-demo", "responses": n},
            )
            for pid, n in counts.items()
        ],
    )
    return len(rows)
