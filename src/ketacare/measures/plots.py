"""Score trajectories as SVG (matplotlib, server-side): severity bands shaded, baseline, response
(50% below baseline; PCL-5 by points) and remission thresholds drawn."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
from django.core.cache import cache  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ketacare.clinical import outcomes  # noqa: E402
from ketacare.measures.selectors import Trajectory, response_rule  # noqa: E402

# Band shading from green (least) to red (most severe), readable for red-green colour blindness
# thanks to the lightness ramp; labels name each band on the right.
BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fbe9e7", "#fde0dc")


PLOT_VERSION = "4"  # change when the drawing changes, so cached plots are redrawn
MARKERS_UP_TO = 60  # points per scale; denser series are drawn as a line only


def fingerprint(patient_id: int, trajectories: Sequence[Trajectory]) -> str:
    """A digest of everything a plot shows: any new, changed or removed score gives a new one."""
    digest = hashlib.sha256(f"{PLOT_VERSION}:{patient_id}".encode())
    for t in trajectories:
        rule = response_rule(t.instrument)  # the clinic may move the PCL-5 response line
        digest.update(f"|{t.instrument}:{t.first_treatment_at}:{t.remission_max}:{rule}".encode())
        digest.update(",".join(str(at.timestamp()) for at in t.session_times).encode())
        for p in t.points:
            digest.update(f"{p.at.timestamp()}={p.total};".encode())
    return digest.hexdigest()


def trajectory_svg_cached(patient_id: int, trajectories: Sequence[Trajectory]) -> str:
    """The plot, drawn once per change of its data (matplotlib takes ~100 ms a figure)."""
    if not trajectories:
        return ""
    key = f"ketacare:trajectory:{fingerprint(patient_id, trajectories)}"
    svg = cache.get(key)
    if svg is None:
        svg = trajectory_svg(trajectories)
        cache.set(key, svg)
    return str(svg)


def trajectory_svg(trajectories: Sequence[Trajectory], *, width_in: float = 8.0) -> str:
    """One SVG with a panel per scale, sharing the time axis."""
    if not trajectories:
        return ""
    matplotlib.rcParams["svg.fonttype"] = "none"
    height_in = 0.5 + 2.1 * len(trajectories)
    fig = Figure(figsize=(width_in, height_in))
    fig.subplots_adjust(left=0.06, right=0.83, top=1 - 0.3 / height_in, bottom=0.45 / height_in, hspace=0.35)
    axes = fig.subplots(len(trajectories), 1, sharex=True, squeeze=False)[:, 0]
    for ax, trajectory in zip(axes, trajectories, strict=True):
        _panel(ax, trajectory)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return without_css(buffer.getvalue())


# The SVG 1.1 presentation attributes: every CSS property matplotlib writes has one.
PRESENTATION_ATTRIBUTES = frozenset(
    """alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
    color-interpolation-filters color-rendering cursor direction display dominant-baseline fill
    fill-opacity fill-rule filter flood-color flood-opacity font-family font-size font-size-adjust
    font-stretch font-style font-variant font-weight image-rendering letter-spacing lighting-color
    marker-end marker-mid marker-start mask opacity overflow pointer-events shape-rendering
    stop-color stop-opacity stroke stroke-dasharray stroke-dashoffset stroke-linecap
    stroke-linejoin stroke-miterlimit stroke-opacity stroke-width text-anchor text-decoration
    text-rendering unicode-bidi visibility word-spacing writing-mode""".split()
)
_SHEET = re.compile(r"\s*<defs>\s*<style[^>]*>\s*\*\s*\{([^{}<]*)\}\s*</style>\s*</defs>")
_STYLED_TAG = re.compile(r'<[a-zA-Z][^<>]*?\sstyle="[^"]*"[^<>]*>')
_STYLE = re.compile(r'\sstyle="([^"]*)"')


def without_css(svg: str) -> str:
    """matplotlib's SVG, to be put inline in a page, with its CSS turned into presentation
    attributes: the Content-Security-Policy (config/csp.py) blocks style="" and <style> in a page,
    and matplotlib has no option to write attributes. Drawn the same: each element's declarations
    become its own attributes, and the sheet's one rule for every element (`*{...}`, the line joins
    and caps) goes on the root, inherited by every element that does not set its own (matplotlib
    styles only leaves: path, use, text). A declaration with no attribute stays in style="", where
    tests/web/test_csp.py finds it."""
    svg = svg[svg.index("<svg") :]
    sheet = _SHEET.search(svg)
    if sheet:
        svg = svg[: sheet.start()] + svg[sheet.end() :]
        svg = svg.replace("<svg", f'<svg style="{sheet[1]}"', 1)
    return _STYLED_TAG.sub(_attributes, svg)


def _attributes(tag: re.Match[str]) -> str:
    text = tag[0]
    style = _STYLE.search(text)
    if style is None:  # not reached: _STYLED_TAG matched a style attribute
        return text
    attributes: dict[str, str] = {}
    kept = []
    for declaration in style[1].split(";"):
        name, colon, value = (part.strip() for part in declaration.partition(":"))
        if not colon or not name:
            continue
        if name in PRESENTATION_ATTRIBUTES and f" {name}=" not in text:
            attributes[name] = value  # the last wins, as in CSS
        else:
            kept.append(f"{name}: {value}")
    replacement = "".join(f' {name}="{value}"' for name, value in attributes.items())
    if kept:
        replacement += f' style="{"; ".join(kept)}"'
    return text[: style.start()] + replacement + text[style.end() :]


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
    marker = "o" if len(ys) <= MARKERS_UP_TO else None
    ax.plot(xs, ys, color="#0b6e75", marker=marker, markersize=3.5, linewidth=1.4, zorder=3, label="total")
    if t.session_times:
        # Each treatment session as a short tick along the bottom of the panel.
        ticks = mdates.date2num(list(t.session_times))  # type: ignore[no-untyped-call]
        ax.plot(
            ticks,
            [0.02] * len(ticks),
            transform=ax.get_xaxis_transform(),
            linestyle="none",
            marker="^",
            markersize=5,
            color="#7b1fa2",
            zorder=4,
            label="session",
        )
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
        threshold = float(outcomes.response_threshold(base.total, response_rule(t.instrument)))
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
