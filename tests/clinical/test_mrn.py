import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical.mrn import format_mrn, is_valid_mrn, luhn_check_digit, normalise_mrn


def test_luhn_check_digit_matches_the_published_example():
    # ISO/IEC 7812-1 worked example: 7992739871 has check digit 3.
    assert luhn_check_digit("7992739871") == 3


def test_mrn_has_prefix_serial_and_check_digit():
    assert format_mrn(1) == "KC00000018"
    assert is_valid_mrn("KC00000018")
    assert is_valid_mrn(" kc00000018 ")


@pytest.mark.parametrize("serial", [0, -1, 10_000_000])
def test_serial_out_of_range_is_refused(serial):
    with pytest.raises(ValueError, match="outside"):
        format_mrn(serial)


@given(
    st.integers(min_value=1, max_value=9_999_999), st.integers(min_value=2, max_value=9), st.integers(1, 9)
)
def test_any_single_digit_typo_makes_the_mrn_invalid(serial, position, delta):
    mrn = format_mrn(serial)
    digit = (int(mrn[position]) + delta) % 10
    typo = mrn[:position] + str(digit) + mrn[position + 1 :]
    assert is_valid_mrn(mrn)
    assert not is_valid_mrn(typo)


def test_normalise_strips_spaces_and_dashes():
    assert normalise_mrn("kc-0000 0018") == "KC00000018"
