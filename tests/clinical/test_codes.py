import pytest

from ketacare.clinical.codes import DIAGNOSES, DIAGNOSES_BY_CODE, Condition, UnknownDiagnosisCode, diagnosis


def test_curated_list_covers_the_reference_codes():
    expected = {
        "F32.0",
        "F32.1",
        "F32.2",
        "F32.3",
        "F32.4",
        "F32.5",
        "F32.9",
        "F32.A",
        "F33.0",
        "F33.1",
        "F33.2",
        "F33.3",
        "F33.40",
        "F33.41",
        "F33.42",
        "F33.9",
        "F53.0",
        "F43.10",
        "F43.11",
        "F43.12",
        "F41.1",
    }
    assert set(DIAGNOSES_BY_CODE) == expected
    assert len(DIAGNOSES) == len(expected)


def test_lookup_is_case_insensitive_and_knows_the_condition():
    assert diagnosis("f53.0").condition is Condition.POSTPARTUM_DEPRESSION
    assert diagnosis("F43.12").display == "Post-traumatic stress disorder, chronic"


def test_unknown_code_is_refused_with_the_code_named():
    with pytest.raises(UnknownDiagnosisCode, match="F99.9"):
        diagnosis("F99.9")
