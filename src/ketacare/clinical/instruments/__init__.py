"""Validated rating scales: items, options, scoring, bands, safety items, LOINC codes."""

from ketacare.clinical.instruments.base import Score, ScoringError
from ketacare.clinical.instruments.registry import CODES, INSTRUMENTS, UnknownInstrument, get

__all__ = ["CODES", "INSTRUMENTS", "Score", "ScoringError", "UnknownInstrument", "get"]
