"""select_model on the real landmark feature step (relapse_ml.features)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.special import expit

from relapse_ml import features
from relapse_ml.modeling import (
    calibrate,
    count_candidate_parameters,
    default_model_families,
    fitted_pipeline,
    native_output,
    preprocessed_to_feature,
    select_model,
)
from tests.features import synthetic


@pytest.fixture(scope="module")
def landmark_data():
    patients, measurements = synthetic.synthetic_cohort(360, seed=5)
    X = features.attach_measurements(patients, measurements)
    frame = features.LandmarkFeatures(landmark_day=28).set_output(transform="pandas")
    F = frame.fit_transform(X)
    ldh = F["ldh_u_per_l_log10"].fillna(F["ldh_u_per_l_log10"].median())
    z = (ldh - ldh.mean()) / ldh.std()
    y = (np.random.default_rng(0).random(len(X)) < expit(-0.8 + 1.5 * z.to_numpy())).astype(int)
    return X, y, np.random.default_rng(1).uniform(0.8, 1.5, len(y))


def test_select_model_on_landmark_features(landmark_data) -> None:
    X, y, w = landmark_data
    train, new = X.iloc[:300], X.iloc[300:]
    res = select_model(
        train,
        y[:300],
        w[:300],
        default_model_families(),
        features=features.LandmarkFeatures(landmark_day=28),
        cv_repeats=1,
        cv_folds=2,
        n_candidates=1,
        seed=0,
    )
    model = res.model
    risk = model.predict_proba(new)[:, 1]
    assert risk.shape == (60,) and np.all((risk >= 0) & (risk <= 1))
    np.testing.assert_array_equal(
        risk, calibrate(model, native_output(fitted_pipeline(model), new))
    )
    names = {s.name for s in res.catalogue}
    mapping = preprocessed_to_feature(fitted_pipeline(model).named_steps["preprocess"])
    assert set(mapping) <= names
    assert len(mapping) == count_candidate_parameters(model)
    # every categorical feature is one-hot encoded with all catalogue levels
    for spec in res.catalogue:
        if spec.kind == "categorical":
            assert mapping.count(spec.name) == len(spec.categories)
    # the signal lives in LDH: the champion ranks new patients by it
    ldh = X["ldh_u_per_l"].iloc[300:].to_numpy()
    known = ~np.isnan(ldh)
    assert (
        np.corrcoef(np.argsort(np.argsort(ldh[known])), np.argsort(np.argsort(risk[known])))[0, 1]
        > 0.5
    )
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(new)[:, 1], risk)
