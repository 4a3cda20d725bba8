"""Answers typed as text: "0,1,2,,3" (an empty place is a missing item)."""

from __future__ import annotations

from ketacare.clinical.instruments.base import Answer, ScoringError


def parse_answers(text: str) -> list[Answer]:
    answers: list[Answer] = []
    for position, part in enumerate(text.split(","), start=1):
        part = part.strip()
        if part == "":
            answers.append(None)
        elif part.isdecimal():
            answers.append(int(part))
        else:
            raise ScoringError(f"answer {position} is {part!r}, not a whole number or empty")
    return answers
