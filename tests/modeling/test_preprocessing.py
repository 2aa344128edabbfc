"""Preprocessing: hand-computed imputation/scaling/one-hot on a tiny frame; column mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.modeling import (
    count_candidate_parameters,
    make_preprocessor,
    preprocessed_to_feature,
)

CATALOGUE = (
    FeatureSpec("ldh_log10", "antigen", "numeric", "log10 U/L", "LDH", ("patients.ldh",)),
    FeatureSpec("age_years", "clinical", "numeric", "years", "Age", ("patients.age_years",)),
    FeatureSpec("bridging", "clinical", "binary", "", "Bridging", ("patients.bridging",)),
    FeatureSpec(
        "disease",
        "clinical",
        "categorical",
        "",
        "Disease",
        ("patients.disease",),
        ("ALL", "LBCL", "MM"),
    ),
)


def tiny_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ldh_log10": [2.0, np.nan, 4.0, 3.0],
            "age_years": [40.0, 50.0, 60.0, 70.0],
            "bridging": [1.0, 1.0, np.nan, 0.0],
            "disease": pd.Series(["ALL", "LBCL", np.nan, "ALL"], dtype="str"),
        }
    )


def test_tree_family_imputes_without_scaling() -> None:
    pre = make_preprocessor(CATALOGUE, "random_forest").fit(tiny_frame())
    out = pre.transform(tiny_frame())
    names = list(pre.get_feature_names_out())
    assert names == [
        "numeric__ldh_log10",
        "numeric__age_years",
        "numeric__missingindicator_ldh_log10",
        "binary__bridging",
        "binary__missingindicator_bridging",
        "categorical__disease_ALL",
        "categorical__disease_LBCL",
        "categorical__disease_MM",
    ]
    expected = np.array(
        [
            [2.0, 40.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
            [3.0, 50.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0],  # median of 2, 4, 3
            [4.0, 60.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0],  # most frequent 1; missing -> zeros
            [3.0, 70.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(out, expected)
    assert preprocessed_to_feature(pre) == [
        "ldh_log10",
        "age_years",
        "ldh_log10",
        "bridging",
        "bridging",
        "disease",
        "disease",
        "disease",
    ]
    assert count_candidate_parameters(pre) == 8
    assert count_candidate_parameters(CATALOGUE) == 1 + 1 + 1 + 3


def test_linear_family_standardises_numeric_block() -> None:
    pre = make_preprocessor(CATALOGUE, "logistic").fit(tiny_frame())
    out = pre.transform(tiny_frame())
    ldh = np.array([2.0, 3.0, 4.0, 3.0])
    np.testing.assert_allclose(out[:, 0], (ldh - 3.0) / ldh.std())
    age = np.array([40.0, 50.0, 60.0, 70.0])
    np.testing.assert_allclose(out[:, 1], (age - 55.0) / age.std())
    indicator = np.array([0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[:, 2], (indicator - 0.25) / indicator.std())
    # binary and one-hot columns stay 0/1
    np.testing.assert_array_equal(out[:, 3], [1.0, 1.0, 1.0, 0.0])


def test_unseen_category_and_all_missing_feature_keep_shape() -> None:
    train = tiny_frame().assign(ldh_log10=np.nan)
    pre = make_preprocessor(CATALOGUE, "hist_gradient_boosting").fit(train)
    new = pd.DataFrame(
        {
            "ldh_log10": [5.0],
            "age_years": [30.0],
            "bridging": [0.0],
            "disease": pd.Series(["MM"], dtype="str"),
        }
    )
    out = pre.transform(new)
    names = list(pre.get_feature_names_out())
    row = dict(zip(names, out[0], strict=True))
    assert row["numeric__ldh_log10"] == 5.0  # observed values pass through
    assert row["categorical__disease_MM"] == 1.0  # a level never seen in training
    assert len(names) == len(preprocessed_to_feature(pre))


def test_preprocessor_rejects_bad_catalogue() -> None:
    bad = (FeatureSpec("x", "clinical", "ordinal", "", "x", ()),)
    with pytest.raises(ValueError, match="unknown kind"):
        make_preprocessor(bad, "logistic")
    no_levels = (FeatureSpec("d", "clinical", "categorical", "", "d", ()),)
    with pytest.raises(ValueError, match="no categories"):
        make_preprocessor(no_levels, "logistic")
