"""The dashboard's figures as SVG (matplotlib, server-side), each drawn once per change of the data
it shows (cached under a digest of that data)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
from django.core.cache import cache  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ketacare.clinical.statistics import Survival  # noqa: E402
from ketacare.measures.plots import without_css  # noqa: E402

PLOT_VERSION = "2"  # change when the drawing changes, so cached plots are redrawn
COLOURS = ("#0b6e75", "#7b1fa2", "#e65100", "#1565c0")
PAIRED_LINES_UP_TO = 300  # patients drawn as lines; every patient is in the CSV and the medians


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return without_css(buffer.getvalue())  # inline in the page: no CSS, for the CSP


def cached(kind: str, parts: Sequence[object], draw: Callable[[], str]) -> str:
    digest = hashlib.sha256(f"{PLOT_VERSION}:{kind}:{parts!r}".encode()).hexdigest()
    key = f"ketacare:outcomes:{kind}:{digest}"
    svg = cache.get(key)
    if svg is None:
        svg = draw()
        cache.set(key, svg)
    return str(svg)


def durability_svg(curves: Sequence[Survival]) -> str:
    """Kaplan-Meier: the share of responders still responding, by days since the first response,
    with 95% bands, censoring ticks, the median line and the number at risk underneath."""
    parts = [(c.label, c.times.tobytes(), c.survival.tobytes(), c.at_risk) for c in curves]
    return cached("km", parts, lambda: _durability(curves))


def _durability(curves: Sequence[Survival]) -> str:
    matplotlib.rcParams["svg.fonttype"] = "none"
    rows = len(curves)
    fig = Figure(figsize=(8, 3.6 + 0.22 * rows))
    fig.subplots_adjust(left=0.2, right=0.97, top=0.93, bottom=(0.6 + 0.22 * rows) / (3.6 + 0.22 * rows))
    ax = fig.subplots()
    horizon = max([float(c.times.max()) for c in curves if len(c.times)] + [28.0])
    for n, curve in enumerate(curves):
        if not len(curve.times):
            continue
        colour = COLOURS[n % len(COLOURS)]
        ax.step(curve.times, curve.survival, where="post", color=colour, linewidth=1.6, label=curve.label)
        ax.fill_between(curve.times, curve.lower, curve.upper, step="post", color=colour, alpha=0.12)
    ax.axhline(0.5, color="#999", linestyle=":", linewidth=0.9)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, horizon)
    ticks = [day for day, _ in curves[0].at_risk if day <= horizon] if curves else []
    ax.set_xticks(ticks)
    ax.set_ylabel("still responding", fontsize=8)
    ax.set_xlabel("days since the first response", fontsize=8)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.tick_params(labelsize=7)
    ax.grid(color="#eee", linewidth=0.5)
    ax.legend(fontsize=7, loc="lower left", frameon=False)
    # Number at risk, a row per curve under the axis.
    for n, curve in enumerate(curves):
        y = -0.2 - 0.085 * n * 3.6 / (3.6 + 0.22 * rows) - 0.06
        ax.text(-0.02, y, curve.label, transform=ax.transAxes, fontsize=7, ha="right", va="center")
        for day, count in curve.at_risk:
            if day <= horizon:
                ax.text(day, y, str(count), transform=ax.get_xaxis_transform(), fontsize=7, ha="center")
    ax.text(-0.02, -0.17, "at risk", transform=ax.transAxes, fontsize=7, ha="right", style="italic")
    return _svg(fig)


def speed_svg(rows: Sequence[tuple[int, float, float]]) -> str:
    """Paired: each patient's weeks on antidepressant trials before ketamine, joined to their days
    to a response on ketamine, on one log scale of days; the medians drawn bold."""
    return cached("speed", [(w, d) for _, w, d in rows], lambda: _speed(rows))


def _speed(rows: Sequence[tuple[int, float, float]]) -> str:
    import numpy as np

    matplotlib.rcParams["svg.fonttype"] = "none"
    fig = Figure(figsize=(5.5, 4))
    fig.subplots_adjust(left=0.16, right=0.97, top=0.93, bottom=0.12)
    ax = fig.subplots()
    before = np.array([w * 7 for _, w, _ in rows], dtype=float)
    after = np.maximum(np.array([d for _, _, d in rows], dtype=float), 1 / 24)  # an hour at least
    step = max(1, len(rows) // PAIRED_LINES_UP_TO)
    for b, a in zip(before[::step], after[::step], strict=True):
        ax.plot([0, 1], [b, a], color="#90a4ae", linewidth=0.6, alpha=0.6, marker="o", markersize=2)
    if len(rows):
        ax.plot([0, 1], [np.median(before), np.median(after)], color="#0b6e75", linewidth=3, marker="o")
        ax.text(-0.06, np.median(before), f"median {np.median(before) / 7:.1f} weeks", ha="right", fontsize=7)
        ax.text(1.06, np.median(after), f"median {np.median(after):.1f} days", ha="left", fontsize=7)
    ax.set_yscale("log")
    marks = [
        (1 / 24, "1 hour"),
        (1, "1 day"),
        (7, "1 week"),
        (30, "1 month"),
        (182, "6 months"),
        (365, "1 year"),
    ]
    marks += [(730, "2 years"), (1825, "5 years")]
    ax.set_yticks([m for m, _ in marks], [label for _, label in marks])
    ax.minorticks_off()
    ax.set_xticks(
        [0, 1], ["antidepressant trials\n(time spent before ketamine)", "ketamine\n(time to response)"]
    )
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel("time (log scale)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", color="#eee", linewidth=0.5)
    shown = len(before[::step])
    ax.set_title(f"{len(rows)} responders with trial history ({shown} drawn)", fontsize=8, loc="left")
    return _svg(fig)
