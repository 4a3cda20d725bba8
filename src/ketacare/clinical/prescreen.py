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
        "Pregnancy or breastfeeding possible: ketamine and esketamine are not given in pregnancy or "
        "while breastfeeding (consultation checklist: pregnancy, breastfeeding).",
    ),
    Question(
        "psychosis",
        "Have you ever been told you had psychosis (for example, hearing voices others cannot hear), "
        "schizophrenia, or bipolar disorder or mania (days of very high energy with little sleep)?",
        "Psychosis or mania in the history: current or recent psychosis or mania rules ketamine out, "
        "and past mania needs a mood stabiliser (consultation checklist).",
    ),
    Question(
        "blood_pressure",
        "Do you have high blood pressure that is not well controlled, a heart condition, an "
        "aneurysm (a bulging blood vessel), or have you ever had a stroke or bleeding in the brain?",
        "Blood pressure, heart, aneurysm or brain bleed: ketamine raises blood pressure; aneurysm, "
        "arteriovenous malformation and brain bleeding are contraindications (consultation checklist).",
    ),
    Question(
        "substances",
        "In the last year, have you used drugs not prescribed to you (including ketamine), or has "
        "alcohol been a problem for you?",
        "Recent substance use: a current substance use disorder is a contraindication to weigh "
        "(consultation checklist).",
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
