"""Figures for the evaluation: ROC, calibration, decision and cumulative incidence curves.

Each function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot``,
so no global state and no GUI backend); the caller saves or logs it. Figures use
matplotlib's constrained layout, which sizes the axes so that titles, axis labels and
tick labels stay inside the canvas when the figure is saved at its own size (as
``mlflow.log_figure`` does); long titles and labels are wrapped with :func:`wrap_label`.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from sklearn.metrics import roc_curve

from relapse_ml.evaluation._kernels import check_inputs, require_both_classes
from relapse_ml.evaluation.metrics import auroc, smoothed_calibration

__all__ = [
    "binned_calibration",
    "calibration_figure",
    "cumulative_incidence_figure",
    "decision_curve_figure",
    "roc_figure",
    "wrap_label",
]


def wrap_label(text: str, width: int = 40, max_lines: int = 3) -> str:
    """Wrap ``text`` on word boundaries into at most ``max_lines`` lines of ``width`` characters.

    Text that needs more lines is cut at the end of the last line with an ellipsis
    ("..."), so a label never grows past ``max_lines * width`` characters.

    Parameters
    ----------
    text : str
        The label.
    width : int, default 40
        Characters per line (a word longer than this is broken).
    max_lines : int, default 3
        Lines at most.

    Returns
    -------
    str
        Lines joined by newlines.
    """
    lines = textwrap.wrap(str(text), width=width) or [""]
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        last = textwrap.shorten(rest, width=width, placeholder=" ...")
        if last == "...":  # the first remaining word and the ellipsis do not fit
            last = rest[: width - 4] + " ..."
        lines = [*lines[: max_lines - 1], last]
    return "\n".join(lines)


def roc_figure(
    y_true: object, y_prob: object, sample_weight: object | None = None, *, title: str = "ROC"
) -> Figure:
    """Weighted ROC curve with the AUROC in the legend and the chance diagonal."""
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    require_both_classes(y, w, "roc_figure")
    fpr, tpr, _ = roc_curve(y, p, sample_weight=w, drop_intermediate=False)
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, color="C0", label=f"model (AUROC {auroc(y, p, w):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="1 - specificity",
        ylabel="sensitivity",
        title=wrap_label(title, 45, 3),
    )
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    return fig


def binned_calibration(
    y_true: object, y_prob: object, sample_weight: object | None = None, *, n_bins: int = 10
) -> pd.DataFrame:
    """Weighted mean predicted and observed risk in quantile bins of the prediction.

    Returns
    -------
    DataFrame
        ``bin``, ``n``, ``mean_predicted``, ``observed`` (one row per non-empty bin).
    """
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(edges.size - 2, 0))
    rows = []
    for b in np.unique(bins):
        m = bins == b
        rows.append(
            {
                "bin": int(b),
                "n": int(m.sum()),
                "mean_predicted": float(np.average(p[m], weights=w[m])),
                "observed": float(np.average(y[m], weights=w[m])),
            }
        )
    return pd.DataFrame(rows, columns=["bin", "n", "mean_predicted", "observed"])


def calibration_figure(
    y_true: object,
    y_prob: object,
    sample_weight: object | None = None,
    *,
    n_bins: int = 10,
    title: str = "Calibration",
) -> Figure:
    """Calibration plot: binned and smoothed observed risk vs predicted, with histogram.

    Top panel: the ideal diagonal, weighted observed proportions in ``n_bins``
    quantile bins (points) and the local-linear smoothed curve used by the ICI
    (line). Bottom panel: histogram of the predicted risks.
    """
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    bins = binned_calibration(y, p, w, n_bins=n_bins)
    grid, observed = smoothed_calibration(y, p, w)
    upper = float(min(1.0, max(p.max(), np.nanmax(observed), bins["observed"].max()) * 1.05))
    fig = Figure(figsize=(5, 6), layout="constrained")
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    ax.plot([0, upper], [0, upper], color="grey", linestyle="--", linewidth=1, label="ideal")
    ax.plot(grid, observed, color="C0", label="smoothed (local linear)")
    ax.plot(
        bins["mean_predicted"], bins["observed"], "o", color="C1", label=f"{len(bins)} risk bins"
    )
    ax.set(xlim=(0, upper), ylim=(0, upper), ylabel="observed risk", title=wrap_label(title, 45, 3))
    ax.legend(loc="upper left")
    hist.hist(p, bins=40, range=(0, upper), weights=w, color="C0")
    hist.set(xlabel="predicted risk", ylabel="patients")
    return fig


def decision_curve_figure(table: pd.DataFrame, *, title: str = "Decision curve") -> Figure:
    """Net benefit of the model, treat-all and treat-none against threshold probability.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`relapse_ml.evaluation.decision_curve.net_benefit_table`.
    """
    t = table["threshold"].to_numpy()
    model = table["net_benefit_model"].to_numpy()
    treat_all = table["net_benefit_treat_all"].to_numpy()
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(t, model, color="C0", label="model")
    ax.plot(t, treat_all, color="C1", label="treat all")
    ax.plot(t, table["net_benefit_treat_none"].to_numpy(), color="grey", label="treat none")
    top = float(max(np.max(model), np.max(treat_all), 0.0))
    # treat-all falls steeply below 0; show only a little below the treat-none line
    ax.set(
        xlim=(float(t.min()), float(t.max())),
        ylim=(-0.05 * max(top, 0.1) - 0.01, top * 1.1 + 0.01),
        xlabel="threshold probability",
        ylabel="net benefit",
        title=wrap_label(title, 55, 3),
    )
    ax.legend(loc="upper right")
    return fig


def cumulative_incidence_figure(
    horizons: object,
    relapse: object,
    death: object,
    *,
    primary_horizon: float,
    title: str = "Cumulative incidence after the landmark",
    landmark: float | None = None,
) -> Figure:
    """Stacked cumulative incidences of relapse and of death without relapse.

    Relapse is the lower band (0 to ``relapse``), death without relapse is stacked on
    it (``relapse`` to ``relapse + death``); the gap above is the probability of being
    alive and relapse-free. Values are joined by straight lines between the horizons
    (marked when there are few), and the primary horizon is a dashed vertical line
    whose legend entry gives both incidences there (when it is one of ``horizons``).

    Parameters
    ----------
    horizons : array-like of float
        Increasing days after infusion.
    relapse, death : array-like of float
        Cumulative incidence of relapse and of death without relapse at each horizon
        (e.g. :func:`relapse_ml.evaluation.competing.aalen_johansen_incidence`), with
        ``relapse + death <= 1``.
    primary_horizon : float
        The task's horizon ``H``, within the plotted range.
    title : str, optional
        Figure title (wrapped to fit).
    landmark : float, optional
        ``L``: when given, the curves start at 0 on day ``L`` (everyone is event-free
        at the landmark); otherwise at the first horizon.

    Returns
    -------
    Figure
    """
    h = np.asarray(horizons, dtype=float)
    r = np.asarray(relapse, dtype=float)
    d = np.asarray(death, dtype=float)
    if h.ndim != 1 or h.size == 0 or r.shape != h.shape or d.shape != h.shape:
        raise ValueError("horizons, relapse and death must be 1-d arrays of the same length")
    if np.any(np.diff(h) <= 0):
        raise ValueError("horizons must be strictly increasing")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d))):
        raise ValueError("incidences must be finite")
    if np.any(r < 0) or np.any(d < 0) or np.any(r + d > 1 + 1e-9):
        raise ValueError("incidences must be >= 0 and add up to at most 1")
    if landmark is not None:
        if landmark >= h[0]:
            raise ValueError(f"landmark ({landmark}) must be before the first horizon ({h[0]})")
        h, r, d = np.r_[landmark, h], np.r_[0.0, r], np.r_[0.0, d]
    if not h[0] <= primary_horizon <= h[-1]:
        raise ValueError(f"primary_horizon {primary_horizon} is outside [{h[0]}, {h[-1]}]")
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    marker = "o" if h.size <= 30 else None
    ax.fill_between(h, 0, r, color="#c0504d", alpha=0.35, linewidth=0, label="relapse")
    ax.fill_between(
        h, r, r + d, color="#7f7f7f", alpha=0.35, linewidth=0, label="death without relapse"
    )
    ax.plot(h, r, color="#c0504d", marker=marker, markersize=3)
    ax.plot(h, r + d, color="#595959", marker=marker, markersize=3)
    label = f"day {primary_horizon:g} (primary horizon)"
    exact = np.flatnonzero(h == primary_horizon)
    if exact.size:
        label = f"day {primary_horizon:g}: relapse {r[exact[0]]:.0%}, death {d[exact[0]]:.0%}"
    ax.axvline(primary_horizon, color="black", linestyle="--", linewidth=1, label=label)
    top = float(min(1.0, max(float(np.max(r + d)) * 1.15, 0.05)))
    ax.set(
        xlim=(float(h[0]), float(h[-1])),
        ylim=(0.0, top),
        xlabel="days after infusion",
        ylabel="cumulative incidence",
        title=wrap_label(title, 60, 3),
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.legend(loc="upper left", fontsize=8)
    return fig
