"""Wilson intervals against values worked by hand from the formula, and a Kaplan-Meier estimate
against a hand-computed example."""

from __future__ import annotations

import math

import pytest

from ketacare.clinical.statistics import kaplan_meier, wilson


@pytest.mark.parametrize(
    ("events", "n", "low", "high"),
    [
        # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.95996 (Wilson 1927)
        (7, 10, 0.3968, 0.8922),
        (4, 5, 0.3755, 0.9638),
        (4, 4, 0.5101, 1.0),
        (0, 4, 0.0, 0.4899),
        (62, 172, 0.2925, 0.4345),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_interval_matches_the_formula(events, n, low, high):
    result = wilson(events, n)
    assert result.rate == pytest.approx(events / n)
    assert result.ci95 == pytest.approx((low, high), abs=5e-5)


def test_wilson_stays_inside_0_to_1_and_is_empty_without_patients():
    assert wilson(0, 0).rate is None
    assert wilson(0, 0).ci95 is None
    assert wilson(0, 0).as_json() == {"n": 0, "events": 0, "rate": None, "ci95": None}
    with pytest.raises(ValueError, match="0 <= events <= n"):
        wilson(5, 4)


def test_kaplan_meier_against_a_hand_computed_example():
    # Days from response to relapse (True) or last score (False):
    #   3 relapse, 5 censored, 8 relapse, 8 relapse, 12 censored, 15 relapse
    # t=3: 6 at risk, 1 event -> S = 5/6 = 0.8333
    # t=8: 4 at risk (5 censored before), 2 events -> S = 0.8333 * 2/4 = 0.4167
    # t=15: 1 at risk, 1 event -> S = 0
    # Median: the first time S <= 0.5 -> 8 days.
    curve = kaplan_meier(
        [3, 5, 8, 8, 12, 15], [True, False, True, True, False, True], label="x", risk_times=(0, 6, 10)
    )
    assert curve.at(2.9) == pytest.approx(1.0)
    assert curve.at(3) == pytest.approx(5 / 6)
    assert curve.at(7) == pytest.approx(5 / 6)
    assert curve.at(8) == pytest.approx(5 / 12)
    assert curve.at(14) == pytest.approx(5 / 12)
    assert curve.at(15) == pytest.approx(0.0)
    assert curve.median == 8
    assert curve.at_risk == ((0, 6), (6, 4), (10, 2))
    assert (curve.n, curve.events) == (6, 4)
    # Greenwood's variance with the log(-log) band at day 3: S = 5/6, var term = 1/(6*5).
    s = 5 / 6
    se = math.sqrt(1 / 30) / abs(math.log(s))
    low = s ** math.exp(1.959964 * se)
    assert curve.lower[list(curve.times).index(3.0)] == pytest.approx(low, abs=1e-4)


def test_median_not_reached_is_none():
    curve = kaplan_meier([10, 20, 30, 40], [False, True, False, False], label="x")  # S falls to 2/3
    assert curve.median is None
    assert kaplan_meier([], [], label="none").n == 0


def test_the_median_is_the_first_time_half_or_fewer_are_still_responding():
    # 2 relapse at days 4 and 6 of 4 patients (the other two censored at 9 and 12): S(6) = 0.5
    # exactly, so the median is day 6, the smallest t with S(t) <= 0.5 (Kaplan & Meier's median).
    curve = kaplan_meier([4, 6, 9, 12], [True, True, False, False], label="x")
    assert curve.at(6) == pytest.approx(0.5)
    assert curve.median == 6


def test_wilson_and_the_band_match_the_formulas_at_a_second_point():
    # 0 of 3: upper end z²/3 / (1 + z²/3) = 1.2805 / 2.2805 = 0.5615.
    assert wilson(0, 3).ci95 == pytest.approx((0.0, 0.5615), abs=5e-5)


@pytest.mark.parametrize(("events", "n"), [(0, 1), (1, 3), (33641, 86761), (17, 17), (5, 250)])
def test_wilson_agrees_with_scipy(events, n):
    from scipy.stats import binomtest, norm

    from ketacare.clinical.statistics import Z95

    assert norm.ppf(0.975) == pytest.approx(Z95, abs=1e-12)
    ci = binomtest(events, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(events, n).ci95 == pytest.approx((ci.low, ci.high), abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_kaplan_meier_agrees_with_scipy_on_censored_data_with_ties(seed):
    """The product-limit curve and its log(-log) band, point by point, as scipy.stats.ecdf gives
    them (ties between events, between censorings, and between the two; a curve falling to 0)."""
    import warnings

    import numpy as np
    from scipy.stats import CensoredData, ecdf

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    durations = rng.integers(0, 40, size=n).astype(float)  # whole days: many ties
    events = rng.random(n) < (0.3 + 0.6 * rng.random())
    if seed == 0:
        events[:] = True  # every patient relapses: the curve reaches 0
    if not events.any():
        events[0] = True
    curve = kaplan_meier(durations, events, label="x")
    sf = ecdf(CensoredData(uncensored=durations[events], right=durations[~events])).sf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(confidence_level=0.95, method="log-log")
    expected = sf.evaluate(curve.times)
    low, high = band.low.evaluate(curve.times), band.high.evaluate(curve.times)
    low, high = np.where(np.isnan(low), expected, low), np.where(np.isnan(high), expected, high)
    assert curve.survival == pytest.approx(expected, abs=1e-12)
    assert curve.lower == pytest.approx(low, abs=1e-12)
    assert curve.upper == pytest.approx(high, abs=1e-12)
