"""Features of a simulated cohort (simulator -> files -> validation -> features) at L = 7..90."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml import simulate, validation
from relapse_ml.features import FeatureConfig, LandmarkFeatures, attach_measurements
from tests.features.naive_features import naive_features


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from relapse_ml.io import write_table

    folder = tmp_path_factory.mktemp("sim")
    sim = simulate.simulate_cohort(200, 7)
    write_table(sim.patients, folder / "patients.csv")
    write_table(sim.measurements, folder / "measurements.csv")
    data = validation.validate_folder(folder)
    data.raise_for_any()
    return data.patients, data.measurements


@pytest.mark.parametrize("day", [7, 14, 28, 60, 90])
def test_simulated_cohort_features_at_any_landmark(cohort, day):
    patients, measurements = cohort
    X = attach_measurements(patients, measurements)
    est = LandmarkFeatures(landmark_day=day).set_output(transform="pandas")
    out = est.fit_transform(X)
    assert out.shape == (len(patients), len(est.feature_catalogue_))
    assert out["car_measured_by_landmark"].mean() > 0.5  # the simulator samples CAR kinetics
    slow = naive_features(patients, measurements, FeatureConfig.from_dict({"landmark_day": day}))
    for col in out.columns:
        if out[col].dtype == np.float64:
            np.testing.assert_allclose(out[col], slow[col].astype(float), rtol=1e-9, err_msg=col)
        else:
            pd.testing.assert_series_equal(out[col].astype(object), slow[col].astype(object))
