"""Score trajectories as SVG (matplotlib, server-side): severity bands shaded, baseline, response
(50% below baseline) and remission thresholds drawn."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ketacare.clinical import outcomes  # noqa: E402
from ketacare.measures.selectors import Trajectory  # noqa: E402

# Band shading from green (least) to red (most severe), readable for red-green colour blindness
# thanks to the lightness ramp; labels name each band on the right.
BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fbe9e7", "#fde0dc")


def trajectory_svg(trajectories: Sequence[Trajectory], *, width_in: float = 8.0) -> str:
    """One SVG with a panel per scale, sharing the time axis."""
    if not trajectories:
        return ""
    matplotlib.rcParams["svg.fonttype"] = "none"
    fig = Figure(figsize=(width_in, 2.4 * len(trajectories)), layout="constrained")
    axes = fig.subplots(len(trajectories), 1, sharex=True, squeeze=False)[:, 0]
    for ax, trajectory in zip(axes, trajectories, strict=True):
        _panel(ax, trajectory)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _panel(ax: Axes, t: Trajectory) -> None:
    for n, (low, high, name) in enumerate(t.bands):
        colour = BAND_COLOURS[min(n * len(BAND_COLOURS) // max(1, len(t.bands)), len(BAND_COLOURS) - 1)]
        ax.axhspan(low - 0.5 if n else 0, high + 0.5, color=colour, zorder=0, linewidth=0)
        ax.text(
            1.01,
            (low + high) / 2,
            name,
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            va="center",
            color="#555",
        )
    xs = mdates.date2num([p.at for p in t.points])  # type: ignore[no-untyped-call]
    ys = [p.total for p in t.points]
    ax.plot(xs, ys, color="#0b6e75", marker="o", markersize=3.5, linewidth=1.4, zorder=3, label="total")
    if t.first_treatment_at is not None:
        x = mdates.date2num(t.first_treatment_at)  # type: ignore[no-untyped-call]
        ax.axvline(x, color="#7b1fa2", linewidth=1.0, zorder=2)
        ax.text(
            x,
            0.98,
            " first treatment",
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="top",
            color="#7b1fa2",
        )
    base = t.course.baseline
    if base is not None:
        ax.axhline(base.total, color="#444", linestyle="--", linewidth=0.9, zorder=2)
        ax.text(
            0.005,
            base.total,
            f" baseline {base.total}",
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            va="bottom",
            color="#444",
        )
        threshold = float(outcomes.response_threshold(base.total))
        ax.axhline(threshold, color="#1565c0", linestyle=":", linewidth=1.1, zorder=2)
        ax.text(
            0.005,
            threshold,
            f" response ≤ {threshold:g}",
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            va="bottom",
            color="#1565c0",
        )
    if t.remission_max is not None:
        ax.axhline(t.remission_max + 0.5, color="#2e7d32", linestyle="-.", linewidth=1.0, zorder=2)
        ax.text(
            0.005,
            t.remission_max + 0.5,
            f" remission ≤ {t.remission_max}",
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            va="bottom",
            color="#2e7d32",
        )
    ax.set_ylim(0, t.max_total)
    ax.set_title(t.name, fontsize=9, loc="left")
    ax.tick_params(labelsize=7)
    ax.grid(axis="x", color="#ddd", linewidth=0.5)
