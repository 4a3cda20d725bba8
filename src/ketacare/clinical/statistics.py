"""The statistics the outcome figures use, from well-kept libraries.

- Proportions carry a Wilson score 95% interval (Wilson 1927; recommended over the Wald interval
  for small samples and rates near 0 or 1: Brown, Cai & DasGupta 2001), from statsmodels.
- Durability is a Kaplan-Meier estimate (Kaplan & Meier 1958) from lifelines, with Greenwood's
  variance and the exponential (log(-log)) 95% band, the median and its 95% interval
  (Brookmeyer & Crowley 1982, as lifelines computes it from the band) and the number at risk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CONFIDENCE = 0.95


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
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(events, n, alpha=1 - CONFIDENCE, method="wilson")
    return Proportion(events, n, events / n, (max(0.0, float(lo)), min(1.0, float(hi))))


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
    median: float | None  # None: not reached (the curve never falls to 0.5)
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
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    durations = np.asarray(durations, dtype=np.float64)
    observed = np.asarray(events, dtype=bool)
    if len(durations) == 0:
        empty = np.zeros(0)
        return Survival(label, 0, 0, empty, empty, empty, empty, None, (None, None), ())
    fitter = KaplanMeierFitter(alpha=1 - CONFIDENCE)
    fitter.fit(durations, event_observed=observed, label=label)
    band = fitter.confidence_interval_survival_function_
    median_ci = median_survival_times(fitter.confidence_interval_)
    lo, hi = (float(v) for v in median_ci.iloc[0])
    at_risk = tuple((float(t), int((durations >= t).sum())) for t in risk_times)
    return Survival(
        label=label,
        n=len(durations),
        events=int(observed.sum()),
        times=fitter.survival_function_.index.to_numpy(dtype=np.float64),
        survival=fitter.survival_function_.iloc[:, 0].to_numpy(dtype=np.float64),
        lower=band.iloc[:, 0].to_numpy(dtype=np.float64),
        upper=band.iloc[:, 1].to_numpy(dtype=np.float64),
        median=_finite(fitter.median_survival_time_),
        median_ci95=(_finite(lo), _finite(hi)),
        at_risk=at_risk,
    )
