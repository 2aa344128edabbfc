"""Figures for the evaluation: ROC, calibration and decision curves.

Each function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot``,
so no global state and no GUI backend); the caller saves or logs it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from relapse_ml.evaluation._kernels import check_inputs, require_both_classes
from relapse_ml.evaluation.metrics import auroc, smoothed_calibration

__all__ = ["binned_calibration", "calibration_figure", "decision_curve_figure", "roc_figure"]


def roc_figure(
    y_true: object, y_prob: object, sample_weight: object | None = None, *, title: str = "ROC"
) -> Figure:
    """Weighted ROC curve with the AUROC in the legend and the chance diagonal."""
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    require_both_classes(y, w, "roc_figure")
    fpr, tpr, _ = roc_curve(y, p, sample_weight=w, drop_intermediate=False)
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, color="C0", label=f"model (AUROC {auroc(y, p, w):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="1 - specificity", ylabel="sensitivity", title=title)
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    fig.tight_layout()
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
    fig = Figure(figsize=(5, 6))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    ax.plot([0, upper], [0, upper], color="grey", linestyle="--", linewidth=1, label="ideal")
    ax.plot(grid, observed, color="C0", label="smoothed (local linear)")
    ax.plot(
        bins["mean_predicted"], bins["observed"], "o", color="C1", label=f"{len(bins)} risk bins"
    )
    ax.set(xlim=(0, upper), ylim=(0, upper), ylabel="observed risk", title=title)
    ax.legend(loc="upper left")
    hist.hist(p, bins=40, range=(0, upper), weights=w, color="C0")
    hist.set(xlabel="predicted risk", ylabel="patients")
    fig.tight_layout()
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
    fig = Figure(figsize=(6, 4.5))
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
        title=title,
    )
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
