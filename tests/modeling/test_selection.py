"""Model selection: determinism, protocol (refit per fold, cross-fitted calibration), choice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline

from relapse_ml.modeling import (
    ContractColumnFeatures,
    ParamRange,
    default_model_families,
    fitted_pipeline,
    make_preprocessor,
    native_output,
    select_model,
)
from relapse_ml.modeling.calibration import apply_calibrator, fit_calibrator
from relapse_ml.modeling.selection import derive_seed

from .synthetic import FEATURE_COLUMNS

FIT_SIZES: list[int] = []


class RecordingFeatures(ContractColumnFeatures):
    """Records how many rows every fit sees (class-level, survives clone)."""

    def fit(self, X, y=None):
        FIT_SIZES.append(len(X))
        return super().fit(X, y)


def run(data, **kwargs):
    X, y, w = data
    options = {
        "features": ContractColumnFeatures(FEATURE_COLUMNS),
        "cv_repeats": 2,
        "cv_folds": 2,
        "n_candidates": 2,
        "seed": 11,
    } | kwargs
    return select_model(X, y, w, default_model_families(), **options)


@pytest.fixture(scope="module")
def result(cohort_400):
    return run(cohort_400)


def test_same_data_and_seed_give_identical_results(cohort_400, result) -> None:
    again = run(cohort_400)
    pd.testing.assert_frame_equal(result.candidates, again.candidates)
    pd.testing.assert_frame_equal(result.fold_scores, again.fold_scores)
    X = cohort_400[0]
    np.testing.assert_array_equal(result.model.predict_proba(X), again.model.predict_proba(X))
    other = run(cohort_400, seed=12)
    assert not other.candidates["params"].equals(result.candidates["params"])


def test_candidates_table_and_choice(result) -> None:
    table = result.candidates
    assert len(table) == 3 * 2 * 2  # families x candidates x calibration methods
    assert (table["n_splits"] == 4).all()
    assert len(result.fold_scores) == 12 * 4
    best = table.loc[table["brier_mean"].idxmin()]
    chosen = table[table["chosen"]]
    assert len(chosen) == 1 and chosen.iloc[0]["brier_mean"] == best["brier_mean"]
    assert result.chosen_family == best["family"]
    assert result.calibration_method == best["calibration"]
    assert set(table.loc[table["family_best"], "family"]) == {
        f.name for f in default_model_families()
    }
    assert result.family_table()["family"].iloc[0] == result.chosen_family
    model = result.model
    assert isinstance(model, CalibratedClassifierCV) and model.ensemble is False
    assert model.method == result.calibration_method
    classifier = fitted_pipeline(model).named_steps["classifier"]
    assert (
        classifier.get_params() | result.best_params[result.chosen_family]
        == classifier.get_params()
    )
    grouped = result.fold_scores.groupby(["family", "candidate", "calibration"])["auroc"]
    means = grouped.mean().reset_index().merge(table, on=["family", "candidate", "calibration"])
    np.testing.assert_allclose(means["auroc"], means["auroc_mean"])


def test_best_params_are_inside_the_search_space(result) -> None:
    for fam in default_model_families():
        for _, row in result.candidates[result.candidates["family"] == fam.name].iterrows():
            for name, value in json.loads(row["params"]).items():
                space = fam.search_space[name]
                assert space.contains(value) if isinstance(space, ParamRange) else value in space


def test_auroc_metric_picks_highest_auroc(cohort_400) -> None:
    res = run(cohort_400, selection_metric="auroc", calibration_methods=("sigmoid",))
    assert set(res.candidates["calibration"]) == {"sigmoid"}
    top = res.candidates.loc[res.candidates["auroc_mean"].idxmax()]
    assert res.chosen_family == top["family"]


def test_whole_pipeline_is_refitted_in_every_fold(cohort_400) -> None:
    FIT_SIZES.clear()
    run(cohort_400, features=RecordingFeatures(FEATURE_COLUMNS))
    # 4 outer training folds of 200; the champion's catalogue (400); its 2
    # calibration folds (200 each); its refit on all rows (400).
    assert FIT_SIZES == [200, 200, 200, 200, 400, 200, 200, 400]


def test_fold_score_recomputed_by_hand(cohort_400, result) -> None:
    """Fold k is scored with a calibrator fitted only on the other folds' OOF outputs."""
    X, y, w = cohort_400
    fam = default_model_families()[0]
    params = fam.sample_candidates(2, derive_seed(11, 1, 0))[0]
    splits = list(
        RepeatedStratifiedKFold(n_splits=2, n_repeats=2, random_state=derive_seed(11, 3)).split(
            np.zeros(len(y)), y
        )
    )[:2]  # repeat 0
    oof = np.empty(len(y))
    for train, test in splits:
        feats = ContractColumnFeatures(FEATURE_COLUMNS).fit(X.iloc[train])
        pipe = Pipeline(
            [
                ("preprocess", make_preprocessor(feats.feature_catalogue_, fam)),
                ("classifier", fam.make_estimator(params, derive_seed(11, 2, 0))),
            ]
        ).fit(feats.transform(X.iloc[train]), y[train], classifier__sample_weight=w[train])
        oof[test] = native_output(pipe, feats.transform(X.iloc[test]))
    train, test = splits[1]
    calibrator = fit_calibrator(oof[train], y[train], w[train], "isotonic")
    risk = apply_calibrator(calibrator, oof[test])
    expected = brier_score_loss(y[test], risk, sample_weight=w[test])
    scores = result.fold_scores
    row = scores[
        (scores["family"] == fam.name)
        & (scores["candidate"] == 0)
        & (scores["calibration"] == "isotonic")
        & (scores["repeat"] == 0)
        & (scores["fold"] == 1)
    ]
    assert row["brier"].item() == pytest.approx(expected, rel=1e-12)


def test_invalid_options(cohort_400) -> None:
    with pytest.raises(ValueError, match="selection_metric"):
        run(cohort_400, selection_metric="accuracy")
    with pytest.raises(ValueError, match="calibration_methods"):
        run(cohort_400, calibration_methods=("beta",))
    X, y, w = cohort_400
    with pytest.raises(ValueError, match="sample_weight"):
        run((X, y, -w))


@pytest.mark.slow
def test_results_do_not_depend_on_n_jobs(cohort_400, result) -> None:
    parallel = run(cohort_400, n_jobs=2)
    pd.testing.assert_frame_equal(result.candidates, parallel.candidates)
