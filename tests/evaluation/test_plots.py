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
    cumulative_incidence_figure,
    decision_curve_figure,
    roc_figure,
    wrap_label,
)
from tests.helpers import assert_fits_canvas, text_outside_canvas

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


LONG_TITLE = (
    "Calibration of the predicted risk of relapse by day 365, held-out test patients "
    "of every site, after recalibration"
)


@pytest.mark.parametrize("title", ["short", LONG_TITLE])
def test_every_evaluation_figure_fits_its_canvas(title) -> None:
    table = net_benefit_table(Y, P, W, thresholds=np.linspace(0.05, 0.6, 12))
    figures = {
        "roc": roc_figure(Y, P, W, title=title),
        "calibration": calibration_figure(Y, P, W, title=title),
        "decision": decision_curve_figure(table, title=title),
        "incidence": cumulative_incidence_figure(
            [90, 180, 365], [0.1, 0.2, 0.3], [0.05, 0.08, 0.1], primary_horizon=365, title=title
        ),
    }
    for name, fig in figures.items():
        assert text_outside_canvas(fig) == [], name
    # wrapped, not cut: every word of the title is drawn
    for fig in figures.values():
        assert fig.axes[0].get_title().split() == title.split()


def test_canvas_check_catches_a_cut_title() -> None:
    # the check itself: a title wider than its canvas without layout is reported
    fig = Figure(figsize=(6, 4))
    fig.add_subplot().set_title(LONG_TITLE)
    problems = text_outside_canvas(fig)
    assert len(problems) == 1 and problems[0].startswith(f"title or text {LONG_TITLE!r}")
    with pytest.raises(AssertionError, match="outside its canvas"):
        assert_fits_canvas(fig)


def test_wrap_label_keeps_words_and_bounds_lines() -> None:
    assert wrap_label("short label", 40, 3) == "short label"
    text = "one two three four five six seven eight nine ten"
    assert wrap_label(text, 10, 2) == "one two\nthree ..."
    wrapped = wrap_label(text, 14, 10)
    assert wrapped.replace("\n", " ") == text and max(map(len, wrapped.split("\n"))) <= 14
    assert all(len(line) <= 12 for line in wrap_label("x" * 100, 12, 3).split("\n"))


def test_cumulative_incidence_figure_stacks_death_on_relapse() -> None:
    horizons, relapse, death = [90, 180, 365], [0.1, 0.2, 0.3], [0.05, 0.08, 0.1]
    fig = cumulative_incidence_figure(
        horizons, relapse, death, primary_horizon=180, landmark=28, title="CIF"
    )
    ax = fig.axes[0]
    lower, upper, primary = ax.lines
    # the curves start at 0 on the landmark day, then follow the incidences
    np.testing.assert_allclose(lower.get_xdata(), [28, 90, 180, 365])
    np.testing.assert_allclose(lower.get_ydata(), [0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(upper.get_ydata(), [0, 0.15, 0.28, 0.4])
    np.testing.assert_allclose(primary.get_xdata(), [180, 180])
    assert primary.get_label() == "day 180: relapse 20%, death 8%"
    assert ax.get_xlim() == (28.0, 365.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "relapse",
        "death without relapse",
        "day 180: relapse 20%, death 8%",
    ]
    assert text_outside_canvas(fig) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"death": [0.5, 0.6, 0.8]},  # relapse + death > 1
        {"horizons": [90, 90, 365]},
        {"primary_horizon": 400},
        {"landmark": 90},
    ],
)
def test_cumulative_incidence_figure_refuses_bad_input(kwargs) -> None:
    args = {
        "horizons": [90, 180, 365],
        "relapse": [0.1, 0.2, 0.3],
        "death": [0.05, 0.08, 0.1],
        "primary_horizon": 365,
        **kwargs,
    }
    with pytest.raises(ValueError):
        cumulative_incidence_figure(
            args.pop("horizons"), args.pop("relapse"), args.pop("death"), **args
        )
