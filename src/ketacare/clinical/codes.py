"""Curated diagnosis codes for the conditions a ketamine clinic treats.

ICD-10-CM codes and their display text: ICD-10-CM Tabular List of Diseases and Injuries, FY2025
(CDC National Center for Health Statistics), chapter 5 (F01-F99).
SNOMED CT concepts: SNOMED CT International Edition (370143000 major depressive disorder,
58703003 postpartum depression, 47505003 posttraumatic stress disorder, 21897009 generalized
anxiety disorder).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED_SYSTEM = "http://snomed.info/sct"


class Condition(StrEnum):
    """The presenting conditions KetaCare follows; each decides which scales fit."""

    DEPRESSION = "depression"
    POSTPARTUM_DEPRESSION = "postpartum_depression"
    PTSD = "ptsd"
    ANXIETY = "anxiety"


SNOMED_BY_CONDITION: dict[Condition, tuple[str, str]] = {
    Condition.DEPRESSION: ("370143000", "Major depressive disorder"),
    Condition.POSTPARTUM_DEPRESSION: ("58703003", "Postpartum depression"),
    Condition.PTSD: ("47505003", "Posttraumatic stress disorder"),
    Condition.ANXIETY: ("21897009", "Generalized anxiety disorder"),
}


@dataclass(frozen=True, slots=True)
class DiagnosisCode:
    code: str
    display: str
    condition: Condition

    @property
    def label(self) -> str:
        return f"{self.code} {self.display}"


_D = Condition.DEPRESSION
DIAGNOSES: tuple[DiagnosisCode, ...] = (
    DiagnosisCode("F32.0", "Major depressive disorder, single episode, mild", _D),
    DiagnosisCode("F32.1", "Major depressive disorder, single episode, moderate", _D),
    DiagnosisCode(
        "F32.2", "Major depressive disorder, single episode, severe without psychotic features", _D
    ),
    DiagnosisCode("F32.3", "Major depressive disorder, single episode, severe with psychotic features", _D),
    DiagnosisCode("F32.4", "Major depressive disorder, single episode, in partial remission", _D),
    DiagnosisCode("F32.5", "Major depressive disorder, single episode, in full remission", _D),
    DiagnosisCode("F32.9", "Major depressive disorder, single episode, unspecified", _D),
    DiagnosisCode("F32.A", "Depression, unspecified", _D),
    DiagnosisCode("F33.0", "Major depressive disorder, recurrent, mild", _D),
    DiagnosisCode("F33.1", "Major depressive disorder, recurrent, moderate", _D),
    DiagnosisCode("F33.2", "Major depressive disorder, recurrent, severe without psychotic features", _D),
    DiagnosisCode("F33.3", "Major depressive disorder, recurrent, severe with psychotic symptoms", _D),
    DiagnosisCode("F33.40", "Major depressive disorder, recurrent, in remission, unspecified", _D),
    DiagnosisCode("F33.41", "Major depressive disorder, recurrent, in partial remission", _D),
    DiagnosisCode("F33.42", "Major depressive disorder, recurrent, in full remission", _D),
    DiagnosisCode("F33.9", "Major depressive disorder, recurrent, unspecified", _D),
    DiagnosisCode("F53.0", "Postpartum depression", Condition.POSTPARTUM_DEPRESSION),
    DiagnosisCode("F43.10", "Post-traumatic stress disorder, unspecified", Condition.PTSD),
    DiagnosisCode("F43.11", "Post-traumatic stress disorder, acute", Condition.PTSD),
    DiagnosisCode("F43.12", "Post-traumatic stress disorder, chronic", Condition.PTSD),
    DiagnosisCode("F41.1", "Generalized anxiety disorder", Condition.ANXIETY),
)

DIAGNOSES_BY_CODE: dict[str, DiagnosisCode] = {d.code: d for d in DIAGNOSES}


class UnknownDiagnosisCode(ValueError):
    pass


def diagnosis(code: str) -> DiagnosisCode:
    """The curated diagnosis for an ICD-10-CM code, in any letter case."""
    try:
        return DIAGNOSES_BY_CODE[code.strip().upper()]
    except KeyError:
        raise UnknownDiagnosisCode(f"{code!r} is not in the clinic's list of ICD-10-CM codes") from None
