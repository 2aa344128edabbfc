"""LLOQ and replicate rules, invariances, landmarks, availability, config, reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.errors import ConfigError
from relapse_ml.features import (
    MEASUREMENTS_COLUMN,
    FeatureConfig,
    LandmarkFeatures,
    attach_measurements,
    feature_catalogue,
)
from tests.features.naive_features import naive_features
from tests.features.synthetic import synthetic_cohort


def run(patients, measurements, **params) -> pd.DataFrame:
    X = attach_measurements(patients, measurements)
    return LandmarkFeatures(**params).set_output(transform="pandas").fit_transform(X)


def one_patient(make_patients, make_measurements, rows):
    return make_patients([{"patient_id": "P", "disease": "B-ALL", "target_antigen": "CD19",
                           "costim_domain": "CD28", "age_years": 30}]), make_measurements(rows)  # fmt: skip


@pytest.mark.parametrize(("rule", "factor"), [("half", 0.5), ("sqrt2", 1 / np.sqrt(2))])
def test_lloq_rule_substitutes_a_fraction_of_the_limit(
    make_patients, make_measurements, rule, factor
):
    p, m = one_patient(make_patients, make_measurements, [("P", 7, "car_transgene", 8.0, "<")])
    f = run(p, m, lloq_rule=rule)
    assert f["car_level_at_landmark"].iloc[0] == pytest.approx(8.0 * factor)
    assert f["car_level_at_landmark"].iloc[0] != 8.0  # never the limit itself
    assert f["car_detectable_at_landmark"].iloc[0] == 0.0  # "<" is not detectable
    assert f["car_measured_by_landmark"].iloc[0] == 1.0  # but it was measured


def test_replicates_are_averaged_after_the_lloq_rule(make_patients, make_measurements):
    rows = [("P", 7, "car_transgene", 10.0, "<"), ("P", 7, "car_transgene", 25.0),
            ("P", 14, "b_cells", 4.0, "<"), ("P", 14, "b_cells", 2.0, "<")]  # fmt: skip
    p, m = one_patient(make_patients, make_measurements, rows)
    f = run(p, m)
    assert f["car_cmax"].iloc[0] == pytest.approx((5.0 + 25.0) / 2)
    assert f["car_detectable_at_landmark"].iloc[0] == 1.0  # one replicate quantified
    assert f["b_cells_at_landmark"].iloc[0] == pytest.approx((2.0 + 1.0) / 2)
    assert f["b_cell_aplasia_at_landmark"].iloc[0] == 1.0


def test_missing_is_not_zero(make_patients, make_measurements):
    p, m = one_patient(make_patients, make_measurements, [("P", 7, "il6_pg_ml", 3.0)])
    f = run(p, m)
    assert f["car_measured_by_landmark"].iloc[0] == 0.0
    assert np.isnan(f["car_cmax"].iloc[0]) and np.isnan(f["car_detectable_at_landmark"].iloc[0])
    assert np.isnan(f["mrd_positive_at_landmark"].iloc[0])


def test_invariant_to_row_order_and_patient_relabelling(tiny):
    patients, measurements = tiny
    base = run(patients, measurements)
    rng = np.random.default_rng(3)
    shuffled = measurements.iloc[rng.permutation(len(measurements))].reset_index(drop=True)
    pd.testing.assert_frame_equal(run(patients, shuffled), base)
    mapping = {"A": "zz_9", "B": "a.1", "C": "M-3"}
    relabelled = run(
        patients.assign(patient_id=patients["patient_id"].map(mapping)),
        measurements.assign(patient_id=measurements["patient_id"].map(mapping)),
    )
    pd.testing.assert_frame_equal(relabelled, base)


def test_output_follows_input_patient_order(tiny):
    patients, measurements = tiny
    base = run(patients, measurements)
    rev = patients.iloc[::-1]
    out = run(rev, measurements)
    pd.testing.assert_frame_equal(out, base.iloc[::-1])


def test_measurements_of_unknown_patients_are_ignored(tiny, make_measurements):
    patients, measurements = tiny
    extra = make_measurements([("Z", 7, "car_transgene", 1e6)])
    out = run(patients, pd.concat([measurements, extra], ignore_index=True))
    pd.testing.assert_frame_equal(out, run(patients, measurements))


@pytest.mark.parametrize("day", [7, 14, 28, 90])
def test_landmarks_match_the_naive_reference(day):
    patients, measurements = synthetic_cohort(150, seed=day)
    config = FeatureConfig.from_dict({"landmark_day": day})
    fast = run(patients, measurements, landmark_day=day)
    slow = naive_features(patients, measurements, config)
    assert list(fast.columns) == list(slow.columns) == [s.name for s in feature_catalogue(config)]
    assert f"car_auc_0_{day}_log" in fast.columns
    for col in fast.columns:
        if fast[col].dtype == np.float64:
            np.testing.assert_allclose(
                fast[col], slow[col].astype(float), rtol=1e-9, atol=1e-12, err_msg=col
            )
        else:
            assert fast[col].astype(object).equals(slow[col].astype(object)), col
    assert fast["car_measured_by_landmark"].sum() > 100  # the cohort exercises the kinetics


@pytest.mark.parametrize(("day", "present"), [(7, False), (13, False), (14, True), (90, True)])
def test_toxicity_columns_only_from_their_available_day(tiny, day, present):
    patients, measurements = tiny
    out = run(patients, measurements, landmark_day=day)
    for col in ("crs_grade", "icans_grade", "tocilizumab", "steroid_dex_mg"):
        assert (col in out.columns) is present


def test_catalogue_matches_columns_and_kinds(tiny):
    patients, measurements = tiny
    est = LandmarkFeatures(groups=("clinical", "persistence")).set_output(transform="pandas")
    out = est.fit_transform(attach_measurements(patients, measurements))
    names = [s.name for s in est.feature_catalogue_]
    assert names == list(out.columns) == list(est.get_feature_names_out())
    assert est.feature_catalogue_ == feature_catalogue(est.config_)
    assert {s.group for s in est.feature_catalogue_} == {"clinical", "persistence"}
    for spec in est.feature_catalogue_:
        assert spec.label and spec.sources
        if spec.kind == "categorical":
            assert set(out[spec.name].dropna()) <= set(spec.categories)
        if spec.kind == "binary":
            assert set(out[spec.name].dropna()) <= {0.0, 1.0}


def test_output_is_a_typed_frame_with_or_without_set_output(tiny):
    patients, measurements = tiny
    X = attach_measurements(patients, measurements)
    default = LandmarkFeatures(groups=("persistence",)).fit(X).transform(X)
    assert isinstance(default, pd.DataFrame) and default.shape == (3, 30)
    assert (
        pd.api.types.is_string_dtype(default["costim_domain"])
        and default["car_cmax"].dtype == np.float64
    )
    pandas = LandmarkFeatures(groups=("tme",)).set_output(transform="pandas").fit(X).transform(X)
    assert pandas["il10_pg_ml"].iloc[0] == 7.0  # il10_pg_ml of patient A
    assert list(pandas.columns) == list(
        LandmarkFeatures(groups=("tme",)).fit(X).get_feature_names_out()
    )


def test_attach_measurements_is_compact_and_id_free(tiny):
    patients, measurements = tiny
    X = attach_measurements(patients, measurements)
    assert list(X["patient_id"]) == ["A", "B", "C"]
    arrays = X[MEASUREMENTS_COLUMN].tolist()
    assert [a.shape for a in arrays] == [(27, 4), (8, 4), (0, 4)]
    assert all(a.dtype == np.float64 for a in arrays)


def test_config_from_dict_and_errors():
    cfg = FeatureConfig.from_dict({"landmark_day": 14, "groups": ["antigen"],
                                   "antigen_density_thresholds": {"CD19": {"*": 2500}}})  # fmt: skip
    assert cfg.landmark_day == 14 and cfg.groups == ("antigen",)
    assert cfg.antigen_density_thresholds == (("CD19", "*", 2500.0),)
    with pytest.raises(ConfigError, match="landmark_dya"):
        FeatureConfig.from_dict({"landmark_dya": 14})
    with pytest.raises(ConfigError, match="lloq_rule"):
        FeatureConfig.from_dict({"lloq_rule": "limit"})
    with pytest.raises(ConfigError, match="genomics"):
        FeatureConfig.from_dict({"groups": ["antigen", "genomics"]})


def test_invalid_parameters_fail_at_fit(tiny):
    X = attach_measurements(*tiny)
    with pytest.raises(ValueError, match="landmark_day"):
        LandmarkFeatures(landmark_day=-1).fit(X)
    with pytest.raises(ValueError, match="measurements"):
        LandmarkFeatures().fit(tiny[0])
