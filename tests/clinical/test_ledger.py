"""The controlled-substance record rules (clinical reference section 6), worked by hand: DEA
registration numbers, the biennial inventory, the arithmetic of a lot's stock, and how a quantity
reads on the book."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import ledger as rules
from ketacare.clinical.ledger import Kind, Movement

FORMAT = "A DEA number is two letters and seven digits, such as AB1234563."
MISTYPED = "The check digit does not match: the DEA number has been mistyped."


# --- DEA registration numbers


@pytest.mark.parametrize(
    ("number", "worked"),
    [
        ("AB1234563", "1+3+5=9, 2x(2+4+6)=24, 33 -> 3"),
        ("MS9876547", "9+7+5=21, 2x(8+6+4)=36, 57 -> 7"),
        ("PH1234563", "a distributor: same digits as AB1234563"),
        ("BX0000000", "0+0+0, 2x0, 0 -> 0"),
        ("A91234563", "a business whose name starts with a number: 9 as the second character"),
        ("FJ4512390", "4+1+3=8, 2x(5+2+9)=32, 40 -> 0"),
    ],
)
def test_a_dea_number_whose_check_digit_works_out_by_hand_is_valid(number, worked):
    assert rules.dea_number_problem(number) is None, worked


def test_a_dea_number_typed_in_lower_case_with_spaces_is_read_as_printed():
    assert rules.dea_number_problem("  ab1234563 ") is None


@pytest.mark.parametrize(
    "number",
    [
        "AB1234564",  # the check digit is 3
        "AB1234560",
        "AB2134563",  # digits 1 and 2 swapped: 2+3+5=10, 2x(1+4+6)=22, 32 -> 2, not 3
        "MS9876548",
        "FJ4512398",
    ],
)
def test_a_mistyped_dea_number_fails_its_check_digit(number):
    assert rules.dea_number_problem(number) == MISTYPED


@pytest.mark.parametrize("letter", ["I", "N", "O", "Q", "V", "W", "Y", "Z"])
def test_a_first_letter_that_is_no_registrant_type_is_named(letter):
    assert rules.dea_number_problem(f"{letter}B1234563") == (
        f"{letter} is not a DEA registrant type: the number's first letter is wrong."
    )


@pytest.mark.parametrize(
    "number",
    [
        "",
        "AB123456",  # six digits
        "AB12345634",  # eight digits
        "A1234563",  # one letter
        "ABC123456",  # three letters
        "A81234563",  # the second character is a letter or 9, nothing else
        "1B1234563",
        "AB123456X",
        "AB 1234563",
    ],
)
def test_a_dea_number_of_the_wrong_shape_is_refused_with_an_example(number):
    assert rules.dea_number_problem(number) == FORMAT


@given(
    kind=st.sampled_from(sorted(rules.DEA_TYPES)),
    second=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ9"),
    digits=st.text("0123456789", min_size=6, max_size=6),
)
def test_exactly_one_check_digit_completes_any_six_digits(kind, second, digits):
    valid = [d for d in "0123456789" if rules.dea_number_problem(f"{kind}{second}{digits}{d}") is None]
    assert len(valid) == 1
    others = set("0123456789") - set(valid)
    assert all(rules.dea_number_problem(f"{kind}{second}{digits}{d}") == MISTYPED for d in others)


# --- the biennial inventory (21 CFR 1304.11(c)): due 24 months after the last, warned from 23


@pytest.mark.parametrize(
    ("today", "warning", "overdue"),
    [
        (datetime.date(2026, 2, 14), False, False),  # the day before the 23-month warning
        (datetime.date(2026, 2, 15), True, False),  # 23 months: the warning starts
        (datetime.date(2026, 3, 14), True, False),
        (datetime.date(2026, 3, 15), True, False),  # 24 months: due today, not yet overdue
        (datetime.date(2026, 3, 16), False, True),  # a day late
        (datetime.date(2024, 3, 15), False, False),  # the day of the inventory itself
    ],
)
def test_the_next_inventory_is_warned_at_23_months_and_overdue_after_24(today, warning, overdue):
    due = rules.inventory_due(datetime.date(2024, 3, 15), today)
    assert due == rules.InventoryDue(
        due_on=datetime.date(2026, 3, 15),
        warn_from=datetime.date(2026, 2, 15),
        overdue=overdue,
        warning=warning,
    )


@pytest.mark.parametrize(
    ("last", "warn_from", "due_on"),
    [
        # the 31st of a month without one: its last day
        (datetime.date(2024, 3, 31), datetime.date(2026, 2, 28), datetime.date(2026, 3, 31)),
        (datetime.date(2022, 5, 31), datetime.date(2024, 4, 30), datetime.date(2024, 5, 31)),
        (datetime.date(2024, 1, 31), datetime.date(2025, 12, 31), datetime.date(2026, 1, 31)),
        # 29 February: 28 February two years on (not a leap year)
        (datetime.date(2024, 2, 29), datetime.date(2026, 1, 29), datetime.date(2026, 2, 28)),
        # the 30th a month before a leap February: 29 February
        (datetime.date(2022, 3, 30), datetime.date(2024, 2, 29), datetime.date(2024, 3, 30)),
        # across the end of a year
        (datetime.date(2023, 12, 10), datetime.date(2025, 11, 10), datetime.date(2025, 12, 10)),
        (datetime.date(2024, 1, 5), datetime.date(2025, 12, 5), datetime.date(2026, 1, 5)),
    ],
)
def test_inventory_dates_at_the_ends_of_months(last, warn_from, due_on):
    due = rules.inventory_due(last, last)
    assert (due.warn_from, due.due_on) == (warn_from, due_on)
    assert rules.inventory_due(last, warn_from - datetime.timedelta(days=1)).warning is False
    assert rules.inventory_due(last, warn_from).warning is True
    assert rules.inventory_due(last, due_on).overdue is False
    assert rules.inventory_due(last, due_on + datetime.timedelta(days=1)).overdue is True


@given(last=st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2090, 12, 31)))
def test_the_inventory_is_due_in_the_same_calendar_month_two_years_on(last):
    due = rules.inventory_due(last, last)
    assert (due.due_on.year, due.due_on.month) == (last.year + 2, last.month)
    assert due.due_on.day == last.day or due.due_on.day < last.day  # cut to the month's last day
    assert (due.due_on + datetime.timedelta(days=1)).month != due.due_on.month or due.due_on.day == last.day
    assert 700 <= (due.due_on - last).days <= 731
    assert 0 < (due.due_on - due.warn_from).days <= 31
    assert (due.overdue, due.warning) == (False, False)


# --- the arithmetic of a lot


def _moves(*pairs: tuple[Kind, str]) -> list[Movement]:
    return [Movement(kind, D(q)) for kind, q in pairs]


def test_replay_gives_the_running_balance_of_a_lot():
    moves = _moves(
        (Kind.INVENTORY, "1000"),  # the initial inventory: 2 vials of 50 mg/mL x 10 mL
        (Kind.RECEIPT, "500"),
        (Kind.ADMINISTRATION, "-40"),
        (Kind.WASTE, "-0.5"),
        (Kind.COUNT, "0"),
        (Kind.CORRECTION, "0.5"),  # the waste entered in error, reversed
        (Kind.LOSS, "-500"),
    )
    assert rules.replay(moves) == [D(1000), D(1500), D(1460), D("1459.5"), D("1459.5"), D(1460), D(960)]


def test_replay_starts_from_the_opening_balance():
    assert rules.replay(_moves((Kind.ADMINISTRATION, "-56")), opening_mg=D(112)) == [D(56)]


def test_replay_refuses_the_first_movement_that_takes_the_lot_below_zero():
    moves = _moves((Kind.RECEIPT, "100"), (Kind.ADMINISTRATION, "-100"), (Kind.WASTE, "-0.0001"))
    with pytest.raises(ValueError, match=r"^entry 2: the lot holds 0\.0000 mg, not enough$"):
        rules.replay(moves)
    with pytest.raises(ValueError, match=r"^entry 0: the lot holds 20\.0000 mg, not enough$"):
        rules.replay(_moves((Kind.LOSS, "-20.0001")), opening_mg=D(20))


def test_a_correction_cannot_reverse_a_receipt_already_given():
    moves = _moves((Kind.RECEIPT, "500"), (Kind.ADMINISTRATION, "-40"), (Kind.CORRECTION, "-500"))
    with pytest.raises(ValueError, match=r"^entry 2: the lot holds 460 mg, not enough$"):
        rules.replay(moves)


@pytest.mark.parametrize("kind", [Kind.ADMINISTRATION, Kind.WASTE, Kind.LOSS])
def test_a_disposition_with_a_positive_quantity_is_refused(kind):
    with pytest.raises(ValueError, match=f"^entry 1: a {kind} takes stock out: its quantity is negative$"):
        rules.replay(_moves((Kind.RECEIPT, "500"), (kind, "40")))


_IN = st.decimals(min_value=D("0.0001"), max_value=D(5000), places=4)
_MOVEMENT = st.one_of(
    st.builds(Movement, st.sampled_from([Kind.RECEIPT, Kind.CORRECTION]), _IN),
    st.builds(Movement, st.sampled_from(sorted(rules.DISPOSITIONS)), _IN.map(lambda q: -q)),
    st.builds(Movement, st.sampled_from([Kind.CORRECTION]), _IN.map(lambda q: -q)),
    st.builds(Movement, st.sampled_from([Kind.COUNT, Kind.INVENTORY]), st.just(D(0))),
)


@given(opening=st.decimals(min_value=0, max_value=D(2000), places=4), moves=st.lists(_MOVEMENT, max_size=30))
def test_the_balance_is_the_sum_of_the_movements_and_never_below_zero(opening, moves):
    running, sums = opening, []
    for move in moves:
        running += move.quantity_mg
        sums.append(running)
    first_negative = next((i for i, s in enumerate(sums) if s < 0), None)
    if first_negative is None:
        balances = rules.replay(moves, opening_mg=opening)
        assert balances == sums
        assert all(b >= 0 for b in balances)
    else:
        with pytest.raises(ValueError, match=f"^entry {first_negative}: "):
            rules.replay(moves, opening_mg=opening)


# --- quantities as the book shows them


@pytest.mark.parametrize(
    ("quantity", "concentration", "text"),
    [
        (D(35), D(50), "35 mg (0.70 mL)"),
        (D("40.0000"), D("50.000"), "40 mg (0.80 mL)"),  # as stored: 4 and 3 decimal places
        (D(1000), D(50), "1000 mg (20.00 mL)"),
        (D("0.5"), D(10), "0.5 mg (0.05 mL)"),
        (D("0.3333"), D(10), "0.3333 mg (0.03 mL)"),
        (D(56), None, "56 mg (2 devices)"),
        (D(28), None, "28 mg (1 device)"),
        (D("28.0000"), None, "28 mg (1 device)"),
        (D(30), None, "30 mg"),  # not a whole number of devices
    ],
)
def test_a_quantity_reads_in_mg_with_its_volume_or_devices(quantity, concentration, text):
    assert rules.describe_quantity(quantity, concentration) == text


def test_mg_and_ml_round_half_up_to_their_precision():
    assert rules.mg("0.00005") == D("0.0001")
    assert rules.mg("0.00004") == D("0.0000")
    assert rules.mg(40) == D("40.0000")
    assert rules.ml_of(D("0.125"), D(50)) == D("0.00")  # 0.0025 mL
    assert rules.ml_of(D("0.25"), D(50)) == D("0.01")  # 0.005 mL rounds up
    assert rules.ml_of(D(56), None) is None


def test_a_count_below_the_book_is_a_negative_discrepancy():
    assert rules.discrepancy_mg(book_mg=D(500), counted_mg=D(480)) == D(-20)
    assert rules.discrepancy_mg(book_mg=D(500), counted_mg=D(500)) == D(0)


def test_an_opened_multi_dose_vial_is_used_for_28_days():
    assert rules.beyond_use_on(datetime.date(2026, 1, 10)) == datetime.date(2026, 2, 7)
    assert rules.beyond_use_on(datetime.date(2026, 1, 10), days=14) == datetime.date(2026, 1, 24)


def test_the_written_notice_of_a_theft_is_due_the_next_business_day():
    # 21 CFR 1301.76(b): one business day after discovery; Form 106 within 45 days.
    thursday, friday, saturday = (
        datetime.date(2026, 12, 3),
        datetime.date(2026, 12, 4),
        datetime.date(2026, 12, 5),
    )
    assert rules.incident_deadlines(thursday) == rules.IncidentDeadlines(
        notice_due=friday, form_106_due=datetime.date(2027, 1, 17)
    )
    assert rules.incident_deadlines(friday).notice_due == datetime.date(2026, 12, 7)  # the Monday
    assert rules.incident_deadlines(saturday).notice_due == datetime.date(2026, 12, 7)
    assert rules.incident_deadlines(saturday).form_106_due == datetime.date(2027, 1, 19)


@given(st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2099, 12, 31)))
def test_the_notice_is_always_due_on_a_weekday_within_three_days(day):
    due = rules.business_days_after(day, 1)
    assert due.weekday() < 5
    assert 1 <= (due - day).days <= 3
