"""Figures: the plotted data are the evaluated quantities."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from relapse_ml.evaluation import net_benefit_table
from relapse_ml.evaluation.plots import (
    binned_calibration,
    calibration_figure,
    decision_curve_figure,
    roc_figure,
)

rng = np.random.default_rng(0)
P = rng.uniform(0.05, 0.8, 200)
Y = (rng.random(200) < P).astype(int)
W = rng.uniform(0.5, 2, 200)


def test_roc_figure_plots_the_weighted_curve() -> None:
    fig = roc_figure(Y, P, W)
    assert isinstance(fig, Figure)
    line = fig.axes[0].lines[0]
    fpr, tpr, _ = roc_curve(Y, P, sample_weight=W, drop_intermediate=False)
    np.testing.assert_allclose(line.get_xdata(), fpr)
    np.testing.assert_allclose(line.get_ydata(), tpr)
    assert "AUROC" in line.get_label()


def test_binned_calibration_by_hand() -> None:
    bins = binned_calibration([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9], n_bins=2)
    np.testing.assert_allclose(bins["mean_predicted"], [0.1, 0.9])
    np.testing.assert_allclose(bins["observed"], [0.5, 1.0])
    weighted = binned_calibration([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9], [3, 1, 1, 1], n_bins=2)
    np.testing.assert_allclose(weighted["observed"], [0.25, 1.0])


def test_calibration_figure_has_curve_bins_and_histogram() -> None:
    fig = calibration_figure(Y, P, W, n_bins=5)
    top, hist = fig.axes
    labels = [line.get_label() for line in top.lines]
    assert labels == ["ideal", "smoothed (local linear)", "5 risk bins"]
    np.testing.assert_allclose(
        top.lines[2].get_ydata(), binned_calibration(Y, P, W, n_bins=5)["observed"]
    )
    # the histogram counts weighted patients
    assert sum(patch.get_height() for patch in hist.patches) == pytest.approx(W.sum())


def test_decision_curve_figure_plots_the_table() -> None:
    table = net_benefit_table(Y, P, W, thresholds=np.linspace(0.05, 0.6, 12))
    fig = decision_curve_figure(table)
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["model", "treat all", "treat none"]
    np.testing.assert_allclose(lines[0].get_ydata(), table["net_benefit_model"])
    np.testing.assert_allclose(lines[1].get_ydata(), table["net_benefit_treat_all"])
