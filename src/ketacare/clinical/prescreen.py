"""The short pre-screen a person answers when asking to talk to a doctor (public enquiry form).

The answers never refuse anyone: each one that matters becomes a line for the staff member who
calls back, naming what the doctor will need to look at. The questions follow the
contraindications of the clinical reference, section 5 (pregnancy; psychosis or mania;
uncontrolled hypertension; recent substance misuse) and the candidacy rules in
`contraindications.py`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


ANSWER_LABELS = {Answer.YES: "Yes", Answer.NO: "No", Answer.UNSURE: "Not sure"}


@dataclass(frozen=True, slots=True)
class Question:
    code: str
    text: str  # as the visitor reads it
    for_staff: str  # the line the caller reads when the answer is yes or not sure


QUESTIONS = (
    Question(
        "pregnancy",
        "Are you pregnant, or could you be, or are you breastfeeding?",
        "Pregnancy or breastfeeding possible: ketamine is not given in pregnancy (reference section 5).",
    ),
    Question(
        "psychosis",
        "Have you ever had psychosis, schizophrenia, or an episode of mania?",
        "Psychosis or mania in the history: a contraindication to weigh at the consultation.",
    ),
    Question(
        "blood_pressure",
        "Do you have high blood pressure that is not well controlled, or a heart condition?",
        "Blood pressure or heart condition: ketamine raises blood pressure; check control first.",
    ),
    Question(
        "substances",
        "In the last year, have you used street drugs, or had a problem with alcohol?",
        "Recent substance use: to discuss (misuse is a relative contraindication).",
    ),
)
BY_CODE = {q.code: q for q in QUESTIONS}


def for_staff(answers: dict[str, str]) -> list[str]:
    """The lines the answers shape for the caller: one for each yes or not sure, in order."""
    lines = []
    for q in QUESTIONS:
        given = answers.get(q.code)
        if given in (Answer.YES, Answer.UNSURE):
            lines.append(("" if given == Answer.YES else "(not sure) ") + q.for_staff)
    return lines
