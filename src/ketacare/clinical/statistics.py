"""The statistics the outcome figures use, in numpy.

- Proportions carry a Wilson score 95% interval (Wilson 1927; recommended over the Wald interval
  for small samples and rates near 0 or 1: Brown, Cai & DasGupta 2001), by its formula (the
  same as `scipy.stats.binomtest(...).proportion_ci(method="wilson")`, checked in the tests).
- Durability is a Kaplan-Meier estimate (Kaplan & Meier 1958) on right-censored data, with
  Greenwood's variance and the exponential (log(-log)) 95% band (Kalbfleisch & Prentice 2002), the
  median and its 95% interval (Brookmeyer & Crowley 1982: where the band crosses one half) and the
  number at risk. It is the product-limit formula as `scipy.stats.ecdf` computes it, checked
  against SciPy in the tests: a dozen lines here spare every fresh process (`ketacare outcomes
  --json`, a new server worker) the second that importing scipy.stats costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CONFIDENCE = 0.95
Z95 = 1.959963984540054  # the standard normal quantile of 0.975: scipy.stats.norm.ppf(0.975)


@dataclass(frozen=True, slots=True)
class Proportion:
    events: int
    n: int
    rate: float | None
    ci95: tuple[float, float] | None

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "events": self.events,
            "rate": _round(self.rate),
            "ci95": None if self.ci95 is None else [_round(self.ci95[0]), _round(self.ci95[1])],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def wilson(events: int, n: int) -> Proportion:
    """The proportion and its Wilson 95% interval; no rate and no interval when n is 0."""
    if n < 0 or not 0 <= events <= n:
        raise ValueError(f"need 0 <= events <= n, got {events} of {n}")
    if n == 0:
        return Proportion(0, 0, None, None)
    # Wilson 1927: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n). SciPy's binomtest gives
    # the same interval but computes an exact test with it, 60 times a page: the formula alone.
    p, z2 = events / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Proportion(events, n, p, (max(0.0, centre - half), min(1.0, centre + half)))


@dataclass(frozen=True)
class Survival:
    """A Kaplan-Meier curve: step times (days) with the survival (here: still responding), its 95%
    band, and the number at risk at chosen times."""

    label: str
    n: int
    events: int
    times: npt.NDArray[np.float64]
    survival: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    median: float | None  # the first time S(t) <= 0.5; None: not reached
    median_ci95: tuple[float | None, float | None]
    at_risk: tuple[tuple[float, int], ...]

    def at(self, day: float) -> float:
        """Survival at `day` (the step function, right-continuous)."""
        index = int(np.searchsorted(self.times, day, side="right")) - 1
        return float(self.survival[max(index, 0)])


def _finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else float(value)


def kaplan_meier(
    durations: Sequence[float] | npt.NDArray[np.float64],
    events: Sequence[bool] | npt.NDArray[np.bool_],
    *,
    label: str,
    risk_times: Sequence[float] = (0, 14, 28, 56, 84, 112, 168),
) -> Survival:
    """Kaplan-Meier estimate of time to the event; `events` False means censored."""
    durations = np.asarray(durations, dtype=np.float64)
    observed = np.asarray(events, dtype=bool)
    if len(durations) == 0:
        empty = np.zeros(0)
        return Survival(label, 0, 0, empty, empty, empty, empty, None, (None, None), ())
    if not observed.any():  # no event: the curve stays at 1, its band too
        times = np.unique(np.r_[0.0, durations])
        ones = np.ones(len(times))
        at_risk = tuple((float(t), int((durations >= t).sum())) for t in risk_times)
        return Survival(label, len(durations), 0, times, ones, ones, ones, None, (None, None), at_risk)
    steps, sf, low, high = _product_limit(durations, observed)
    # From time 0 (still responding), then each distinct time, as a step function.
    times = np.unique(np.r_[0.0, durations])
    survival, lower, upper = (_step(steps, values, times) for values in (sf, low, high))
    # The log(-log) band is undefined where the curve is 1 (no event yet) or 0: it is the curve.
    lower = np.where(np.isnan(lower), survival, lower)
    upper = np.where(np.isnan(upper), survival, upper)
    at_risk = tuple((float(t), int((durations >= t).sum())) for t in risk_times)
    return Survival(
        label=label,
        n=len(durations),
        events=int(observed.sum()),
        times=times,
        survival=survival,
        lower=lower,
        upper=upper,
        median=_first_at_or_below_half(times, survival),
        median_ci95=(_first_at_or_below_half(times, lower), _first_at_or_below_half(times, upper)),
        at_risk=at_risk,
    )


def _product_limit(
    durations: npt.NDArray[np.float64], observed: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], ...]:
    """At each distinct time: the Kaplan-Meier survival and its log(-log) 95% band (NaN where the
    band is undefined: a survival of 1 or 0)."""
    order = np.argsort(durations, kind="stable")
    ordered, died = durations[order], observed[order].astype(np.int64)
    at_risk = np.arange(len(ordered), 0, -1)
    first = np.diff(ordered, prepend=-np.inf) > 0  # the first of each distinct time ...
    last = np.diff(ordered, append=np.inf) > 0  # ... and the last
    times, n = ordered[first], at_risk[first]
    d = np.diff(np.cumsum(died)[last], prepend=0)  # events at each distinct time
    sf = np.cumprod((n - d) / n).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Greenwood's variance on the log(-log) scale.
        se = np.sqrt(np.cumsum(d / (n * (n - d))) / np.log(sf) ** 2)
        centre = np.log(-np.log(sf))
    low: npt.NDArray[np.float64] = np.clip(np.exp(-np.exp(centre + Z95 * se)), 0, 1)
    high: npt.NDArray[np.float64] = np.clip(np.exp(-np.exp(centre - Z95 * se)), 0, 1)
    return times, sf, low, high


def _step(
    times: npt.NDArray[np.float64], values: npt.NDArray[np.float64], at: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """A right-continuous step function through (times, values), 1 before the first time."""
    index = np.searchsorted(times, at, side="right") - 1
    return np.where(index >= 0, values[np.maximum(index, 0)], 1.0)


def _first_at_or_below_half(times: npt.NDArray[np.float64], curve: npt.NDArray[np.float64]) -> float | None:
    """The first time a curve falls to one half or below (None: it never does)."""
    below = np.flatnonzero(curve <= 0.5)
    return float(times[below[0]]) if len(below) else None
