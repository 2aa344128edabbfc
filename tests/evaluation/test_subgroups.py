"""Subgroup metrics: per-level values, suppression, missing level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.evaluation import auroc, brier, calibration_intercept, subgroup_metrics


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n_a, n_b = 60, 12
    p = rng.uniform(0.1, 0.9, n_a + n_b)
    # level A: 30 events, 30 non-events; level B: 3 events, 9 non-events
    y = np.r_[np.repeat([1, 0], 30), np.repeat([1, 0], [3, 9])]
    disease = pd.Categorical(["B-ALL"] * n_a + ["DLBCL"] * n_b, categories=["DLBCL", "B-ALL", "MM"])
    site = pd.Series(["S1"] * 40 + [None] * 32, dtype="str")
    return pd.DataFrame(
        {"disease": disease, "site": site, "y": y, "p": p, "w": rng.uniform(0.5, 2, y.size)}
    )


def test_levels_metrics_and_suppression() -> None:
    df = frame()
    table = subgroup_metrics(df, by=["disease", "site"], min_events=5)
    assert list(table["level"]) == ["DLBCL", "B-ALL", "S1", "(missing)"]  # category order
    disease = table[table.variable == "disease"].set_index("level")
    assert disease.loc["DLBCL", "events"] == 3
    assert disease.loc["DLBCL", "non_events"] == 9
    assert bool(disease.loc["DLBCL", "suppressed"])
    assert disease.loc["DLBCL", ["auroc", "brier", "ici"]].isna().all()
    a = df[df.disease == "B-ALL"]
    assert not disease.loc["B-ALL", "suppressed"]
    assert disease.loc["B-ALL", "n"] == 60
    assert disease.loc["B-ALL", "auroc"] == pytest.approx(auroc(a.y, a.p, a.w))
    assert disease.loc["B-ALL", "brier"] == pytest.approx(brier(a.y, a.p, a.w))
    assert disease.loc["B-ALL", "calibration_intercept"] == pytest.approx(
        calibration_intercept(a.y, a.p, a.w)
    )
    site = table[table.variable == "site"].set_index("level")
    assert site["n"].sum() == len(df)  # missing site is its own level
    assert site.loc["(missing)", "n"] == 32


def test_min_events_applies_to_non_events_too() -> None:
    df = frame()
    table = subgroup_metrics(df, by=["disease"], min_events=31)
    assert table["suppressed"].all()
    assert table[["auroc", "calibration_slope"]].isna().all().all()


def test_missing_column_is_reported() -> None:
    with pytest.raises(ValueError, match="costim_domain"):
        subgroup_metrics(frame(), by=["disease", "costim_domain"])
