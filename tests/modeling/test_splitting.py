"""Held-out test split: random (stratified), temporal, by site."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.errors import ConfigError
from relapse_ml.modeling import split_train_test


def test_random_split_is_stratified_seeded_and_partitions(cohort_400) -> None:
    X, y, _ = cohort_400
    train, test = split_train_test(X, y, strategy="random", test_fraction=0.25, seed=3)
    assert len(test) == 100 and len(train) == 300
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(400))
    assert abs(y[test].mean() - y.mean()) < 0.01
    again = split_train_test(X, y, seed=3)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(split_train_test(X, y, seed=4)[1], test)


def _dated(dates: list[str | None]) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.DataFrame({"infusion_date": pd.to_datetime(pd.Series(dates))})
    return frame, np.array([0, 1, 1, 0, 0, 1][: len(dates)])


def test_temporal_split_holds_out_latest_and_keeps_ties_together() -> None:
    frame, y = _dated(
        ["2020-01-05", "2020-01-01", "2020-03-01", "2020-02-01", "2020-03-01", "2020-01-20"]
    )
    train, test = split_train_test(frame, y, strategy="temporal", test_fraction=0.34)
    # ceil(6 * 0.34) = 3 latest: 2020-03-01 (x2) and 2020-02-01
    np.testing.assert_array_equal(test, [2, 3, 4])
    np.testing.assert_array_equal(train, [0, 1, 5])
    train, test = split_train_test(frame, y, strategy="temporal", test_fraction=0.2)
    # 2 latest would cut at 2020-03-01: both patients infused that day are held out
    np.testing.assert_array_equal(test, [2, 4])


def test_temporal_split_names_missing_dates() -> None:
    frame, y = _dated(["2020-01-05", None, "2020-03-01", None])
    with pytest.raises(ConfigError, match="2 patient"):
        split_train_test(frame, y, strategy="temporal")


def _sites() -> tuple[pd.DataFrame, np.ndarray]:
    site = ["A"] * 4 + ["B"] * 4 + ["C"] * 8 + ["D"] * 4
    return pd.DataFrame({"site": site}), np.array([0, 1] * 10)


def test_site_split_named_sites() -> None:
    frame, y = _sites()
    train, test = split_train_test(frame, y, strategy="site", test_sites=["B", "D"])
    np.testing.assert_array_equal(test, [4, 5, 6, 7, 16, 17, 18, 19])
    assert set(frame["site"].iloc[train]) == {"A", "C"}
    with pytest.raises(ConfigError, match=r"\['Z'\]"):
        split_train_test(frame, y, strategy="site", test_sites=["Z"])
    with pytest.raises(ConfigError, match="every site"):
        split_train_test(frame, y, strategy="site", test_sites=["A", "B", "C", "D"])


def test_site_split_seeded_choice_reaches_fraction_and_keeps_a_training_site() -> None:
    frame, y = _sites()
    for seed in range(10):
        train, test = split_train_test(frame, y, strategy="site", test_fraction=0.25, seed=seed)
        test_sites = set(frame["site"].iloc[test])
        assert test_sites.isdisjoint(set(frame["site"].iloc[train]))
        assert len(test) >= 5 and len(train) > 0
        again = split_train_test(frame, y, strategy="site", test_fraction=0.25, seed=seed)
        np.testing.assert_array_equal(again[1], test)
    chosen = {
        frozenset(frame["site"].iloc[split_train_test(frame, y, strategy="site", seed=s)[1]])
        for s in range(10)
    }
    assert len(chosen) > 1


def test_split_errors() -> None:
    frame, y = _sites()
    with pytest.raises(ConfigError, match="strategy"):
        split_train_test(frame, y, strategy="alphabetical")
    with pytest.raises(ConfigError, match="test_fraction"):
        split_train_test(frame, y, test_fraction=1.0)
    frame.loc[3, "site"] = np.nan
    with pytest.raises(ConfigError, match="1 patient"):
        split_train_test(frame, y, strategy="site")
    one_class = np.array([0] * 19 + [1])
    with pytest.raises(ConfigError, match="both outcome classes"):
        split_train_test(
            pd.DataFrame({"site": ["A"] * 10 + ["B"] * 10}),
            one_class,
            strategy="site",
            test_sites=["A"],
        )
