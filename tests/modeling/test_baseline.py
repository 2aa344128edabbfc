"""Clinical-only baseline and the contract-column feature step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.errors import ConfigError
from relapse_ml.modeling import (
    CLINICAL_BASELINE_COLUMNS,
    ContractColumnFeatures,
    clinical_baseline_model,
    contract_feature_catalogue,
    preprocessed_to_feature,
)
from relapse_ml.schema import load_contract


def test_catalogue_comes_from_the_contract() -> None:
    cat = {s.name: s for s in contract_feature_catalogue(CLINICAL_BASELINE_COLUMNS)}
    contract = load_contract().patients
    assert cat["disease"].kind == "categorical"
    assert cat["disease"].categories == contract.column("disease").values
    assert cat["prior_lines"].kind == "numeric" and cat["prior_lines"].unit == "lines"
    assert cat["ldh_u_per_l"].group == "antigen"
    assert cat["ldh_u_per_l"].sources == ("patients.ldh_u_per_l",)
    assert contract_feature_catalogue(("bridging_therapy",))[0].kind == "binary"


def test_catalogue_rejects_leaky_unknown_or_unusable_columns() -> None:
    with pytest.raises(ConfigError, match="landmark day 7"):
        contract_feature_catalogue(("crs_grade",), landmark_day=7)
    assert contract_feature_catalogue(("crs_grade",), landmark_day=14)[0].kind == "numeric"
    with pytest.raises(ConfigError, match="not a patients column"):
        contract_feature_catalogue(("shoe_size",))
    with pytest.raises(ConfigError, match="not usable"):
        contract_feature_catalogue(("infusion_date",))


def test_contract_columns_transform_types(cohort_400) -> None:
    X, _, _ = cohort_400
    step = ContractColumnFeatures(("disease", "ldh_u_per_l", "bridging_therapy"))
    out = step.fit(X).transform(X)
    assert list(out.columns) == ["disease", "ldh_u_per_l", "bridging_therapy"]
    assert out["ldh_u_per_l"].dtype == np.float64
    assert out["disease"].iloc[0] == str(X["disease"].iloc[0])
    assert out.index.equals(X.index)
    assert list(step.get_feature_names_out()) == list(out.columns)
    pandas_out = ContractColumnFeatures(("ldh_u_per_l",)).set_output(transform="pandas")
    assert isinstance(pandas_out.fit_transform(X), pd.DataFrame)
    with pytest.raises(ConfigError, match="lacks baseline column"):
        ContractColumnFeatures(("ldh_u_per_l",)).fit(X.drop(columns="ldh_u_per_l"))


def test_baseline_learns_burden_direction(cohort_2000) -> None:
    (X, y, w), _ = cohort_2000
    model = clinical_baseline_model().fit(X, y, classifier__sample_weight=w)
    assert list(model.named_steps) == ["features", "preprocess", "classifier"]
    names = list(model.named_steps["preprocess"].get_feature_names_out())
    coef = dict(zip(names, model.named_steps["classifier"].coef_[0], strict=True))
    # the simulated risk rises with LDH, blasts and prior lines
    assert coef["numeric__ldh_u_per_l"] > 0.3
    assert coef["numeric__marrow_blasts_pct"] > 0.1
    assert coef["numeric__prior_lines"] > 0.1
    assert set(preprocessed_to_feature(model.named_steps["preprocess"])) == set(
        CLINICAL_BASELINE_COLUMNS
    )
    risk = model.predict_proba(X)[:, 1]
    assert np.all((risk > 0) & (risk < 1))
