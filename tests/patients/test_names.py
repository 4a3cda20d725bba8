from hypothesis import given
from hypothesis import strategies as st

from ketacare.patients.names import name_key, prefix_upper_bound


def test_name_key_folds_case_accents_and_punctuation():
    assert name_key("O'Brien") == "obrien"
    assert name_key("  de la Cruz-Müller ") == "delacruzmuller"
    assert name_key("STRASSE") == name_key("Straße")


def test_name_key_keeps_letters_of_other_scripts():
    assert name_key("李 小龍") == "李小龍"


@given(st.text(min_size=1, max_size=8), st.text(max_size=8))
def test_every_string_with_the_prefix_sorts_inside_the_range(prefix, rest):
    candidate = prefix + rest
    assert prefix <= candidate < prefix_upper_bound(prefix)
