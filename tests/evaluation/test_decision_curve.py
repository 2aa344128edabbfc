"""Net benefit against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from relapse_ml.evaluation import net_benefit_table

Y = [1, 0, 1, 0]
P = [0.9, 0.6, 0.4, 0.1]


def test_net_benefit_by_hand() -> None:
    table = net_benefit_table(Y, P, thresholds=[0.2, 0.4, 0.5])
    assert list(table.columns) == [
        "threshold",
        "net_benefit_model",
        "net_benefit_treat_all",
        "net_benefit_treat_none",
    ]
    # t=0.2: treat 0.9, 0.6, 0.4 -> TP 2, FP 1: 2/4 - 1/4 * 0.25
    # t=0.4: p >= t treats 0.4 as well -> same as 0.2 but odds 2/3
    # t=0.5: treat 0.9, 0.6 -> TP 1, FP 1: 1/4 - 1/4 * 1
    np.testing.assert_allclose(table["net_benefit_model"], [0.5 - 0.0625, 0.5 - 0.25 * 2 / 3, 0.0])
    # treat all: prevalence 1/2 - 1/2 * t/(1-t)
    np.testing.assert_allclose(
        table["net_benefit_treat_all"], [0.5 - 0.125, 0.5 - 0.5 * 2 / 3, 0.0]
    )
    np.testing.assert_array_equal(table["net_benefit_treat_none"], [0.0, 0.0, 0.0])


def test_weighted_net_benefit_by_hand() -> None:
    # weights (2, 1, 1, 1), n = 5; t = 0.2: TP = 3/5, FP = 1/5 -> 0.6 - 0.05
    table = net_benefit_table(Y, P, [2, 1, 1, 1], thresholds=[0.2])
    assert table["net_benefit_model"].iloc[0] == pytest.approx(0.55)
    # weighted prevalence 3/5: 0.6 - 0.4 * 0.25
    assert table["net_benefit_treat_all"].iloc[0] == pytest.approx(0.5)


def test_default_thresholds_and_validation() -> None:
    table = net_benefit_table(Y, P)
    assert table["threshold"].iloc[0] == pytest.approx(0.01)
    assert table["threshold"].iloc[-1] == pytest.approx(0.99)
    assert len(table) == 99
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        net_benefit_table(Y, P, thresholds=[0.0, 0.5])
