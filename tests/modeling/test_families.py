"""Model-family specs: defaults, YAML loading, validation errors, bounded sampling."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from relapse_ml.errors import ConfigError
from relapse_ml.modeling import (
    ModelFamily,
    ParamRange,
    default_model_families,
    load_model_families,
)

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def test_the_shipped_families_are_the_models_folder(tmp_path) -> None:
    # One copy: the package reads models/ itself (a link in a checkout, copies in a wheel).
    assert default_model_families() == load_model_families(MODELS)
    assert len(default_model_families()) == 3


def test_default_families_shape() -> None:
    fams = {f.name: f for f in default_model_families()}
    assert sorted(fams) == ["hist_gradient_boosting", "logistic", "random_forest"]
    assert fams["logistic"].is_linear and not fams["random_forest"].is_linear
    hgb = fams["hist_gradient_boosting"]
    assert hgb.fixed_params["early_stopping"] is False
    assert hgb.fixed_params["categorical_features"] is None
    assert max(hgb.search_space["max_iter"]) <= 200
    assert max(fams["random_forest"].search_space["n_estimators"]) <= 200
    assert fams["logistic"].search_space["C"] == ParamRange(0.003, 1.0, log=True)


def test_make_estimator_sets_seed_and_params() -> None:
    # Families come in file-name order, so look the logistic one up by name.
    logistic = next(f for f in default_model_families() if f.name == "logistic")
    lr = logistic.make_estimator({"C": 0.5, "l1_ratio": 0.25}, 7)
    assert (lr.C, lr.l1_ratio, lr.random_state, lr.solver) == (0.5, 0.25, 7, "saga")


def _write(tmp_path: Path, spec: dict, name: str = "fam.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


GOOD = {
    "family": "lr",
    "estimator": "LogisticRegression",
    "fixed_params": {"solver": "lbfgs"},
    "search_space": {"C": {"low": 0.1, "high": 1.0, "log": True}},
}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"colour": "red"}, "'colour'"),
        ({"estimator": "SVC"}, "'estimator'"),
        ({"fixed_params": {"not_a_param": 1}}, "'fixed_params.not_a_param'"),
        ({"fixed_params": {"random_state": 1}}, "'fixed_params.random_state'"),
        ({"search_space": {"C": {"low": 0.1}}}, "'search_space.C'"),
        ({"search_space": {"C": {"low": 0.0, "high": 1.0, "log": True}}}, "'search_space.C'"),
        ({"search_space": {"C": {"low": 2.0, "high": 1.0}}}, "'search_space.C'"),
        ({"search_space": {"C": {"low": 0.1, "high": 1, "step": 2}}}, "'search_space.C'"),
        ({"search_space": {"C": []}}, "'search_space.C'"),
        ({"search_space": {"C": 1.0}}, "'search_space.C'"),
        ({"search_space": {"solver": ["lbfgs"]}}, "'search_space.solver'"),
        ({"family": None}, "'family'"),
    ],
)
def test_invalid_spec_names_file_and_key(tmp_path: Path, change: dict, key: str) -> None:
    path = _write(tmp_path, GOOD | change)
    with pytest.raises(ConfigError) as err:
        load_model_families(path)
    assert str(path) in str(err.value)
    assert key in str(err.value)


def test_duplicate_family_and_bad_yaml(tmp_path: Path) -> None:
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ConfigError, match=r"b\.yaml: key 'family': 'lr' already defined"):
        load_model_families(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text("family: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yml: not valid YAML"):
        load_model_families([bad])
    with pytest.raises(ConfigError, match="not found"):
        load_model_families(tmp_path / "missing.yaml")


def test_load_directory_and_multi_document(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    other = GOOD | {"family": "lr2"}
    path.write_text(yaml.safe_dump(GOOD) + "---\n" + yaml.safe_dump(other), encoding="utf-8")
    fams = load_model_families(tmp_path)
    assert [f.name for f in fams] == ["lr", "lr2"]
    assert fams[0].source == str(path)


def test_search_respects_bounds_and_is_seeded() -> None:
    for fam in default_model_families():
        draws = fam.sample_candidates(200, random_state=3)
        assert draws == fam.sample_candidates(200, random_state=3)
        assert fam.sample_candidates(20, 3) != fam.sample_candidates(20, 4)
        for params in draws:
            assert set(params) == set(fam.search_space)
            for name, value in params.items():
                space = fam.search_space[name]
                if isinstance(space, ParamRange):
                    assert space.contains(value), (fam.name, name, value)
                else:
                    assert value in space, (fam.name, name, value)


def test_log_range_spreads_over_decades() -> None:
    fam = ModelFamily(
        "lr", "LogisticRegression", search_space={"C": ParamRange(0.001, 1000.0, log=True)}
    )
    draws = [p["C"] for p in fam.sample_candidates(400, random_state=0)]
    below_one = sum(c < 1.0 for c in draws) / len(draws)
    assert 0.4 < below_one < 0.6  # uniform would put ~0.1% below 1


def test_small_grid_returns_whole_grid_without_warning() -> None:
    fam = ModelFamily("rf", "RandomForestClassifier", search_space={"max_depth": [2, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draws = fam.sample_candidates(10, random_state=0)
    assert sorted(d["max_depth"] for d in draws) == [2, 3]
    integer = ParamRange(1, 3, integer=True)
    assert integer.contains(2) and not integer.contains(2.5) and not integer.contains(4)
