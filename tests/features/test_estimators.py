"""scikit-learn conventions, save/load round trips, names."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from relapse_ml.config import load_train_config
from relapse_ml.features import (
    AntigenFeatures,
    ClinicalFeatures,
    ExhaustionFeatures,
    LandmarkFeatures,
    PersistenceFeatures,
    TmeFeatures,
    attach_measurements,
)
from relapse_ml.features.config import default_feature_config

ESTIMATORS = [
    AntigenFeatures(),
    ExhaustionFeatures(),
    PersistenceFeatures(),
    TmeFeatures(),
    ClinicalFeatures(),
    LandmarkFeatures(landmark_day=14),
]

_NOT_A_CONTRACT_FRAME = (
    "the transformer takes the contract's patients frame with a measurements column "
    "(attach_measurements), not an arbitrary numeric array; fit rejects it with a ValueError"
)
#: Every check below feeds random numeric arrays (or derivatives: sparse, complex,
#: memmap, 1 sample, 1 feature, negative values, object dtype) to ``fit``.  Our input
#: is the contract frame, so ``fit`` rejects them all with one ValueError naming the
#: needed form; the checks that can pass (API, params, clone, tags, unfitted
#: behaviour, sparse rejection, fit1d) do pass, and ``xfail_strict`` makes any
#: listed check that starts passing fail the suite so this list stays honest.
_CHECKS_FEEDING_NUMERIC_ARRAYS = (
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters",
    "check_dtype_object", "check_estimators_dtypes", "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_fit2d_1feature",
    "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
    "check_fit_idempotent", "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_transformer_data_not_an_array",
    "check_transformer_general",
)  # fmt: skip
EXPECTED_FAILURES = dict.fromkeys(_CHECKS_FEEDING_NUMERIC_ARRAYS, _NOT_A_CONTRACT_FRAME)


def expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_conventions(estimator, check):
    check(estimator)


@pytest.fixture
def fitted(tiny):
    X = attach_measurements(*tiny)
    est = LandmarkFeatures(landmark_day=28).set_output(transform="pandas").fit(X)
    return est, X


def test_fit_returns_self_and_is_idempotent(tiny):
    X = attach_measurements(*tiny)
    est = LandmarkFeatures().set_output(transform="pandas")
    assert est.fit(X) is est
    first = est.transform(X)
    pd.testing.assert_frame_equal(est.fit(X).transform(X), first)
    pd.testing.assert_frame_equal(clone(est).fit(X).transform(X), first)


def test_pickle_round_trip(fitted):
    est, X = fitted
    loaded = pickle.loads(pickle.dumps(est))
    pd.testing.assert_frame_equal(loaded.transform(X), est.transform(X))
    X_loaded = pickle.loads(pickle.dumps(X))  # the measurements column pickles too
    pd.testing.assert_frame_equal(est.transform(X_loaded), est.transform(X))


def test_skops_round_trip(fitted):
    est, X = fitted
    blob = sio.dumps(est)
    trusted = sio.get_untrusted_types(data=blob)
    assert all(t.startswith(("relapse_ml.features.", "builtins.")) for t in trusted), trusted
    loaded = sio.loads(blob, trusted=trusted)
    pd.testing.assert_frame_equal(loaded.transform(X), est.transform(X))
    assert loaded.feature_catalogue_ == est.feature_catalogue_


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_names_out_match_columns_and_catalogue(tiny, est):
    X = attach_measurements(*tiny)
    est = clone(est).set_output(transform="pandas").fit(X)
    out = est.transform(X)
    names = list(est.get_feature_names_out())
    assert names == list(out.columns) == [s.name for s in est.feature_catalogue_]
    assert len(out) == len(X) and out.index.equals(X.index)
    assert "patient_id" not in out.columns
    assert not np.isinf(out.select_dtypes("number").to_numpy()).any()


def test_parameters_left_at_none_take_the_shipped_recipe_values(tiny):
    # One place for each default: pipelines/train.yaml, not the transformers' signatures.
    X = attach_measurements(*tiny)
    fitted = LandmarkFeatures().fit(X)
    assert fitted.config_ == default_feature_config() == load_train_config().features
    assert fitted.get_params()["landmark_day"] is None
    assert LandmarkFeatures(landmark_day=14).fit(X).config_.landmark_day == 14
    assert PersistenceFeatures().fit(X).config_.lloq_rule == default_feature_config().lloq_rule
